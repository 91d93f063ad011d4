/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka info: what interpreter a process runs and where it lives: version
 * and how it was found, build kind, files, _PyRuntime, interpreters,
 * threads, GIL holder, and on 3.14 whether remote debugging is enabled.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../diag.h"
#include "../json_out.h"
#include "../opts.h"
#include "../proc_task.h"
#include "../py_thread.h"
#include "commands.h"

struct info_opts {
	int pid;
	bool json;
	unsigned version[2];
};

static const struct opt_usage info_usage = {
	"info",
	"--pid PID [--json] [--python-version X.Y]",
	"Describe the CPython interpreter running in a process: its exact\n"
	"version and how it was detected (_Py_DebugOffsets, Py_Version or the\n"
	"sys.version text), whether libpython is static or shared, the binary\n"
	"and library paths, the address of _PyRuntime, the interpreters and\n"
	"threads, the thread holding the GIL, whether our layout table agrees\n"
	"with the target's _Py_DebugOffsets (3.13+), and on 3.14 whether remote\n"
	"debugging (PEP 768) is enabled.  Reads memory only.",
	"examples:\n"
	"  peeka info --pid 1234\n"
	"  peeka info --pid 1234 --json\n"
	"\n"
	"exit status: 0 on success, 1 when the process cannot be read, 2 on a\n"
	"usage error.",
};

struct info_facts {
	char version[32];
	char cmdline[512];
	size_t ninterps, nthreads;
	const struct py_thread *holder;
	bool gil_enabled;
	size_t offset_mismatches;
};

static void gather(struct py_proc *pp, const struct py_snapshot *s,
		   struct info_facts *f)
{
	memset(f, 0, sizeof(*f));
	py_proc__version_text(pp, f->version, sizeof(f->version));
	proc_task__cmdline(pp->pid, f->cmdline, sizeof(f->cmdline));
	f->ninterps = s->ninterps;
	f->nthreads = s->n;
	f->gil_enabled = s->gil_enabled;
	for (size_t i = 0; i < s->n; i++)
		if (s->threads[i].gil)
			f->holder = &s->threads[i];
	for (size_t i = 0; i < pp->nmismatch; i++)
		f->offset_mismatches +=
			layout_field_kind(pp->mismatch[i].field) != LK_SIZE;
}

static const char *remote_debug_text(const struct py_proc *pp)
{
	if (pp->layout.minor < 14)
		return "not available before 3.14";
	if (pp->remote_debug < 0)
		return "unknown";
	return pp->remote_debug ? "enabled"
				: "disabled (PYTHON_DISABLE_REMOTE_DEBUG or -X disable-remote-debug)";
}

static void print_text(const struct py_proc *pp, const struct info_facts *f)
{
	const struct py_runtime *rt = &pp->rt;

	printf("pid:               %d\n", pp->pid);
	printf("command:           %s\n", f->cmdline);
	printf("python:            %s%s (from %s)\n", f->version,
	       rt->version.free_threaded ? " free-threaded" : "",
	       rt->version.source ? rt->version.source : "?");
	printf("build:             %s libpython, %s\n",
	       rt->shared ? "shared" : "static",
	       pp->has_debug_offsets ? "_Py_DebugOffsets present"
				     : "no _Py_DebugOffsets");
	printf("executable:        %s\n", rt->shared ? rt->exe_path : rt->map_path);
	printf("libpython:         %s\n", rt->shared ? rt->map_path : "(linked into the executable)");
	printf("process exe:       %s\n", rt->exe_path);
	printf("_PyRuntime:        0x%" PRIx64 " (%s, load bias 0x%" PRIx64 ")\n",
	       rt->runtime_addr, rt->has_section ? ".PyRuntime section" : "symbol",
	       rt->bias);
	printf("layout:            %u.%u table (measured on %s)%s",
	       pp->layout.major, pp->layout.minor, pp->layout.source,
	       pp->layout.tested ? "" : ", untested");
	if (pp->has_debug_offsets)
		printf(", %zu offset mismatch(es) with _Py_DebugOffsets",
		       f->offset_mismatches);
	printf("\ninterpreters:      %zu\n", f->ninterps);
	printf("threads:           %zu\n", f->nthreads);
	if (!f->gil_enabled)
		printf("GIL:               disabled (free-threaded)\n");
	else if (f->holder)
		printf("GIL holder:        thread %d (0x%" PRIx64 ") \"%s\"\n",
		       f->holder->native_id, f->holder->thread_id,
		       f->holder->has_name ? f->holder->name : "<unknown>");
	else
		printf("GIL holder:        none (released)\n");
	printf("remote debugging:  %s\n", remote_debug_text(pp));
}

static void print_json(const struct py_proc *pp, const struct info_facts *f)
{
	const struct py_runtime *rt = &pp->rt;
	struct json_out j;

	json_out__init(&j, stdout);
	json_out__begin_object(&j);
	json_out__key(&j, "pid");
	json_out__int(&j, pp->pid);
	json_out__key(&j, "command");
	json_out__string(&j, f->cmdline);
	json_out__key(&j, "version");
	json_out__string(&j, f->version);
	json_out__key(&j, "version_source");
	json_out__string(&j, rt->version.source ? rt->version.source : "");
	json_out__key(&j, "free_threaded");
	json_out__bool(&j, rt->version.free_threaded);
	json_out__key(&j, "build");
	json_out__string(&j, rt->shared ? "shared" : "static");
	json_out__key(&j, "debug_offsets");
	json_out__bool(&j, pp->has_debug_offsets);
	json_out__key(&j, "offset_mismatches");
	json_out__uint(&j, f->offset_mismatches);
	json_out__key(&j, "executable");
	json_out__string(&j, rt->shared ? rt->exe_path : rt->map_path);
	json_out__key(&j, "libpython");
	if (rt->shared)
		json_out__string(&j, rt->map_path);
	else
		json_out__null(&j);
	json_out__key(&j, "runtime_address");
	json_out__uint(&j, rt->runtime_addr);
	json_out__key(&j, "interpreters");
	json_out__uint(&j, f->ninterps);
	json_out__key(&j, "threads");
	json_out__uint(&j, f->nthreads);
	json_out__key(&j, "gil_holder");
	if (f->holder)
		json_out__int(&j, f->holder->native_id);
	else
		json_out__null(&j);
	json_out__key(&j, "remote_debug");
	if (pp->layout.minor >= 14 && pp->remote_debug >= 0)
		json_out__bool(&j, pp->remote_debug);
	else
		json_out__null(&j);
	json_out__end_object(&j);
	fputc('\n', stdout);
}

int cmd_info(int argc, char **argv)
{
	struct info_opts o = { 0 };
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process to describe (required)", &o.pid },
		{ "json", 0, OPT_FLAG, NULL, "print one JSON object instead of text", &o.json },
		{ "python-version", 0, OPT_PYVERSION, "X.Y",
		  "use the layout of this CPython version instead of detecting it", o.version },
		{ 0 },
	};
	struct info_facts facts;
	struct py_snapshot s;
	struct py_proc pp;
	int first, status, ret;
	enum opts_result r = opts_parse(&info_usage, specs, argc, argv, &first);

	if (r != OPTS_OK)
		return r == OPTS_HELP ? CMD_OK : CMD_USAGE;
	if (first < argc)
		return opts_usage_error(&info_usage, "unexpected argument '%s'",
					argv[first]), CMD_USAGE;
	if (!o.pid)
		return opts_usage_error(&info_usage, "missing --pid"), CMD_USAGE;
	status = cmd_open_target(&pp, o.pid, o.version);
	if (status)
		return status;
	ret = py_snapshot__take(&pp, &s, PY_SNAP_NAMES);
	if (ret) {
		status = cmd_report_read_error(o.pid, ret);
		if (pp.version_forced)
			hint("the layout of --python-version %u.%u may not be this process's",
			     o.version[0], o.version[1]);
		py_proc__close(&pp);
		return status;
	}
	gather(&pp, &s, &facts);
	if (o.json)
		print_json(&pp, &facts);
	else
		print_text(&pp, &facts);
	py_snapshot__release(&s);
	py_proc__close(&pp);
	return CMD_OK;
}
