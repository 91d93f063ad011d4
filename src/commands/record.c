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
#include "../log.h"
#include "../opts.h"
#include "../out_svg.h"
#include "../proc_task.h"
#include "../recorder.h"
#include "commands.h"
#include "record_opts.h"

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
			 o->format == REC_FORMAT_SVG ? "svg" : "txt");
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

static void title_and_subtitle(struct profile *prof, struct py_proc *pp,
			       const struct recorder_progress *p,
			       const struct record_opts *o)
{
	char cmdline[1024] = "", sub[512], vs[32];

	if (o->cmd)
		for (char **a = o->cmd; *a; a++)
			snprintf(cmdline + strlen(cmdline),
				 sizeof(cmdline) - strlen(cmdline), "%s%s",
				 a == o->cmd ? "" : " ", *a);
	else
		proc_task__cmdline(pp->pid, cmdline, sizeof(cmdline));
	py_proc__version_text(pp, vs, sizeof(vs));
	snprintf(sub, sizeof(sub),
		 "pid %d, Python %s, %.1f s, %llu samples at %.0f Hz%s%s",
		 pp->pid, vs, p->elapsed, (unsigned long long)p->samples,
		 o->rate, o->idle ? ", idle included" : "",
		 o->gil ? ", GIL holder only" : "");
	profile__set_meta(prof, cmdline, sub);
}

static int write_output(struct profile *prof, FILE *f,
			const struct record_opts *o)
{
	int ret;

	if (o->format == REC_FORMAT_SVG)
		ret = out_svg__write(prof, f, NULL);
	else
		ret = profile__write_collapsed(prof, f);
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret)
		return error_code(ret, "cannot write '%s'", o->output);
	return 0;
}

static int summarize(const struct recorder_progress *p,
		     const struct rec_collect_stats *cs,
		     const struct record_opts *o, bool wrote)
{
	double pct = p->samples ? 100.0 * (double)p->errors /
					  (double)(p->samples + p->errors) : 0.0;

	if (isatty(2))
		fprintf(stderr, "\r\033[K");
	fprintf(stderr,
		"peeka: %llu samples in %.1f s (%.1f Hz), %llu errors (%.1f%%), "
		"%llu deadlines skipped, %llu idle and %llu non-GIL thread samples dropped%s%s\n",
		(unsigned long long)p->samples, p->elapsed,
		p->elapsed > 0 ? (double)p->samples / p->elapsed : 0.0,
		(unsigned long long)p->errors, pct,
		(unsigned long long)p->skipped, (unsigned long long)cs->idle,
		(unsigned long long)cs->not_gil, wrote ? "; wrote " : "",
		wrote ? o->output : "");
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

static int record(struct record_opts *o, struct py_proc *pp, pid_t child,
		  int *child_status)
{
	struct recorder_opts ro = { o->rate, o->duration, o->subprocesses,
				    o->blocking, o->collect };
	struct recorder_progress p = { 0 };
	struct rec_collect *coll = NULL;
	struct profile *prof = profile__new(), *out = NULL;
	struct py_sys_path sp = { 0 };
	FILE *f = prof ? open_output(o, pp->pid) : NULL;
	int ret;

	if (!f) {
		profile__free(prof);
		return CMD_FAILED;
	}
	ret = recorder__run(pp, child, prof, &ro, &stop_requests, &sp, &coll,
			    isatty(2) ? show_progress : NULL, NULL, &p,
			    child_status);
	if (ret >= 0)
		out = rec_collect__finish(coll, &sp);
	if (out && profile__total(out)) {
		title_and_subtitle(out, pp, &p, o);
		ret = write_output(out, f, o) ? -1 : 0;
	} else {
		fclose(f);
		unlink(o->output);
		if (coll)
			summarize(&p, rec_collect__stats(coll), o, false);
		ret = error("no samples were collected%s", o->idle ? ""
			    : " (all threads were idle? try --idle)");
	}
	partial_output = NULL;
	if (!ret)
		summarize(&p, rec_collect__stats(coll), o, true);
	py_sys_path__release(&sp);
	rec_collect__free(coll);
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
