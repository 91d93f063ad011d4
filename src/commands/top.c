/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka top: a live table of the functions where a CPython process spends
 * its time, refreshed every --delay, full-screen on a terminal (top_ui.c)
 * and as plain-text snapshots otherwise.  Sampling only: nothing is
 * injected, nothing is stopped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../diag.h"
#include "../errors.h"
#include "../opts.h"
#include "../proc_task.h"
#include "../rec_clock.h"
#include "commands.h"
#include "live.h"
#include "record_opts.h"
#include "top.h"

static const struct opt_usage top_usage = {
	"top",
	"--pid PID [--rate HZ] [--delay SECONDS] [--idle] [--gil] [--threads]\n"
	"       [--nolineno] [--once] [--native [--native-all]]",
	"Show, live, which Python functions of a running process use the most\n"
	"time, like top(1) shows processes.  Stacks are sampled (100 times a\n"
	"second by default) by reading the target's memory; nothing is injected\n"
	"and the process is never stopped.\n"
	"\n"
	"The header shows the pid, the Python version, how long the view has\n"
	"run, the samples taken, the active and total threads of the last\n"
	"sample, the share of samples in which some thread held the GIL and the\n"
	"share of samples that could not be read.  Each row is a function (or a\n"
	"line, key L):\n"
	"  %Own       share of the last refresh interval in which a thread was\n"
	"             running this function itself (100% = one thread, all the\n"
	"             time; several threads can add up to more than 100%)\n"
	"  %Total     the same, counting the functions it called too\n"
	"  OwnTime    seconds of samples in the function itself since the start\n"
	"             (or the last R)\n"
	"  TotalTime  the same, with the functions it called\n"
	"Rows are sorted by OwnTime at first.  Idle threads (neither running nor\n"
	"holding the GIL) are left out unless --idle is given.\n"
	"\n"
	"Keys:\n"
	"  1 2 3 4   sort by %Own, %Total, OwnTime, TotalTime\n"
	"  L         one row per line / per function\n"
	"  T         show one thread after the other / all threads\n"
	"  R         reset the counters\n"
	"  p         pause / resume the display (sampling goes on)\n"
	"  ?         help\n"
	"  q Ctrl-C  quit\n"
	"\n"
	"When standard output is not a terminal, or with --once, plain-text\n"
	"snapshots are printed instead (one after each --delay; with --once a\n"
	"single one after sampling for --delay), each a header, a blank line,\n"
	"the column titles and at most 40 rows, then a blank line.  When the\n"
	"target exits, the last table stays on the screen with a note.\n"
	"\n"
	"--native adds native (C) functions, shown 'function [module]', as\n"
	"'peeka record --native' does: each sampled thread is stopped alone\n"
	"for the instant of its unwind, and native frames are merged with the\n"
	"Python ones (the interpreter's own left out unless --native-all).",
	"examples:\n"
	"  peeka top --pid 1234\n"
	"  peeka top --pid 1234 --threads --idle\n"
	"  peeka top --pid 1234 --once --delay 5 > snapshot.txt\n"
	"\n"
	"exit status: 0 on success (also when the target exits), 1 when the\n"
	"process cannot be read or the terminal is too small, 2 on a usage\n"
	"error.",
};

static int parse(int argc, char **argv, struct top_opts *o)
{
	const char *rate = NULL, *delay = NULL;
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process to watch (required)", &o->pid },
		{ "rate", 'r', OPT_STRING, "HZ", "samples per second (default 100)", &rate },
		{ "delay", 'd', OPT_STRING, "SECONDS", "time between refreshes (default 1)", &delay },
		{ "idle", 'i', OPT_FLAG, NULL, "include idle threads", &o->idle },
		{ "gil", 'g', OPT_FLAG, NULL, "only the thread holding the GIL", &o->gil },
		{ "threads", 't', OPT_FLAG, NULL, "one row per thread and function", &o->threads },
		{ "nolineno", 0, OPT_FLAG, NULL, "no line numbers: one row per function and file", &o->nolineno },
		{ "once", '1', OPT_FLAG, NULL, "print one plain-text snapshot after --delay and exit", &o->once },
		{ "native", 'n', OPT_FLAG, NULL, "add native (C) functions; stops each sampled thread for an instant", &o->native },
		{ "native-all", 0, OPT_FLAG, NULL, "with --native: keep the interpreter's own frames too", &o->native_all },
		{ "python-version", 0, OPT_PYVERSION, "X.Y",
		  "use the layout of this CPython version instead of detecting it", o->version },
		{ 0 },
	};
	int first;
	enum opts_result r = opts_parse(&top_usage, specs, argc, argv, &first);

	if (r != OPTS_OK)
		return r == OPTS_HELP ? CMD_OK : CMD_USAGE;
	o->rate = 100;
	o->delay = 1;
	if (first < argc)
		return opts_usage_error(&top_usage, "unexpected argument '%s'", argv[first]), CMD_USAGE;
	if (o->native_all)
		o->native = true;
	if (!o->pid)
		return opts_usage_error(&top_usage, "missing --pid"), CMD_USAGE;
	if (rate && record_opts__rate(rate, &o->rate))
		return opts_usage_error(&top_usage,
					"invalid rate '%s' (expected 1 to %.0f samples a second)",
					rate, REC_RATE_MAX), CMD_USAGE;
	if (delay && (record_opts__duration(delay, &o->delay) || o->delay < 0.1))
		return opts_usage_error(&top_usage,
					"invalid delay '%s' (expected seconds, at least 0.1)",
					delay), CMD_USAGE;
	return -1;
}

static int on_thread(void *ctx, const struct py_sample_thread *t)
{
	struct top_state *s = ctx;

	s->total++;
	s->active += t->active;
	if (t->gil)
		s->gil_now = true;
	if (t->skipped)
		return 0;
	s->thread_samples++;
	rec_collect__thread(s->coll[0], t);
	rec_collect__thread(s->coll[1], t);
	return 0;
}

int top_state__sample(struct top_state *s)
{
	int ret;

	s->active = s->total = 0;
	s->gil_now = false;
	ret = py_sampler__take(s->sampler, on_thread, s);
	if (ret == -ESRCH) {
		s->exited = true;
		return ret;
	}
	s->rounds++;
	s->rounds_cur++;
	s->gil_rounds += s->gil_now;
	if (ret)
		s->failed++;
	return 0;
}

static void free_models(struct top_state *s)
{
	for (int i = 0; i < 2; i++) {
		top_model__free(s->tm[i]);
		rec_collect__free(s->coll[i]);
		profile__free(s->prof[i]);
		s->tm[i] = NULL;
		s->coll[i] = NULL;
		s->prof[i] = NULL;
	}
}

static int new_models(struct top_state *s)
{
	for (int i = 0; i < 2; i++) {
		struct rec_collect_opts co = {
			.idle = s->o->idle,
			.gil_only = s->o->gil,
			.threads = true,
			.function = i == 0 && !s->o->nolineno,
			.nolineno = s->o->nolineno,
			.native_sym = s->ns,
			.native_all = s->o->native_all,
		};

		s->prof[i] = profile__new();
		s->coll[i] = s->prof[i] ? rec_collect__new(s->prof[i], &co) : NULL;
		s->tm[i] = s->prof[i] ? top_model__new(s->prof[i], &s->sp) : NULL;
		if (!s->coll[i] || !s->tm[i])
			return -ENOMEM;
	}
	return 0;
}

int top_state__reset(struct top_state *s)
{
	free_models(s);
	s->rounds = s->failed = s->gil_rounds = s->thread_samples = 0;
	s->rounds_cur = s->rounds_shown = 0;
	s->reset_ns = rec_clock__now();
	s->nlabels = 0;
	return new_models(s);
}

static void find_selected(struct top_state *s)
{
	s->nlabels = top_model__threads(s->tm[0], s->labels, TOP_MAX_THREADS);
	s->mo.thread = s->thread_idx >= 0 ? s->thread_sel : NULL;
}

void top_state__next_thread(struct top_state *s)
{
	s->nlabels = top_model__threads(s->tm[0], s->labels, TOP_MAX_THREADS);
	if (s->thread_idx + 1 >= (int)s->nlabels) {
		s->thread_idx = -1;
	} else {
		s->thread_idx++;
		snprintf(s->thread_sel, sizeof(s->thread_sel), "%s",
			 s->labels[s->thread_idx]);
	}
	find_selected(s);
}

int top_state__refresh(struct top_state *s)
{
	int ret;

	find_selected(s);
	ret = top_model__build(top_state__model(s), &s->mo);
	if (ret)
		return ret;
	/* Both granularities start their next interval now. */
	for (int i = 0; i < 2; i++)
		if (top_model__mark(s->tm[i]))
			return -ENOMEM;
	s->rounds_shown = s->rounds_cur;
	s->rounds_cur = 0;
	return 0;
}

int top_state__rebuild(struct top_state *s)
{
	find_selected(s);
	s->rounds_shown = s->rounds_cur;
	return top_model__build(top_state__model(s), &s->mo);
}

static int state_init(struct top_state *s, struct py_proc *pp,
		      const struct top_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->pp = pp;
	s->o = o;
	s->thread_idx = -1;
	s->by_line = false;
	s->mo.per_thread = o->threads;
	s->mo.sort = TOP_SORT_OWN_TIME;
	s->mo.by_line = true;
	s->start_ns = s->reset_ns = rec_clock__now();
	py_proc__version_text(pp, s->version, sizeof(s->version));
	proc_task__cmdline(pp->pid, s->cmdline, sizeof(s->cmdline));
	py_sys__path(pp, &s->sp);
	s->sampler = py_sampler__new(pp);
	if (!s->sampler)
		return -ENOMEM;
	if (o->native) {
		s->nu = native_unwind__new(pp->pid);
		s->ns = native_sym__new(pp->pid, pp->rt.map_path,
					pp->rt.exe_path);
		if (!s->nu || !s->ns)
			return -ENOMEM;
		native_sym__set_lines(s->ns, false);
		py_sampler__set_native(s->sampler, s->nu);
	}
	if (o->gil)
		py_sampler__set_skip(s->sampler, PY_SKIP_NOT_GIL);
	else if (!o->idle)
		py_sampler__set_skip(s->sampler, PY_SKIP_IDLE);
	return new_models(s);
}

static void state_release(struct top_state *s)
{
	free_models(s);
	py_sampler__free(s->sampler);
	native_unwind__free(s->nu);
	native_sym__free(s->ns);
	py_sys_path__release(&s->sp);
}

/*
 * Sample until the next refresh is due.  Returns 0, -ESRCH when the
 * target exited, -EINTR on a stop request.
 */
static int sample_for(struct top_state *s, struct rec_clock *clk,
		      uint64_t until)
{
	while (rec_clock__now() < until) {
		if (live_stop)
			return -EINTR;
		if (rec_clock__wait(clk) == -EINTR)
			continue;
		if (top_state__sample(s) == -ESRCH)
			return -ESRCH;
	}
	return 0;
}

/* Plain-text snapshots: piped output, or --once. */
static int run_plain(struct top_state *s)
{
	struct rec_clock clk;
	uint64_t period = (uint64_t)(s->o->delay * 1e9);
	uint64_t next = rec_clock__now() + period;
	int ret;

	rec_clock__start(&clk, s->o->rate);
	for (;;) {
		ret = sample_for(s, &clk, next);
		if (ret == -EINTR)
			return s->o->once ? 130 : CMD_OK;
		if (top_state__refresh(s))
			return error("out of memory"), CMD_FAILED;
		top_view__print(stdout, s, TOP_PLAIN_ROWS);
		if (ret == -ESRCH) {
			fprintf(stderr, "peeka: process %d exited\n", s->pp->pid);
			return CMD_OK;
		}
		if (s->o->once)
			return CMD_OK;
		next += period;
	}
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o = { 0 };
	struct top_state s;
	struct py_proc pp;
	int status = parse(argc, argv, &o);
	bool ui;

	if (status >= 0)
		return status;
	ui = !o.once && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	status = cmd_open_target(&pp, o.pid, o.version);
	if (status)
		return status;
	if (state_init(&s, &pp, &o)) {
		error("out of memory");
		status = CMD_FAILED;
		goto out;
	}
	live_install_signals();
	status = ui ? top_ui__run(&s) : run_plain(&s);
out:
	state_release(&s);
	py_proc__close(&pp);
	return status;
}
