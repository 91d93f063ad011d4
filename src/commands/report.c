/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka report: render a .peeka recording with the options record has,
 * plus thread and time filters.  A damaged file renders what is intact,
 * with one warning line saying what was lost.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../diag.h"
#include "../errors.h"
#include "../opts.h"
#include "../rec_collect.h"
#include "../rec_read.h"
#include "commands.h"
#include "record_opts.h"
#include "render.h"

static const struct opt_usage report_usage = {
	"report",
	"FILE.peeka [-o FILE] [--format flamegraph|collapsed|speedscope|chrometrace|pprof]\n"
	"       [--threads]"
	"       [--thread ID|NAME] [--idle] [--gil] [--since S] [--until S]\n"
	"       [--function] [--nolineno] [--full-filenames]",
	"Render a recording made with 'peeka record -o FILE.peeka' as an\n"
	"interactive flame graph (SVG), collapsed stacks, a speedscope profile\n"
	"(one time-ordered profile per thread) or a Chrome trace (Perfetto,\n"
	"chrome://tracing: one track per thread) or a pprof profile (go tool\n"
	"pprof, Pyroscope, Grafana).  The recording\n"
	"holds every sample of every thread, so the filters can be chosen now:\n"
	"--idle keeps idle threads, --gil only the GIL holder, --thread one\n"
	"thread (native id, Python thread id or name), --since and --until a\n"
	"window in seconds from the start of the recording.\n"
	"\n"
	"A truncated or damaged recording (a killed peeka, a full disk) is\n"
	"rendered up to the damage, with one warning saying what was lost.",
	"examples:\n"
	"  peeka report run.peeka -o run.svg\n"
	"  peeka report run.peeka --thread MainThread --since 60 --until 120\n"
	"  peeka report run.peeka --format collapsed -o run.txt --threads\n"
	"  peeka report run.peeka -o run.speedscope.json\n"
	"  peeka report run.peeka -o run.json --idle          (Chrome trace)\n"
	"  peeka report run.peeka -o run.pb.gz && go tool pprof -top run.pb.gz\n"
	"\n"
	"exit status: 0 on success, 1 when the file cannot be read or no\n"
	"sample matches, 2 on a usage error.",
};

struct report_opts {
	const char *file, *output, *thread;
	enum rec_format format;
	bool idle, gil;
	double since, until;     /* seconds; until < 0: open */
	struct rec_collect_opts collect;
};

struct report_run {
	const struct report_opts *o;
	struct rec_collect *coll;
	uint64_t matched;
	struct render_timeline *tl;     /* speedscope, chrometrace */
};

static int seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static bool thread_matches(const char *want, const struct py_sample_thread *t)
{
	char *end;
	unsigned long long id;

	if (!want)
		return true;
	errno = 0;
	id = strtoull(want, &end, 0);
	if (!errno && end != want && !*end &&
	    (id == (unsigned long long)t->native_id || id == t->thread_id))
		return true;
	return t->name && !strcmp(t->name, want);
}

static int feed(void *ctx, const struct rec_read_sample *s)
{
	struct report_run *r = ctx;
	double at = (double)s->ts_ns / 1e9;
	int ret;

	if (at < r->o->since || (r->o->until >= 0 && at > r->o->until) ||
	    !thread_matches(r->o->thread, &s->t))
		return 0;
	r->matched++;
	rec_collect__set_process(r->coll, s->process);
	ret = rec_collect__thread(r->coll, &s->t);
	if (!ret && r->tl)
		ret = render_timeline__sample(r->tl, s->ts_ns, s->pid, &s->t,
					      rec_collect__last_stack(r->coll));
	return ret;
}

static int parse(struct report_opts *o, int argc, char **argv)
{
	const char *format = NULL, *since = NULL, *until = NULL;
	const struct opt_spec specs[] = {
		{ "output", 'o', OPT_STRING, "FILE", "where to write (default: FILE with .svg or .txt)", &o->output },
		{ "format", 'f', OPT_STRING, "FORMAT", "flamegraph (SVG), collapsed, speedscope, chrometrace or pprof; default from -o's extension", &format },
		{ "threads", 't', OPT_FLAG, NULL, "add a root frame per thread: thread <native id> \"<name>\"", &o->collect.threads },
		{ "thread", 'T', OPT_STRING, "ID|NAME", "only this thread (native id, thread id or name)", &o->thread },
		{ "idle", 'i', OPT_FLAG, NULL, "keep samples of idle threads", &o->idle },
		{ "gil", 'g', OPT_FLAG, NULL, "keep only the samples of the thread holding the GIL", &o->gil },
		{ "since", 0, OPT_STRING, "S", "start S seconds into the recording", &since },
		{ "until", 0, OPT_STRING, "S", "end S seconds into the recording", &until },
		{ "nolineno", 0, OPT_FLAG, NULL, "no line numbers: one frame per function and file", &o->collect.nolineno },
		{ "function", 'F', OPT_FLAG, NULL, "aggregate by function (its first line) instead of line", &o->collect.function },
		{ "full-filenames", 0, OPT_FLAG, NULL, "show full file paths", &o->collect.full_filenames },
		{ 0 },
	};
	int n = 0;
	enum opts_result r;

	memset(o, 0, sizeof(*o));
	o->until = -1;
	r = opts_parse_operands(&report_usage, specs, argc, argv, &o->file, 1, &n);
	if (r != OPTS_OK)
		return r == OPTS_HELP ? -1 : CMD_USAGE;
	if (!o->file)
		return opts_usage_error(&report_usage, "missing FILE.peeka"), CMD_USAGE;
	if (format && record_opts__format(format, &o->format))
		return opts_usage_error(&report_usage,
					"unknown format '%s' (expected flamegraph, collapsed, speedscope, chrometrace or pprof)",
					format), CMD_USAGE;
	if (format && o->format == REC_FORMAT_RAW)
		return opts_usage_error(&report_usage,
					"report renders a recording: any format but raw"),
		       CMD_USAGE;
	if (!format && o->output && record_opts__format_from_name(o->output, &o->format))
		o->format = REC_FORMAT_SVG;
	if (!format && o->output && o->format == REC_FORMAT_RAW)
		return opts_usage_error(&report_usage,
					"'%s': report renders a recording: any format but raw",
					o->output), CMD_USAGE;
	if ((since && seconds(since, &o->since)) || (until && seconds(until, &o->until)))
		return opts_usage_error(&report_usage,
					"invalid time '%s' (expected seconds from the start, e.g. 90 or 1.5)",
					since && seconds(since, &o->since) ? since : until), CMD_USAGE;
	if (o->until >= 0 && o->until < o->since)
		return opts_usage_error(&report_usage, "--until comes before --since"),
		       CMD_USAGE;
	if (o->collect.function && o->collect.nolineno)
		return opts_usage_error(&report_usage,
					"--function and --nolineno exclude each other"),
		       CMD_USAGE;
	o->collect.idle = o->idle;
	o->collect.gil_only = o->gil;
	return CMD_OK;
}

/* FILE.peeka -> FILE.svg (or the format's extension) next to it. */
static const char *default_output(const struct report_opts *o, char *buf,
				  size_t len)
{
	static const char *const ext[] = {
		[REC_FORMAT_SVG] = "svg",
		[REC_FORMAT_COLLAPSED] = "txt",
		[REC_FORMAT_RAW] = "peeka",
		[REC_FORMAT_SPEEDSCOPE] = "speedscope.json",
		[REC_FORMAT_CHROME] = "json",
		[REC_FORMAT_PPROF] = "pb.gz",
	};
	const char *dot = strrchr(o->file, '.');
	size_t stem = dot && !strchr(dot, '/') ? (size_t)(dot - o->file)
					       : strlen(o->file);

	snprintf(buf, len, "%.*s.%s", (int)stem, o->file, ext[o->format]);
	return buf;
}

static void set_titles(struct profile *prof, const struct rec_read_info *in,
		       const struct report_opts *o)
{
	char sub[512], when[64] = "";
	time_t t = (time_t)(in->start_unix_ns / 1000000000ULL);
	struct tm tm;

	if (in->start_unix_ns && localtime_r(&t, &tm))
		strftime(when, sizeof(when), ", recorded %Y-%m-%d %H:%M", &tm);
	snprintf(sub, sizeof(sub),
		 "pid %d, Python %s, %.1f s, %llu thread samples at %.0f Hz%s%s%s",
		 in->pid, in->python, (double)in->duration_ns / 1e9,
		 (unsigned long long)in->samples, in->rate, when,
		 o->idle ? ", idle included" : "", o->gil ? ", GIL holder only" : "");
	profile__set_meta(prof, in->cmdline, sub);
}

static void done(const struct report_run *r, const struct rec_read_info *in,
		 const char *path)
{
	fprintf(stderr, "peeka: %llu of %llu thread samples rendered; wrote %s\n",
		(unsigned long long)rec_collect__stats(r->coll)->kept,
		(unsigned long long)in->samples, path);
}

/* Flame graph or collapsed: from the aggregated profile. */
static int render(const struct report_opts *o, struct report_run *r,
		  struct rec_read_info *in, const char *path)
{
	struct profile *out = rec_collect__finish(r->coll, &in->sys_path);
	FILE *f;
	int ret;

	if (!out)
		return error("out of memory");
	f = fopen(path, "w");
	if (!f) {
		profile__free(out);
		return error_errno("cannot write '%s'", path);
	}
	set_titles(out, in, o);
	ret = render_profile(out, f, o->format, path);
	if (!ret)
		done(r, in, path);
	profile__free(out);
	return ret;
}

static int read_file(struct report_run *r, struct rec_read_info *in)
{
	char err[256] = "";
	int ret = rec_read__file(r->o->file, feed, r, in, err, sizeof(err));

	if (ret)
		return error("cannot read '%s': %s", r->o->file,
			     err[0] ? err : peeka_strerror(ret));
	if (in->damaged)
		warning("'%s': %s; rendering the %llu thread samples before it",
			r->o->file, in->damage, (unsigned long long)in->samples);
	if (!rec_collect__stats(r->coll)->kept)
		return error("no samples in '%s' match%s", r->o->file,
			     r->o->idle ? "" : " (all idle? try --idle)");
	return 0;
}

/* speedscope or Chrome trace: written while the recording is read. */
static int render_timeline(struct report_run *r, struct rec_read_info *in,
			   const char *path)
{
	struct render_timeline tl;
	/* The header is read before the first sample: the writer reads
	 * the pid and command line then. */
	struct render_timeline_opts to = { 0, in->cmdline, 0, &in->sys_path,
					   r->o->collect.full_filenames, 0 };
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return error_errno("cannot write '%s'", path);
	if (render_timeline__open(&tl, r->o->format, f,
				  rec_collect__profile(r->coll), &to, path)) {
		fclose(f);
		return -1;
	}
	r->tl = &tl;
	ret = read_file(r, in);
	to.rate = in->rate;
	to.start_unix_ns = in->start_unix_ns;
	if (render_timeline__finish(&tl, f, &to, path) && !ret)
		ret = -1;
	if (ret)
		unlink(path);
	else
		done(r, in, path);
	return ret;
}

/* Whether @out names the existing file @in (writing would destroy it). */
static bool same_file(const char *in, const char *out)
{
	struct stat a, b;

	return !stat(in, &a) && !stat(out, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int cmd_report(int argc, char **argv)
{
	struct report_opts o;
	struct report_run r = { &o, NULL, 0, NULL };
	struct rec_read_info in;
	struct profile *prof;
	char buf[4096];
	const char *path;
	int ret = parse(&o, argc, argv);

	if (ret)
		return ret < 0 ? CMD_OK : ret;
	path = o.output ? o.output : default_output(&o, buf, sizeof(buf));
	if (same_file(o.file, path))
		return error("'%s' is the recording itself: choose another -o", path),
		       CMD_FAILED;
	prof = profile__new();
	r.coll = prof ? rec_collect__new(prof, &o.collect) : NULL;
	if (!r.coll) {
		profile__free(prof);
		return error("out of memory"), CMD_FAILED;
	}
	memset(&in, 0, sizeof(in));
	if (render_is_timeline(o.format))
		ret = render_timeline(&r, &in, path);
	else if (!(ret = read_file(&r, &in)))
		ret = render(&o, &r, &in, path);
	rec_read_info__release(&in);
	rec_collect__free(r.coll);
	profile__free(prof);
	return ret ? CMD_FAILED : CMD_OK;
}
