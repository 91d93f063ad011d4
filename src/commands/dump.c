/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka dump: every thread's Python stack, read from outside the process
 * without stopping it, as text or JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../diag.h"
#include "../errors.h"
#include "../json_out.h"
#include "../opts.h"
#include "../proc_task.h"
#include "../py_locals.h"
#include "../py_thread.h"
#include "../text_out.h"
#include "commands.h"

#define DUMP_RETRIES 5

struct dump_opts {
	int pid;
	bool json;
	bool locals;
	unsigned version[2];
};

static const struct opt_usage dump_usage = {
	"dump",
	"--pid PID [--json] [--locals] [--python-version X.Y]",
	"Print the Python stack of every thread of a running CPython process,\n"
	"innermost frame first, the way the interpreter itself would report it\n"
	"(sys._current_frames()).  peeka reads the target's memory with\n"
	"process_vm_readv: it never stops the process and never writes to it.\n"
	"\n"
	"Each thread is shown as\n"
	"  Thread <native id> (<thread id hex>) \"<name>\" [active|idle][, gil]\n"
	"followed by its frames as \"    <function> (<file>:<line>)\".  A thread is\n"
	"active when its OS state is running or it holds the GIL.  If a stack\n"
	"changes while it is being read, the read is retried; a thread that\n"
	"stays inconsistent is shown with what could be read and a note.",
	"examples:\n"
	"  peeka dump --pid 1234\n"
	"  peeka dump --pid 1234 --json | jq '.threads[].name'\n"
	"  peeka dump --pid 1234 --locals\n"
	"\n"
	"exit status: 0 on success, 1 when the process cannot be read, 2 on a\n"
	"usage error.",
};

static void print_locals_text(struct py_proc *pp, const struct py_frame *f)
{
	struct py_local locals[PY_LOCALS_MAX];
	size_t n = 0;

	py_locals__read(pp, f, locals, PY_LOCALS_MAX, &n);
	for (size_t i = 0; i < n; i++) {
		printf("        %s ", locals[i].is_arg ? "arg" : "local");
		text_out__put(stdout, locals[i].name);
		printf(" = ");
		text_out__put(stdout, locals[i].repr);
		printf("\n");
	}
	if (n == PY_LOCALS_MAX)
		printf("        (only the first %d locals are shown)\n",
		       PY_LOCALS_MAX);
}

static void print_text(struct py_proc *pp, const struct py_snapshot *s,
		       const struct dump_opts *o)
{
	char vs[32], cmdline[512] = "";

	py_proc__version_text(pp, vs, sizeof(vs));
	proc_task__cmdline(pp->pid, cmdline, sizeof(cmdline));
	printf("Process %d: ", pp->pid);
	text_out__put(stdout, cmdline);
	printf("\nPython v%s (", vs);
	text_out__put(stdout, pp->rt.map_path);
	printf(")\n\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct py_thread *t = &s->threads[i];

		if (t->native_id)
			printf("Thread %d", t->native_id);
		else
			printf("Thread ?");
		printf(" (0x%" PRIx64 ") \"", t->thread_id);
		text_out__put(stdout, t->has_name ? t->name : "<unknown>");
		printf("\" %s%s\n", t->active ? "active" : "idle",
		       t->gil ? ", gil" : "");
		for (size_t k = 0; k < t->nframes; k++) {
			const struct py_frame *f = &t->frames[k];

			printf("    ");
			text_out__put(stdout, f->code->qualname);
			printf(" (");
			text_out__put(stdout, f->code->filename);
			printf(":%d)\n", f->line);
			if (o->locals)
				print_locals_text(pp, f);
		}
		if (t->err)
			printf("    <%s>\n", peeka_strerror(t->err));
		if (i + 1 < s->n)
			printf("\n");
	}
}

static void json_locals(struct json_out *j, struct py_proc *pp,
			const struct py_frame *f)
{
	struct py_local locals[PY_LOCALS_MAX];
	size_t n = 0;

	py_locals__read(pp, f, locals, PY_LOCALS_MAX, &n);
	json_out__key(j, "locals");
	json_out__begin_array(j);
	for (size_t i = 0; i < n; i++) {
		json_out__begin_object(j);
		json_out__key(j, "name");
		json_out__string(j, locals[i].name);
		json_out__key(j, "repr");
		json_out__string(j, locals[i].repr);
		json_out__key(j, "arg");
		json_out__bool(j, locals[i].is_arg);
		json_out__end_object(j);
	}
	json_out__end_array(j);
}

static void json_thread(struct json_out *j, struct py_proc *pp,
			const struct py_thread *t, const struct dump_opts *o)
{
	json_out__begin_object(j);
	json_out__key(j, "thread_id");
	json_out__uint(j, t->thread_id);
	json_out__key(j, "native_id");
	if (t->native_id)
		json_out__int(j, t->native_id);
	else
		json_out__null(j);
	json_out__key(j, "name");
	if (t->has_name)
		json_out__string(j, t->name);
	else
		json_out__null(j);
	json_out__key(j, "active");
	json_out__bool(j, t->active);
	json_out__key(j, "gil");
	json_out__bool(j, t->gil);
	if (t->err) {
		json_out__key(j, "error");
		json_out__string(j, peeka_strerror(t->err));
	}
	json_out__key(j, "frames");
	json_out__begin_array(j);
	for (size_t k = 0; k < t->nframes; k++) {
		const struct py_frame *f = &t->frames[k];

		json_out__begin_object(j);
		json_out__key(j, "function");
		json_out__string(j, f->code->qualname);
		json_out__key(j, "file");
		json_out__string(j, f->code->filename);
		json_out__key(j, "line");
		if (f->line >= 0)
			json_out__int(j, f->line);
		else
			json_out__null(j);
		if (o->locals)
			json_locals(j, pp, f);
		json_out__end_object(j);
	}
	json_out__end_array(j);
	json_out__end_object(j);
}

static void print_json(struct py_proc *pp, const struct py_snapshot *s,
		       const struct dump_opts *o)
{
	struct json_out j;
	char vs[32];

	py_proc__version_text(pp, vs, sizeof(vs));
	json_out__init(&j, stdout);
	json_out__begin_object(&j);
	json_out__key(&j, "pid");
	json_out__int(&j, pp->pid);
	json_out__key(&j, "python");
	json_out__begin_object(&j);
	json_out__key(&j, "version");
	json_out__string(&j, vs);
	json_out__key(&j, "executable");
	json_out__string(&j, pp->rt.shared ? pp->rt.exe_path : pp->rt.map_path);
	json_out__key(&j, "libpython");
	if (pp->rt.shared)
		json_out__string(&j, pp->rt.map_path);
	else
		json_out__null(&j);
	json_out__end_object(&j);
	json_out__key(&j, "threads");
	json_out__begin_array(&j);
	for (size_t i = 0; i < s->n; i++)
		json_thread(&j, pp, &s->threads[i], o);
	json_out__end_array(&j);
	json_out__end_object(&j);
	fputc('\n', stdout);
}

static const struct dump_opts *parse(int argc, char **argv,
				     struct dump_opts *o, int *status)
{
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process to read (required)", &o->pid },
		{ "json", 0, OPT_FLAG, NULL, "print one JSON object instead of text", &o->json },
		{ "locals", 'l', OPT_FLAG, NULL, "show each frame's arguments and local variables", &o->locals },
		{ "python-version", 0, OPT_PYVERSION, "X.Y",
		  "use the layout of this CPython version instead of detecting it", o->version },
		{ 0 },
	};
	int first;
	enum opts_result r = opts_parse(&dump_usage, specs, argc, argv, &first);

	*status = r == OPTS_HELP ? CMD_OK : CMD_USAGE;
	if (r != OPTS_OK)
		return NULL;
	if (first < argc) {
		opts_usage_error(&dump_usage, "unexpected argument '%s'", argv[first]);
		return NULL;
	}
	if (!o->pid) {
		opts_usage_error(&dump_usage, "missing --pid");
		return NULL;
	}
	return o;
}

int cmd_dump(int argc, char **argv)
{
	struct dump_opts o = { 0 };
	struct py_proc pp;
	struct py_snapshot s;
	int status, ret;

	if (!parse(argc, argv, &o, &status))
		return status;
	status = cmd_open_target(&pp, o.pid, o.version);
	if (status)
		return status;
	ret = py_snapshot__take_settled(&pp, &s, PY_SNAP_FRAMES | PY_SNAP_NAMES,
					DUMP_RETRIES);
	if (ret) {
		status = cmd_report_read_error(o.pid, ret);
		if (pp.version_forced)
			hint("the layout of --python-version %u.%u may not be this process's",
			     o.version[0], o.version[1]);
		py_proc__close(&pp);
		return status;
	}
	if (o.json)
		print_json(&pp, &s, &o);
	else
		print_text(&pp, &s, &o);
	py_snapshot__release(&s);
	py_proc__close(&pp);
	return CMD_OK;
}
