/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka dump: every thread's Python stack, read from outside the process
 * without stopping it, as text or JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../diag.h"
#include "../errors.h"
#include "../json_out.h"
#include "../log.h"
#include "../native_stack.h"
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
	bool native, native_all;
	unsigned version[2];
};

/* --native: what is kept between threads. */
struct dump_native {
	bool all;
	struct native_unwinder *u;
	struct native_sym *sym;
	uint64_t ips[NATIVE_MAX_DEPTH], sps[NATIVE_MAX_DEPTH];
	struct py_frame *py;
	struct native_entry *ent;
	size_t cap;
	uint64_t threads, merge_failures, not_permitted;
};

/* One thread's frames to show: Python only, or merged. */
struct dump_frames {
	const struct native_entry *ent;
	size_t n;
	int native_err;          /* why there are no native frames, or 0 */
};

static const struct opt_usage dump_usage = {
	"dump",
	"--pid PID [--json] [--locals] [--native [--native-all]]\n"
	"       [--python-version X.Y]",
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
	"stays inconsistent is shown with what could be read and a note.\n"
	"\n"
	"--native adds the native (C) frames.  Each thread in turn is stopped\n"
	"for an instant (PTRACE_SEIZE and PTRACE_INTERRUPT on that one thread\n"
	"only), unwound with libunwind, its Python frames are read, and it is\n"
	"let go.  Native frames are shown as\n"
	"  \"    <function>+0x<offset> [<module>]\"\n"
	"with \": <file>:<line>\" inside the brackets where the module has DWARF.\n"
	"Each native frame of the evaluator (_PyEval_EvalFrameDefault) is\n"
	"replaced by the Python frames it runs; other frames of the interpreter\n"
	"itself are left out unless --native-all is given.  When the two\n"
	"stacks cannot be matched, the Python frames are shown alone with a\n"
	"note.",
	"examples:\n"
	"  peeka dump --pid 1234\n"
	"  peeka dump --pid 1234 --json | jq '.threads[].name'\n"
	"  peeka dump --pid 1234 --locals\n"
	"  peeka dump --pid 1234 --native\n"
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

/* The frames of @t to show, captured again with native ones for --native. */
static struct dump_frames thread_frames(struct py_proc *pp,
					const struct py_thread *t,
					struct dump_native *dn,
					struct native_entry *scratch)
{
	struct dump_frames df = { scratch, 0, 0 };
	size_t nips = 0, npy = 0;
	int ret, py_err = 0;

	if (!dn) {
		for (size_t k = 0; k < t->nframes; k++)
			scratch[k] = (struct native_entry){ &t->frames[k], NULL, 0 };
		df.n = t->nframes;
		return df;
	}
	dn->threads++;
	ret = native_stack__capture(pp, dn->u, t->native_id, t->tstate, dn->ips,
				    dn->sps, NATIVE_MAX_DEPTH, &nips, NULL, dn->py,
				    PY_FRAME_MAX_DEPTH, &npy, &py_err);
	if (ret || py_err) {
		/* No native stack, or the Python frames read in the stop did
		 * not come out whole: the snapshot's Python frames. */
		if (ret == -EPERM || ret == -EACCES)
			dn->not_permitted++;
		df = thread_frames(pp, t, NULL, scratch);
		df.native_err = ret ? ret : py_err;
		return df;
	}
	ret = native_stack__merge(dn->sym, dn->ips, dn->sps, nips, dn->py, npy,
				  dn->all, dn->ent, dn->cap, &df.n);
	df.ent = dn->ent;
	if (ret) {
		dn->merge_failures++;
		df.native_err = ret;
	}
	return df;
}

static void put_native_text(const struct native_entry *e)
{
	const struct native_sym_info *si = e->sym;

	printf("    ");
	if (si->function) {
		text_out__put(stdout, si->function);
		printf("+0x%llx", (unsigned long long)si->offset);
	} else {
		printf("0x%llx", (unsigned long long)e->ip);
	}
	printf(" [");
	if (si->module) {
		text_out__put(stdout, si->module);
		if (!si->function)
			printf("+0x%llx", (unsigned long long)si->module_offset);
	} else {
		printf("?");
	}
	if (si->file) {
		printf(": ");
		text_out__put(stdout, si->file);
		printf(":%d", si->line);
	}
	printf("]\n");
}

static void print_text(struct py_proc *pp, const struct py_snapshot *s,
		       const struct dump_opts *o, struct dump_native *dn,
		       struct native_entry *scratch)
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
		struct dump_frames df = thread_frames(pp, t, dn, scratch);

		if (t->native_id)
			printf("Thread %d", t->native_id);
		else
			printf("Thread ?");
		printf(" (0x%" PRIx64 ") \"", t->thread_id);
		text_out__put(stdout, t->has_name ? t->name : "<unknown>");
		printf("\" %s%s\n", t->active ? "active" : "idle",
		       t->gil ? ", gil" : "");
		for (size_t k = 0; k < df.n; k++) {
			const struct py_frame *f = df.ent[k].py;

			if (!f) {
				put_native_text(&df.ent[k]);
				continue;
			}
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
		if (df.native_err)
			printf("    <native frames left out: %s>\n",
			       peeka_strerror(df.native_err));
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

static void json_native(struct json_out *j, const struct native_entry *e)
{
	const struct native_sym_info *si = e->sym;

	json_out__key(j, "native");
	json_out__bool(j, true);
	json_out__key(j, "function");
	if (si->function)
		json_out__string(j, si->function);
	else
		json_out__null(j);
	json_out__key(j, "offset");
	json_out__uint(j, si->offset);
	json_out__key(j, "address");
	json_out__uint(j, e->ip);
	json_out__key(j, "module");
	if (si->module)
		json_out__string(j, si->module);
	else
		json_out__null(j);
	json_out__key(j, "file");
	if (si->file)
		json_out__string(j, si->file);
	else
		json_out__null(j);
	json_out__key(j, "line");
	if (si->line)
		json_out__int(j, si->line);
	else
		json_out__null(j);
}

static void json_thread(struct json_out *j, struct py_proc *pp,
			const struct py_thread *t, const struct dump_opts *o,
			struct dump_native *dn, struct native_entry *scratch)
{
	struct dump_frames df = thread_frames(pp, t, dn, scratch);

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
	if (dn) {
		json_out__key(j, "native_error");
		if (df.native_err)
			json_out__string(j, peeka_strerror(df.native_err));
		else
			json_out__null(j);
	}
	json_out__key(j, "frames");
	json_out__begin_array(j);
	for (size_t k = 0; k < df.n; k++) {
		const struct py_frame *f = df.ent[k].py;

		json_out__begin_object(j);
		if (!f) {
			json_native(j, &df.ent[k]);
			json_out__end_object(j);
			continue;
		}
		if (dn) {
			json_out__key(j, "native");
			json_out__bool(j, false);
		}
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
		       const struct dump_opts *o, struct dump_native *dn,
		       struct native_entry *scratch)
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
		json_thread(&j, pp, &s->threads[i], o, dn, scratch);
	json_out__end_array(&j);
	json_out__end_object(&j);
	fputc('\n', stdout);
}

static void native_release(struct dump_native *dn)
{
	native_unwind__free(dn->u);
	native_sym__free(dn->sym);
	free(dn->py);
	free(dn->ent);
}

static int native_init(struct dump_native *dn, struct py_proc *pp, bool all)
{
	memset(dn, 0, sizeof(*dn));
	dn->all = all;
	dn->cap = NATIVE_MAX_DEPTH + PY_FRAME_MAX_DEPTH;
	dn->u = native_unwind__new(pp->pid);
	dn->sym = native_sym__new(pp->pid, pp->rt.map_path, pp->rt.exe_path);
	dn->py = calloc(PY_FRAME_MAX_DEPTH, sizeof(*dn->py));
	dn->ent = calloc(dn->cap, sizeof(*dn->ent));
	if (!dn->u || !dn->sym || !dn->py || !dn->ent) {
		native_release(dn);
		return -ENOMEM;
	}
	return 0;
}

static const struct dump_opts *parse(int argc, char **argv,
				     struct dump_opts *o, int *status)
{
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process to read (required)", &o->pid },
		{ "json", 0, OPT_FLAG, NULL, "print one JSON object instead of text", &o->json },
		{ "locals", 'l', OPT_FLAG, NULL, "show each frame's arguments and local variables", &o->locals },
		{ "native", 'n', OPT_FLAG, NULL, "also show native (C) frames; stops each thread for an instant", &o->native },
		{ "native-all", 0, OPT_FLAG, NULL, "with --native: keep the interpreter's own frames too", &o->native_all },
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
	if (o->native_all)
		o->native = true;
	return o;
}

int cmd_dump(int argc, char **argv)
{
	struct native_entry *scratch = NULL;
	struct dump_native dn;
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
	status = CMD_OK;
	scratch = calloc(PY_FRAME_MAX_DEPTH, sizeof(*scratch));
	if (!scratch || (o.native && native_init(&dn, &pp, o.native_all))) {
		error("out of memory");
		status = CMD_FAILED;
		goto out;
	}
	if (o.json)
		print_json(&pp, &s, &o, o.native ? &dn : NULL, scratch);
	else
		print_text(&pp, &s, &o, o.native ? &dn : NULL, scratch);
	if (o.native && dn.not_permitted) {
		warning("%llu threads could not be stopped for their native stacks: ptrace was refused",
			(unsigned long long)dn.not_permitted);
		hint("--native stops each thread with ptrace: it needs CAP_SYS_PTRACE, or kernel.yama.ptrace_scope 0 for a process that is not peeka's child, and no other tracer (a debugger) attached");
	}
	if (o.native) {
		log_info("native: %llu threads, %llu merge failures",
			 (unsigned long long)dn.threads,
			 (unsigned long long)dn.merge_failures);
		native_release(&dn);
	}
out:
	free(scratch);
	py_snapshot__release(&s);
	py_proc__close(&pp);
	return status;
}
