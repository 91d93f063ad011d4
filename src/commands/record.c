/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka record: sample a running process (--pid) or a program peeka
 * starts (-- CMD) at a fixed rate and write a flame graph or collapsed
 * stacks.  The sampling loop lives in recorder.c; this file parses,
 * reports progress and writes the output.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../diag.h"
#include "../errors.h"
#include "../launch.h"
#include "../native_sym.h"
#include "../native_unwind.h"
#include "../log.h"
#include "../opts.h"
#include "../out_svg.h"
#include "../proc_task.h"
#include "../recorder.h"
#include "commands.h"
#include "record_opts.h"
#include "render.h"

static volatile sig_atomic_t stop_requests;
static const char *partial_output;

static void on_signal(int sig)
{
	static const char msg[] = "\npeeka: interrupted again: aborted, "
				  "output not written\n";

	if (sig == SIGINT && ++stop_requests >= 2) {
		/* A second Ctrl-C aborts: no output. */
		if (partial_output)
			unlink(partial_output);
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		_exit(130);
	}
	if (sig != SIGINT)
		stop_requests = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void show_progress(void *ctx, const struct recorder_progress *p)
{
	(void)ctx;
	fprintf(stderr,
		"\r\033[K%6.1fs  %llu samples  %.1f Hz  %zu threads  %llu errors",
		p->elapsed, (unsigned long long)p->samples,
		p->elapsed > 0 ? (double)p->samples / p->elapsed : 0.0,
		p->threads, (unsigned long long)p->errors);
	fflush(stderr);
}

static const char *extension(enum rec_format f)
{
	switch (f) {
	case REC_FORMAT_SVG:
		return "svg";
	case REC_FORMAT_RAW:
		return "peeka";
	case REC_FORMAT_SPEEDSCOPE:
		return "speedscope.json";
	case REC_FORMAT_CHROME:
		return "json";
	case REC_FORMAT_PPROF:
		return "pb.gz";
	default:
		return "txt";
	}
}

/* Open the output before sampling, so an unwritable path fails early. */
static FILE *open_output(struct record_opts *o, int pid)
{
	struct stat st;
	FILE *f;

	if (!o->output) {
		char stamp[32];
		time_t t = time(NULL);

		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&t));
		snprintf(o->default_output, sizeof(o->default_output),
			 "peeka-%d-%s.%s", pid, stamp,
			 extension(o->format));
		o->output = o->default_output;
	}
	f = fopen(o->output, "w");
	if (!f) {
		error_errno("cannot write '%s'", o->output);
		return NULL;
	}
	/* Only a regular file is ours to remove on abort (not a FIFO, not
	 * /dev/stdout). */
	if (!fstat(fileno(f), &st) && S_ISREG(st.st_mode))
		partial_output = o->output;
	return f;
}

/* The command given after --, or the target's command line. */
static void command_line(struct py_proc *pp, const struct record_opts *o,
			 char *cmdline, size_t len)
{
	cmdline[0] = '\0';
	if (o->cmd)
		for (char **a = o->cmd; *a; a++)
			snprintf(cmdline + strlen(cmdline), len - strlen(cmdline),
				 "%s%s", a == o->cmd ? "" : " ", *a);
	else
		proc_task__cmdline(pp->pid, cmdline, len);
}

static void title_and_subtitle(struct profile *prof, struct py_proc *pp,
			       const struct recorder_progress *p,
			       const struct record_opts *o)
{
	char cmdline[1024] = "", sub[512], vs[32];

	command_line(pp, o, cmdline, sizeof(cmdline));
	py_proc__version_text(pp, vs, sizeof(vs));
	snprintf(sub, sizeof(sub),
		 "pid %d, Python %s, %.1f s, %llu samples at %.0f Hz%s%s",
		 pp->pid, vs, p->elapsed, (unsigned long long)p->samples,
		 o->rate, o->idle ? ", idle included" : "",
		 o->gil ? ", GIL holder only" : "");
	profile__set_meta(prof, cmdline, sub);
}

static int summarize(const struct recorder_progress *p,
		     const struct rec_collect_stats *cs,
		     const struct record_opts *o, bool wrote,
		     const struct rec_write *raw)
{
	double pct = p->samples ? 100.0 * (double)p->errors /
					  (double)(p->samples + p->errors) : 0.0;

	if (isatty(2))
		fprintf(stderr, "\r\033[K");
	fprintf(stderr,
		"peeka: %llu samples in %.1f s (%.1f Hz), %llu errors (%.1f%%), "
		"%llu deadlines skipped",
		(unsigned long long)p->samples, p->elapsed,
		p->elapsed > 0 ? (double)p->samples / p->elapsed : 0.0,
		(unsigned long long)p->errors, pct, (unsigned long long)p->skipped);
	if (raw && wrote)
		fprintf(stderr, "; wrote %s (%llu thread samples, %.1f KiB)\n",
			o->output, (unsigned long long)rec_write__samples(raw),
			(double)rec_write__bytes(raw) / 1024.0);
	else
		fprintf(stderr, ", %llu idle and %llu non-GIL thread samples dropped%s%s\n",
			(unsigned long long)cs->idle, (unsigned long long)cs->not_gil,
			wrote ? "; wrote " : "", wrote ? o->output : "");
	if (o->native) {
		uint64_t all = cs->native_merged + cs->native_failed +
			       cs->native_missing;

		fprintf(stderr,
			"peeka: native: %llu thread samples merged, %llu not matched (%.1f%%), %llu without a native stack\n",
			(unsigned long long)cs->native_merged,
			(unsigned long long)cs->native_failed,
			all ? 100.0 * (double)cs->native_failed / (double)all : 0.0,
			(unsigned long long)cs->native_missing);
	}
	log_info("sample cost: mean %.1f us, worst %.1f us", p->mean_us,
		 p->max_us);
	return 0;
}

/* Attach (--pid) or launch (-- CMD) and open the target. */
static int start_target(struct record_opts *o, struct py_proc *pp,
			pid_t *child, int *child_status)
{
	char err[512] = "";
	int ret;

	if (!o->cmd)
		return cmd_open_target(pp, o->pid, o->version);
	ret = launch__start(o->cmd, child);
	if (ret)
		return error_code(ret, "cannot run '%s'", o->cmd[0]),
		       ret == -ENOENT ? 127 : 126;
	ret = recorder__wait_python(*child, pp, &stop_requests, child_status,
				    err, sizeof(err));
	if (!ret)
		return CMD_OK;
	if (ret == -ESRCH) {
		error("'%s' exited (status %d) before it ran CPython", o->cmd[0],
		      *child_status);
		return *child_status ? *child_status : CMD_FAILED;
	}
	if (ret == -EINTR)
		error("interrupted before '%s' started CPython", o->cmd[0]);
	else
		cmd_report_error((int)*child, ret, err);
	return CMD_FAILED;
}

static uint64_t unix_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
}

/* Start the .peeka stream on @f's descriptor. */
static int open_raw(struct rec_write **w, FILE *f, struct py_proc *pp,
		    const struct record_opts *o)
{
	char cmdline[1024] = "", vs[32];
	struct rec_write_info info = { pp->pid, cmdline, vs, o->rate,
				       unix_now_ns() };
	int ret;

	command_line(pp, o, cmdline, sizeof(cmdline));
	py_proc__version_text(pp, vs, sizeof(vs));
	ret = rec_write__open(w, fileno(f), &info);
	if (ret)
		error_code(ret, "cannot write '%s'", o->output);
	return ret;
}

/* End statistics, the end mark, and the file closed. */
static int close_raw(struct rec_write *w, FILE *f,
		     const struct recorder_progress *p, const struct record_opts *o)
{
	char v[64];
	int ret;

	snprintf(v, sizeof(v), "%llu", (unsigned long long)p->samples);
	ret = rec_write__meta(w, "ticks", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)p->errors);
	ret = ret ? ret : rec_write__meta(w, "errors", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)p->skipped);
	ret = ret ? ret : rec_write__meta(w, "skipped", v);
	snprintf(v, sizeof(v), "%.6f", p->elapsed);
	ret = ret ? ret : rec_write__meta(w, "duration", v);
	ret = ret ? ret : rec_write__finish(w);
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret)
		return error_code(ret, "cannot write '%s'", o->output);
	return 0;
}

static int record(struct record_opts *o, struct py_proc *pp, pid_t child,
		  int *child_status)
{
	struct recorder_opts ro = { o->rate, o->duration, o->subprocesses,
				    o->blocking, NULL, o->collect, NULL, NULL,
				    NULL };
	struct native_unwinder *nu = NULL;
	struct native_sym *ns = NULL;
	struct render_timeline tl;
	char cmdline[1024];
	struct render_timeline_opts to = { pp->pid, cmdline, o->rate, NULL,
					   o->collect.full_filenames, 0 };
	struct recorder_progress p = { 0 };
	struct rec_collect *coll = NULL;
	struct profile *prof = profile__new(), *out = NULL;
	struct py_sys_path sp = { 0 };
	FILE *f = prof ? open_output(o, pp->pid) : NULL;
	bool raw = o->format == REC_FORMAT_RAW;
	bool timeline = render_is_timeline(o->format);
	int ret;

	if (o->native) {
		nu = native_unwind__new(pp->pid);
		ns = native_sym__new(pp->pid, pp->rt.map_path, pp->rt.exe_path);
		if (!nu || !ns) {
			native_unwind__free(nu);
			native_sym__free(ns);
			profile__free(prof);
			if (f)
				fclose(f);
			return error("out of memory"), CMD_FAILED;
		}
		/* Flame graphs name native frames by function and module: no
		 * line tables to load. */
		native_sym__set_lines(ns, false);
		ro.native = nu;
		ro.collect.native_sym = ns;
	}
	command_line(pp, o, cmdline, sizeof(cmdline));
	to.sp = &sp;
	to.start_unix_ns = unix_now_ns();
	if (f && timeline) {
		if (render_timeline__open(&tl, o->format, f, prof, &to, o->output)) {
			fclose(f);
			unlink(o->output);
			f = NULL;
		}
		ro.observe = render_timeline__sample;
		ro.observe_ctx = &tl;
	}
	if (!f || (raw && open_raw(&ro.raw, f, pp, o))) {
		if (f)
			fclose(f);
		profile__free(prof);
		return CMD_FAILED;
	}
	ret = recorder__run(pp, child, prof, &ro, &stop_requests, &sp, &coll,
			    isatty(2) ? show_progress : NULL, NULL, &p,
			    child_status);
	if (ret < 0 && raw)
		error_code(ret, "cannot write '%s'", o->output);
	if (ret >= 0 && !raw)
		out = rec_collect__finish(coll, &sp);
	if (raw && ret >= 0 && rec_write__samples(ro.raw)) {
		ret = close_raw(ro.raw, f, &p, o) ? -1 : 0;
	} else if (timeline && ret >= 0 && out && profile__total(out)) {
		ret = render_timeline__finish(&tl, f, &to, o->output);
	} else if (!timeline && out && profile__total(out)) {
		title_and_subtitle(out, pp, &p, o);
		ret = render_profile(out, f, o->format, o->output);
	} else if (raw && ret < 0 && rec_write__samples(ro.raw)) {
		/* A failed write (a full disk): what reached the file stays,
		 * and 'peeka report' renders it. */
		fclose(f);
		ret = -1;
	} else {
		if (timeline)
			render_timeline__finish(&tl, f, &to, o->output);
		else
			fclose(f);
		unlink(o->output);
		if (coll)
			summarize(&p, rec_collect__stats(coll), o, false, NULL);
		ret = ret < 0 ? -1 : error("no samples were collected%s",
					   o->idle || raw ? ""
					   : " (all threads were idle? try --idle)");
	}
	partial_output = NULL;
	if (!ret)
		summarize(&p, rec_collect__stats(coll), o, true, ro.raw);
	rec_write__free(ro.raw);
	py_sys_path__release(&sp);
	rec_collect__free(coll);
	native_unwind__free(nu);
	native_sym__free(ns);
	profile__free(out);
	profile__free(prof);
	return ret ? CMD_FAILED : CMD_OK;
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct py_proc pp;
	pid_t child = 0;
	int status, child_status = 0;

	status = record_opts__parse(&o, argc, argv);
	if (status != CMD_OK || o.help)
		return status;
	install_signals();
	status = start_target(&o, &pp, &child, &child_status);
	if (status != CMD_OK) {
		if (child && launch__poll(child, &child_status) == 0)
			kill(child, SIGTERM), launch__wait(child);
		return status;
	}
	status = record(&o, &pp, child, &child_status);
	py_proc__close(&pp);
	if (child) {
		if (launch__poll(child, &child_status) == 0)
			child_status = launch__wait(child);
		return status == CMD_OK ? child_status : status;
	}
	return status;
}
