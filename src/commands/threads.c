/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka threads: one row per thread of a CPython process, joining what
 * the interpreter knows (thread ids, names, GIL, Python state, current
 * function) with what the kernel knows (OS state, CPU use, the system
 * call and wait channel of a blocked thread).  Read-only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../diag.h"
#include "../errors.h"
#include "../json_out.h"
#include "../opts.h"
#include "../proc_task.h"
#include "../py_thread.h"
#include "../rec_clock.h"
#include "../sys_names.h"
#include "../text_out.h"
#include "commands.h"
#include "live.h"
#include "record_opts.h"

#define THREADS_MAX 4096
#define CPU_WINDOW 0.25        /* seconds, without --watch */
#define SNAP_RETRIES 5

struct threads_opts {
	int pid;
	double watch;          /* 0: once */
	bool json;
	unsigned version[2];
};

static const struct opt_usage threads_usage = {
	"threads",
	"--pid PID [--watch SECONDS] [--json]",
	"List every thread of a running CPython process with what both the\n"
	"interpreter and the kernel know about it.  Nothing is injected and no\n"
	"thread is stopped.  Columns:\n"
	"\n"
	"  NATIVE    the OS thread id (as peeka's PID namespace sees it)\n"
	"  THREAD    the Python thread id (threading.get_ident()), '-' for an OS\n"
	"            thread without a Python thread state (e.g. a C library's)\n"
	"  NAME      the threading name, or the OS name (comm) for OS threads\n"
	"  S         the OS state: R running, S sleeping, D disk sleep, T stopped…\n"
	"  CPU%      CPU use over the last window (0.25 s, or the --watch\n"
	"            interval), from /proc/PID/task/TID/stat; 100 = one core\n"
	"  GIL       '*' for the thread holding the GIL\n"
	"  PYSTATE   the thread state's own state on 3.13+: attached (running\n"
	"            Python, holds the GIL on a GIL build), detached, suspended\n"
	"            or shutting-down; '-' before 3.13, which has no such field\n"
	"  SYSCALL   for a thread blocked in the kernel: the system call it is\n"
	"            in (from /proc/PID/task/TID/syscall); '-' when blocked\n"
	"            outside one, empty while running\n"
	"  WCHAN     the kernel function it sleeps in\n"
	"  FUNCTION  the innermost Python frame: function (file:line)\n"
	"\n"
	"With --watch the table is shown again every SECONDS until Ctrl-C or\n"
	"until the process exits; with --json each refresh is one JSON object\n"
	"on its own line.",
	"examples:\n"
	"  peeka threads --pid 1234\n"
	"  peeka threads --pid 1234 --watch 2\n"
	"  peeka threads --pid 1234 --json | jq '.threads[] | select(.syscall == \"futex\")'\n"
	"\n"
	"exit status: 0 on success, 1 when the process cannot be read, 2 on a\n"
	"usage error.",
};

struct os_thread {
	int tid;
	unsigned long long ticks0, ticks1;
	bool have0, have1;
	char state;
	char comm[64];
	struct proc_syscall sc;
	char wchan[64];
	bool python;           /* matched a Python thread */
};

struct view {
	struct os_thread *os;
	size_t nos;
	double window;
	long hz;
	uint64_t t_end;        /* when the last window's ticks were read */
};

static const char *pystate_name(int64_t v)
{
	switch (v) {
	case 0:
		return "detached";
	case 1:
		return "attached";
	case 2:
		return "suspended";
	case 3:
		return "shutting-down";
	default:
		return "?";
	}
}

static bool has_pystate(const struct py_proc *pp)
{
	return layout_has(&pp->layout, LF_tstate_state);
}

static const char *pystate(struct py_proc *pp, const struct py_thread *t)
{
	uint64_t v;

	if (!has_pystate(pp))
		return "-";
	if (py_read_field(pp, t->tstate, LF_tstate_state, &v))
		return "?";
	return pystate_name((int64_t)(int32_t)v);
}

static struct os_thread *os_find(struct view *v, int tid)
{
	for (size_t i = 0; i < v->nos; i++)
		if (v->os[i].tid == tid)
			return &v->os[i];
	return NULL;
}

/* The thread list and every thread's CPU ticks, as a window's start. */
static int os_begin(struct view *v, int pid)
{
	int *tids = calloc(THREADS_MAX, sizeof(*tids));
	int n;

	if (!tids)
		return -ENOMEM;
	n = proc_task__list(pid, tids, THREADS_MAX);
	if (n < 0) {
		free(tids);
		return n;
	}
	for (int i = 0; i < n; i++) {
		struct os_thread *o = os_find(v, tids[i]);

		if (!o) {
			if (v->nos >= THREADS_MAX)
				break;
			o = &v->os[v->nos++];
			memset(o, 0, sizeof(*o));
			o->tid = tids[i];
		} else if (o->have1) {
			o->ticks0 = o->ticks1;
			o->have0 = true;
			continue;
		}
		o->have0 = !proc_task__cpu(pid, o->tid, &o->ticks0);
	}
	free(tids);
	return 0;
}

/* The window's end: CPU ticks, state, system call and wait channel. */
static void os_end(struct view *v, int pid)
{
	for (size_t i = 0; i < v->nos; i++) {
		struct os_thread *o = &v->os[i];

		o->have1 = !proc_task__cpu(pid, o->tid, &o->ticks1);
		o->state = proc_task__state(pid, o->tid);
		proc_task__syscall(pid, o->tid, &o->sc);
		if (proc_task__wchan(pid, o->tid, o->wchan, sizeof(o->wchan)))
			o->wchan[0] = '\0';
		if (proc_task__comm(pid, o->tid, o->comm, sizeof(o->comm)))
			snprintf(o->comm, sizeof(o->comm), "?");
		o->python = false;
	}
}

/* Forget threads that are gone (kept compact for the next window). */
static void os_prune(struct view *v)
{
	size_t k = 0;

	for (size_t i = 0; i < v->nos; i++)
		if (v->os[i].have1)
			v->os[k++] = v->os[i];
	v->nos = k;
}

static double cpu_pct(const struct view *v, const struct os_thread *o)
{
	if (!o || !o->have0 || !o->have1 || v->window <= 0 || v->hz <= 0 ||
	    o->ticks1 < o->ticks0)
		return -1;
	return 100.0 * (double)(o->ticks1 - o->ticks0) / (double)v->hz /
	       v->window;
}

static void syscall_text(const struct os_thread *o, char *buf, size_t len)
{
	const char *name;

	buf[0] = '\0';
	if (!o || o->state == 'R')
		return;
	switch (o->sc.state) {
	case PROC_SC_IN:
		name = sys_names__get(o->sc.nr);
		if (name)
			snprintf(buf, len, "%s", name);
		else
			snprintf(buf, len, "syscall_%ld", o->sc.nr);
		break;
	case PROC_SC_BLOCKED:
		snprintf(buf, len, "-");
		break;
	default:
		break;
	}
}

static void put_padded(const char *s, int width)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", s);
	if ((int)strlen(buf) > width && width > 1) {
		buf[width - 1] = '~';
		buf[width] = '\0';
	}
	text_out__put(stdout, buf);
	for (int i = (int)strlen(buf); i < width; i++)
		putchar(' ');
}

static void print_row(struct py_proc *pp, const struct view *v,
		      const struct py_thread *t, const struct os_thread *o)
{
	char idbuf[32], sc[48];
	double cpu = cpu_pct(v, o);
	int tid = t ? t->native_id : o->tid;

	if (tid)
		printf("%7d  ", tid);
	else
		printf("%7s  ", "?");
	if (t)
		snprintf(idbuf, sizeof(idbuf), "%#" PRIx64, t->thread_id);
	else
		snprintf(idbuf, sizeof(idbuf), "-");
	printf("%-14s  ", idbuf);
	put_padded(t ? (t->has_name ? t->name : "?") : o->comm, 16);
	printf("  %c ", o ? o->state : (t ? t->os_state : '?'));
	if (cpu >= 0)
		printf("%5.1f  ", cpu);
	else
		printf("%5s  ", "?");
	printf("%-3s  ", t && t->gil ? "*" : "");
	put_padded(t ? pystate(pp, t) : "", 9);
	syscall_text(o, sc, sizeof(sc));
	printf("  ");
	put_padded(sc, 16);
	printf("  ");
	put_padded(o ? o->wchan : "", 22);
	printf("  ");
	if (t && t->nframes) {
		text_out__put(stdout, t->frames[0].code->qualname);
		printf(" (");
		text_out__put(stdout, t->frames[0].code->filename);
		printf(":%d)", t->frames[0].line);
	} else if (t) {
		printf("%s", t->err ? "<unreadable>" : "<no Python frame>");
	}
	printf("\n");
}

static void print_text(struct py_proc *pp, const struct view *v,
		       const struct py_snapshot *s)
{
	char vs[32], cmdline[256] = "";
	size_t nos_only = 0;

	py_proc__version_text(pp, vs, sizeof(vs));
	proc_task__cmdline(pp->pid, cmdline, sizeof(cmdline));
	for (size_t i = 0; i < v->nos; i++)
		nos_only += !v->os[i].python;
	printf("pid %d (", pp->pid);
	text_out__put(stdout, cmdline);
	printf("), CPython %s: %zu Python threads, %zu other OS threads, CPU over %.2f s%s\n",
	       vs, s->n, nos_only, v->window,
	       s->gil_enabled ? "" : ", GIL disabled");
	printf("%7s  %-14s  %-16s  S  %5s  GIL  %-9s  %-16s  %-22s  %s\n",
	       "NATIVE", "THREAD", "NAME", "CPU%", "PYSTATE", "SYSCALL",
	       "WCHAN", "FUNCTION");
	for (size_t i = 0; i < s->n; i++)
		print_row(pp, v, &s->threads[i],
			  os_find((struct view *)v, s->threads[i].native_id));
	for (size_t i = 0; i < v->nos; i++)
		if (!v->os[i].python)
			print_row(pp, v, NULL, &v->os[i]);
}

static void json_row(struct json_out *j, struct py_proc *pp,
		     const struct view *v, const struct py_thread *t,
		     const struct os_thread *o)
{
	char sc[48], st[2] = { 0 };
	double cpu = cpu_pct(v, o);

	json_out__begin_object(j);
	json_out__key(j, "native_id");
	if (t ? t->native_id : o->tid)
		json_out__int(j, t ? t->native_id : o->tid);
	else
		json_out__null(j);
	json_out__key(j, "python");
	json_out__bool(j, t != NULL);
	json_out__key(j, "thread_id");
	if (t)
		json_out__uint(j, t->thread_id);
	else
		json_out__null(j);
	json_out__key(j, "name");
	if (t && t->has_name)
		json_out__string(j, t->name);
	else if (!t)
		json_out__string(j, o->comm);
	else
		json_out__null(j);
	json_out__key(j, "os_state");
	st[0] = o ? o->state : (t ? t->os_state : '?');
	json_out__string(j, st);
	json_out__key(j, "cpu_percent");
	if (cpu >= 0)
		json_out__double(j, cpu);
	else
		json_out__null(j);
	json_out__key(j, "gil");
	json_out__bool(j, t && t->gil);
	json_out__key(j, "python_state");
	if (t && has_pystate(pp))
		json_out__string(j, pystate(pp, t));
	else
		json_out__null(j);
	syscall_text(o, sc, sizeof(sc));
	json_out__key(j, "syscall");
	if (*sc && strcmp(sc, "-"))
		json_out__string(j, sc);
	else
		json_out__null(j);
	json_out__key(j, "wchan");
	if (o && *o->wchan)
		json_out__string(j, o->wchan);
	else
		json_out__null(j);
	json_out__key(j, "function");
	if (t && t->nframes) {
		json_out__begin_object(j);
		json_out__key(j, "function");
		json_out__string(j, t->frames[0].code->qualname);
		json_out__key(j, "file");
		json_out__string(j, t->frames[0].code->filename);
		json_out__key(j, "line");
		json_out__int(j, t->frames[0].line);
		json_out__end_object(j);
	} else {
		json_out__null(j);
	}
	json_out__end_object(j);
}

static void print_json(struct py_proc *pp, const struct view *v,
		       const struct py_snapshot *s)
{
	struct json_out j;

	cmd_json_begin(&j, pp);
	json_out__key(&j, "gil_enabled");
	json_out__bool(&j, s->gil_enabled);
	json_out__key(&j, "cpu_window");
	json_out__double(&j, v->window);
	json_out__key(&j, "threads");
	json_out__begin_array(&j);
	for (size_t i = 0; i < s->n; i++)
		json_row(&j, pp, v, &s->threads[i],
			 os_find((struct view *)v, s->threads[i].native_id));
	for (size_t i = 0; i < v->nos; i++)
		if (!v->os[i].python)
			json_row(&j, pp, v, NULL, &v->os[i]);
	json_out__end_array(&j);
	json_out__end_object(&j);
	fputc('\n', stdout);
}

/* One window and one table.  Returns 0, or an error (-ESRCH: gone). */
static int show(struct py_proc *pp, struct view *v,
		const struct threads_opts *o, bool first)
{
	struct py_snapshot s;
	uint64_t t0, t1;
	int ret;

	ret = os_begin(v, pp->pid);
	if (ret)
		return ret;
	t0 = rec_clock__now();
	/* Threads seen before carry their ticks from the last window's end:
	 * time the window from there too (os_begin reads only new ones). */
	if (!first && v->t_end)
		t0 = v->t_end;
	if (live_sleep(first || !o->watch ? CPU_WINDOW : o->watch))
		return -EINTR;
	t1 = rec_clock__now();
	os_end(v, pp->pid);
	v->t_end = t1;
	v->window = (double)(t1 - t0) / 1e9;
	ret = py_snapshot__take_settled(pp, &s, PY_SNAP_FRAMES | PY_SNAP_NAMES,
					SNAP_RETRIES);
	if (ret)
		return proc_task__is_dead(pp->pid) ? -ESRCH : ret;
	for (size_t i = 0; i < s.n; i++) {
		struct os_thread *ot = os_find(v, s.threads[i].native_id);

		if (ot)
			ot->python = true;
	}
	if (o->watch && !o->json && isatty(STDOUT_FILENO))
		printf("\033[H\033[2J");
	else if (!first && !o->json)
		printf("\n");
	if (o->json)
		print_json(pp, v, &s);
	else
		print_text(pp, v, &s);
	fflush(stdout);
	py_snapshot__release(&s);
	os_prune(v);
	return 0;
}

static int parse(int argc, char **argv, struct threads_opts *o)
{
	const char *watch = NULL;
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process to read (required)", &o->pid },
		{ "watch", 'w', OPT_STRING, "SECONDS", "show the table again every SECONDS until Ctrl-C", &watch },
		{ "json", 0, OPT_FLAG, NULL, "print JSON (one object per refresh, one per line)", &o->json },
		{ "python-version", 0, OPT_PYVERSION, "X.Y",
		  "use the layout of this CPython version instead of detecting it", o->version },
		{ 0 },
	};
	int first;
	enum opts_result r = opts_parse(&threads_usage, specs, argc, argv, &first);

	if (r != OPTS_OK)
		return r == OPTS_HELP ? CMD_OK : CMD_USAGE;
	if (first < argc)
		return opts_usage_error(&threads_usage, "unexpected argument '%s'", argv[first]), CMD_USAGE;
	if (!o->pid)
		return opts_usage_error(&threads_usage, "missing --pid"), CMD_USAGE;
	if (watch && (record_opts__duration(watch, &o->watch) || o->watch < 0.1))
		return opts_usage_error(&threads_usage,
					"invalid --watch '%s' (expected seconds, at least 0.1)",
					watch), CMD_USAGE;
	return -1;
}

int cmd_threads(int argc, char **argv)
{
	struct threads_opts o = { 0 };
	struct view v = { 0 };
	struct py_proc pp;
	int status = parse(argc, argv, &o), ret;

	if (status >= 0)
		return status;
	status = cmd_open_target(&pp, o.pid, o.version);
	if (status)
		return status;
	v.hz = sysconf(_SC_CLK_TCK);
	v.os = calloc(THREADS_MAX, sizeof(*v.os));
	if (!v.os) {
		py_proc__close(&pp);
		return error("out of memory"), CMD_FAILED;
	}
	live_install_signals();
	status = CMD_OK;
	for (bool first = true;; first = false) {
		ret = show(&pp, &v, &o, first);
		if (ret == -EINTR) {
			/* Ctrl-C is how --watch ends; without it, an abort. */
			status = o.watch ? CMD_OK : 130;
			break;
		}
		if (ret == -ESRCH && !first) {
			fprintf(stderr, "peeka: process %d exited\n", o.pid);
			break;
		}
		if (ret) {
			status = cmd_report_read_error(o.pid, ret);
			break;
		}
		if (!o.watch)
			break;
	}
	free(v.os);
	py_proc__close(&pp);
	return status;
}
