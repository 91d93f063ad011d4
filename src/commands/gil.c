/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka gil: who holds the GIL, how often it changes hands, who waits for
 * it, and what runs while it is held.  Sampling only; nothing is written
 * to the target.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../diag.h"
#include "../errors.h"
#include "../gil_watch.h"
#include "../json_out.h"
#include "../opts.h"
#include "../proc_task.h"
#include "../py_sys.h"
#include "../rec_clock.h"
#include "../text_out.h"
#include "../top_model.h"
#include "commands.h"
#include "live.h"
#include "record_opts.h"
#include "render.h"

#define GIL_TOP_ROWS 10

struct gil_opts {
	int pid;
	double rate, duration;
	const char *output;
	enum rec_format format;
	bool json;
	unsigned version[2];
};

static const struct opt_usage gil_usage = {
	"gil",
	"--pid PID [--rate HZ] [--duration SECONDS] [-o FILE] [--json]",
	"Measure the Global Interpreter Lock of a running CPython process: how\n"
	"much of the time some thread holds it, how often it changes hands,\n"
	"which threads hold it and which wait for it, and which functions run\n"
	"while it is held.  Nothing is injected and the target is never stopped.\n"
	"\n"
	"The first line is always\n"
	"  GIL held: <NN.N>% of <N> samples, <N> switches/s\n"
	"\n"
	"How each figure is obtained:\n"
	"  held       at every sample (default 1000 a second for 5 s) the GIL's\n"
	"             own struct is read: it is held when 'locked' is set, and\n"
	"             its holder is 'last_holder' (3.8-3.12) or the thread whose\n"
	"             own flag says so (_status.holds_gil on 3.13, holds_gil on\n"
	"             3.14).  A thread's 'held' is the share of samples in which\n"
	"             it was the holder.\n"
	"  switches/s the GIL's switch counter (switch_number, which CPython\n"
	"             increments on every hand-over) read at the start and at the\n"
	"             end, divided by the time between the reads: counted, not\n"
	"             estimated.\n"
	"  waiting    the share of samples in which a thread that does not hold\n"
	"             the GIL was blocked in futex() on an address inside the GIL\n"
	"             struct (its mutex or condition variables), as\n"
	"             /proc/PID/task/TID/syscall shows.  Every version 3.8-3.14\n"
	"             waits that way.  A thread that was asked to drop the GIL\n"
	"             and waits for the hand-over counts as waiting (it wants the\n"
	"             GIL back); a thread spinning briefly before it sleeps does\n"
	"             not.\n"
	"  samples    only samples read whole count; unreadable ones (a thread\n"
	"             list changing under the read) are reported apart.\n"
	"\n"
	"Only the main interpreter's GIL is measured.  A free-threaded build\n"
	"with the GIL disabled is reported as such.  Ctrl-C ends the\n"
	"measurement early and reports what was measured.",
	"examples:\n"
	"  peeka gil --pid 1234\n"
	"  peeka gil --pid 1234 --duration 30 -o gil.svg\n"
	"  peeka gil --pid 1234 --json | jq .held_percent\n"
	"\n"
	"exit status: 0 on success, 1 when the process cannot be read, 2 on a\n"
	"usage error.",
};

static int parse(int argc, char **argv, struct gil_opts *o)
{
	const char *rate = NULL, *dur = NULL;
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process to measure (required)", &o->pid },
		{ "rate", 'r', OPT_STRING, "HZ", "samples per second (default 1000)", &rate },
		{ "duration", 'd', OPT_STRING, "SECONDS", "how long to measure (default 5; e.g. 30, 1.5, 2m)", &dur },
		{ "output", 'o', OPT_STRING, "FILE", "also write a flame graph of the GIL holder's stacks (.svg, or collapsed: .txt .folded .collapsed)", &o->output },
		{ "json", 0, OPT_FLAG, NULL, "print one JSON object instead of text", &o->json },
		{ "python-version", 0, OPT_PYVERSION, "X.Y",
		  "use the layout of this CPython version instead of detecting it", o->version },
		{ 0 },
	};
	int first;
	enum opts_result r = opts_parse(&gil_usage, specs, argc, argv, &first);

	if (r != OPTS_OK)
		return r == OPTS_HELP ? CMD_OK : CMD_USAGE;
	o->rate = 1000;
	o->duration = 5;
	if (first < argc)
		return opts_usage_error(&gil_usage, "unexpected argument '%s'", argv[first]), CMD_USAGE;
	if (!o->pid)
		return opts_usage_error(&gil_usage, "missing --pid"), CMD_USAGE;
	if (rate && record_opts__rate(rate, &o->rate))
		return opts_usage_error(&gil_usage,
					"invalid rate '%s' (expected 1 to %.0f samples a second)",
					rate, REC_RATE_MAX), CMD_USAGE;
	if (dur && record_opts__duration(dur, &o->duration))
		return opts_usage_error(&gil_usage,
					"invalid duration '%s' (expected seconds, e.g. 30, 1.5, 2m)",
					dur), CMD_USAGE;
	if (o->output &&
	    (record_opts__format_from_name(o->output, &o->format) ||
	     (o->format != REC_FORMAT_SVG && o->format != REC_FORMAT_COLLAPSED)))
		return opts_usage_error(&gil_usage,
					"cannot tell the format of '%s' (use .svg, or .txt/.folded/.collapsed for collapsed stacks)",
					o->output), CMD_USAGE;
	return -1;
}

struct gil_result {
	double elapsed;
	uint64_t switches0, switches1;
	double switch_seconds;   /* between the first and the last counter read */
	bool exited;
	const struct gil_watch_totals *tot;
	const struct gil_watch_thread *threads;
	size_t nthreads;
	const struct top_row *top;
	size_t ntop;
	uint64_t top_samples;
};

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static double switch_rate(const struct gil_result *r)
{
	return r->switch_seconds > 0
		       ? (double)(r->switches1 - r->switches0) / r->switch_seconds
		       : 0.0;
}

static void print_text(struct py_proc *pp, const struct gil_opts *o,
		       const struct gil_result *r)
{
	const struct gil_watch_totals *t = r->tot;
	char vs[32], cmdline[256] = "";

	py_proc__version_text(pp, vs, sizeof(vs));
	proc_task__cmdline(pp->pid, cmdline, sizeof(cmdline));
	printf("GIL held: %.1f%% of %" PRIu64 " samples, %.0f switches/s\n",
	       pct(t->held, t->samples), t->samples, switch_rate(r));
	printf("pid %d (", pp->pid);
	text_out__put(stdout, cmdline);
	printf("), CPython %s, %.1f s at %.0f Hz, %" PRIu64 " switches, %" PRIu64
	       " samples unreadable%s\n\n", vs, r->elapsed, o->rate,
	       r->switches1 - r->switches0, t->failed,
	       r->exited ? ", the process exited" : "");
	printf("%9s %18s  %6s %8s  %s\n", "NATIVE", "THREAD", "HELD", "WAITING",
	       "NAME");
	for (size_t i = 0; i < r->nthreads; i++) {
		const struct gil_watch_thread *th = &r->threads[i];

		if (th->native_id)
			printf("%9d", th->native_id);
		else
			printf("%9s", "?");
		printf(" %#18" PRIx64 "  %5.1f%% %7.1f%%  ", th->thread_id,
		       pct(th->held, t->samples), pct(th->waiting, t->samples));
		text_out__put(stdout, th->has_name ? th->name : "?");
		printf("\n");
	}
	printf("\nRunning while holding the GIL (%% of GIL-held samples):\n");
	if (!r->ntop)
		printf("  (no samples with a Python stack)\n");
	for (size_t i = 0; i < r->ntop && i < GIL_TOP_ROWS; i++) {
		const struct top_row *row = &r->top[i];

		printf("  %5.1f%%  ", pct(row->own, r->top_samples));
		text_out__put(stdout, row->label);
		printf("\n");
	}
}

static void print_json(struct py_proc *pp, const struct gil_opts *o,
		       const struct gil_result *r)
{
	const struct gil_watch_totals *t = r->tot;
	struct json_out j;

	cmd_json_begin(&j, pp);
	json_out__key(&j, "gil_enabled");
	json_out__bool(&j, true);
	json_out__key(&j, "rate");
	json_out__double(&j, o->rate);
	json_out__key(&j, "duration");
	json_out__double(&j, r->elapsed);
	json_out__key(&j, "samples");
	json_out__uint(&j, t->samples);
	json_out__key(&j, "unreadable_samples");
	json_out__uint(&j, t->failed);
	json_out__key(&j, "held_percent");
	json_out__double(&j, pct(t->held, t->samples));
	json_out__key(&j, "switch_number_start");
	json_out__uint(&j, r->switches0);
	json_out__key(&j, "switch_number_end");
	json_out__uint(&j, r->switches1);
	json_out__key(&j, "switch_seconds");
	json_out__double(&j, r->switch_seconds);
	json_out__key(&j, "switches_per_second");
	json_out__double(&j, switch_rate(r));
	json_out__key(&j, "exited");
	json_out__bool(&j, r->exited);
	json_out__key(&j, "threads");
	json_out__begin_array(&j);
	for (size_t i = 0; i < r->nthreads; i++) {
		const struct gil_watch_thread *th = &r->threads[i];

		json_out__begin_object(&j);
		json_out__key(&j, "thread_id");
		json_out__uint(&j, th->thread_id);
		json_out__key(&j, "native_id");
		if (th->native_id)
			json_out__int(&j, th->native_id);
		else
			json_out__null(&j);
		json_out__key(&j, "name");
		if (th->has_name)
			json_out__string(&j, th->name);
		else
			json_out__null(&j);
		json_out__key(&j, "samples");
		json_out__uint(&j, th->seen);
		json_out__key(&j, "held_percent");
		json_out__double(&j, pct(th->held, t->samples));
		json_out__key(&j, "waiting_percent");
		json_out__double(&j, pct(th->waiting, t->samples));
		json_out__end_object(&j);
	}
	json_out__end_array(&j);
	json_out__key(&j, "top_functions");
	json_out__begin_array(&j);
	for (size_t i = 0; i < r->ntop && i < GIL_TOP_ROWS; i++) {
		json_out__begin_object(&j);
		json_out__key(&j, "function");
		json_out__string(&j, r->top[i].function);
		json_out__key(&j, "file");
		json_out__string(&j, r->top[i].file);
		json_out__key(&j, "line");
		json_out__int(&j, r->top[i].line);
		json_out__key(&j, "percent");
		json_out__double(&j, pct(r->top[i].own, r->top_samples));
		json_out__end_object(&j);
	}
	json_out__end_array(&j);
	json_out__end_object(&j);
	fputc('\n', stdout);
}

static int report_disabled(struct py_proc *pp, const struct gil_opts *o,
			   const struct py_gil *g)
{
	char vs[32];

	py_proc__version_text(pp, vs, sizeof(vs));
	if (o->json) {
		printf("{\"pid\": %d, \"python_version\": \"%s\", \"gil_enabled\": false, \"free_threaded\": %s}\n",
		       pp->pid, vs, g->free_threaded ? "true" : "false");
		return CMD_OK;
	}
	printf("GIL disabled: pid %d runs a free-threaded CPython %s with the GIL off; threads run in parallel and there is no GIL to measure\n",
	       pp->pid, vs);
	return CMD_OK;
}

#define SWITCH_READ_NS 100000000ULL  /* the counter is re-read every 100 ms */

/* Read the switch counter; keep it (and when) if the read worked. */
static void read_switches(struct py_proc *pp, const struct py_gil *g,
			  struct gil_result *r, uint64_t start, uint64_t *at)
{
	struct py_gil_state st;

	*at = rec_clock__now();
	if (py_gil__read(pp, g, &st))
		return;
	r->switches1 = st.switches;
	r->switch_seconds = (double)(*at - start) / 1e9;
}

/*
 * Sample until the duration is over, a signal, or the target exits.  The
 * switch counter is re-read as sampling goes, so that a target that exits
 * still has a switch rate (up to its last good read).
 */
static int measure(struct py_proc *pp, const struct gil_opts *o,
		   struct gil_watch *w, const struct py_gil *g,
		   struct gil_result *r)
{
	struct py_gil_state st;
	struct rec_clock clk;
	uint64_t start, end, last = 0;
	int ret;

	ret = py_gil__read(pp, g, &st);
	if (ret)
		return ret;
	start = rec_clock__now();
	r->switches0 = r->switches1 = st.switches;
	end = start + (uint64_t)(o->duration * 1e9);
	rec_clock__start(&clk, o->rate);
	while (!live_stop && rec_clock__now() < end) {
		if (rec_clock__wait(&clk) == -EINTR)
			continue;
		ret = gil_watch__sample(w);
		if (ret == -ESRCH) {
			r->exited = true;
			break;
		}
		if (rec_clock__now() - last >= SWITCH_READ_NS)
			read_switches(pp, g, r, start, &last);
	}
	r->elapsed = (double)(rec_clock__now() - start) / 1e9;
	if (!r->exited)
		read_switches(pp, g, r, start, &last);
	return 0;
}

static int write_graph(const struct gil_opts *o, struct rec_collect *coll,
		       const struct py_sys_path *sp, struct py_proc *pp,
		       const struct gil_result *r)
{
	struct profile *prof = rec_collect__finish(coll, sp);
	char title[256] = "", sub[256], vs[32];
	FILE *f;
	int ret;

	if (!prof)
		return error("out of memory"), -1;
	proc_task__cmdline(pp->pid, title, sizeof(title));
	py_proc__version_text(pp, vs, sizeof(vs));
	snprintf(sub, sizeof(sub), "GIL holder's stacks: pid %d, Python %s, %.1f s at %.0f Hz, GIL held %.1f%%",
		 pp->pid, vs, r->elapsed, o->rate, pct(r->tot->held, r->tot->samples));
	profile__set_meta(prof, title, sub);
	f = fopen(o->output, "w");
	if (!f) {
		profile__free(prof);
		return error_errno("cannot write '%s'", o->output), -1;
	}
	ret = render_profile(prof, f, o->format, o->output);
	profile__free(prof);
	return ret;
}

static int run(struct py_proc *pp, const struct gil_opts *o)
{
	struct rec_collect_opts co = { .threads = false };
	struct gil_result r = { 0 };
	struct py_sys_path sp = { 0 };
	struct profile *prof = profile__new();
	struct rec_collect *coll = NULL;
	struct top_model *tm = NULL;
	struct gil_watch *w = NULL;
	struct top_model_opts to = { .by_line = true,
				     .sort = TOP_SORT_OWN_TIME };
	struct py_gil g;
	int ret, status = CMD_FAILED;

	ret = py_gil__open(pp, &g);
	if (ret) {
		cmd_report_read_error(pp->pid, ret);
		goto out;
	}
	if (!g.enabled) {
		status = report_disabled(pp, o, &g);
		goto out;
	}
	py_sys__path(pp, &sp);
	coll = prof ? rec_collect__new(prof, &co) : NULL;
	w = coll ? gil_watch__new(pp, &g, coll) : NULL;
	tm = prof ? top_model__new(prof, &sp) : NULL;
	if (!w || !tm) {
		error("out of memory");
		goto out;
	}
	live_install_signals();
	ret = measure(pp, o, w, &g, &r);
	if (ret) {
		cmd_report_read_error(pp->pid, ret);
		goto out;
	}
	r.tot = gil_watch__totals(w);
	r.threads = gil_watch__threads(w, &r.nthreads);
	if (top_model__build(tm, &to)) {
		error("out of memory");
		goto out;
	}
	r.top = top_model__rows(tm, &r.ntop);
	while (r.ntop && !r.top[r.ntop - 1].own)
		r.ntop--;  /* callers only */
	r.top_samples = top_model__samples(tm);
	if (r.exited)
		warning("process %d exited after %.1f s; reporting what was measured",
			pp->pid, r.elapsed);
	if (o->json)
		print_json(pp, o, &r);
	else
		print_text(pp, o, &r);
	fflush(stdout);
	status = CMD_OK;
	if (o->output && write_graph(o, coll, &sp, pp, &r))
		status = CMD_FAILED;
out:
	top_model__free(tm);
	gil_watch__free(w);
	rec_collect__free(coll);
	profile__free(prof);
	py_sys_path__release(&sp);
	return status;
}

int cmd_gil(int argc, char **argv)
{
	struct gil_opts o = { 0 };
	struct py_proc pp;
	int status = parse(argc, argv, &o);

	if (status >= 0)
		return status;
	status = cmd_open_target(&pp, o.pid, o.version);
	if (status)
		return status;
	status = run(&pp, &o);
	py_proc__close(&pp);
	return status;
}
