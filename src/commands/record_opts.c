/* SPDX-License-Identifier: Apache-2.0 */
/* Option table and checks for `peeka record`. */
#include "record_opts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../opts.h"
#include "commands.h"

static const struct opt_usage record_usage = {
	"record",
	"(--pid PID | -- CMD [ARGS...]) [-o FILE]\n"
	"       [--format flamegraph|collapsed|raw|speedscope|chrometrace|pprof]\n"
	"       [--rate HZ] [--duration SECONDS] [--threads] [--idle] [--gil]\n"
	"       [--nolineno] [--full-filenames] [--function]\n"
	"       [--native [--native-all]]",
	"Sample the Python stacks of a running process, or of a program peeka\n"
	"starts, at a fixed rate, and write an interactive flame graph (SVG) or\n"
	"collapsed stacks (one 'root;...;leaf count' line per distinct stack,\n"
	"as flamegraph.pl, inferno and speedscope read them).\n"
	"\n"
	"peeka never stops the target: each sample is read from outside with\n"
	"process_vm_readv, and a stack that changes while it is read is\n"
	"detected, counted as an error and left out.  Samples are taken on\n"
	"absolute deadlines; when a sample overruns, the deadlines it missed\n"
	"are skipped and counted, never bunched.\n"
	"\n"
	"The recording ends on Ctrl-C (a second Ctrl-C aborts without output),\n"
	"SIGTERM, --duration, or when the target exits; then the output is\n"
	"written.  With -- CMD, peeka runs CMD, samples it from its first\n"
	"Python frame to its exit and exits with its status.\n"
	"\n"
	"With -o FILE.peeka (or --format raw) every sample of every thread,\n"
	"idle ones included, is streamed to a compressed recording (zstd,\n"
	"flushed every second, so a killed run keeps all but its last second);\n"
	"'peeka report' renders it later with any of these options.  speedscope\n"
	"writes one time-ordered profile per thread; chrometrace writes trace\n"
	"events (Perfetto, chrome://tracing) as it goes, so a killed run still\n"
	"loads; pprof writes a gzip'd profile.proto for go tool pprof, Pyroscope\n"
	"and Grafana.\n"
	"\n"
	"Frames read 'function (file:line)'.  File names are shown relative\n"
	"to the sys.path entry that holds them (json/decoder.py); samples of\n"
	"idle threads (not running and not holding the GIL) are dropped.\n"
	"\n"
	"--native adds native (C) frames, read 'function [module]': each\n"
	"sampled thread is stopped alone for the instant of its unwind\n"
	"(PTRACE_SEIZE + PTRACE_INTERRUPT, then released), its native stack\n"
	"unwound with libunwind and merged with its Python frames: each frame\n"
	"of the evaluator is replaced by the Python frames it runs, C\n"
	"extension and libc frames stay in place, and the interpreter's other\n"
	"frames are left out unless --native-all.  A sample whose stacks do\n"
	"not match keeps its Python frames and is counted in the summary.\n"
	"Idle threads are not stopped unless --idle.  --native writes flame\n"
	"graphs, collapsed stacks, speedscope, Chrome traces and pprof, not\n"
	"yet .peeka recordings, and does not follow --subprocesses.",
	"examples:\n"
	"  peeka record --pid 1234 --duration 30\n"
	"  peeka record -o profile.txt --rate 250 -- python app.py --port 8000\n"
	"  peeka record --pid 1234 --threads --idle -o all-threads.svg\n"
	"  peeka record --pid 1234 -o run.peeka; peeka report run.peeka -o run.svg\n"
	"\n"
	"exit status: 0 (or, with -- CMD, the program's status) on success,\n"
	"1 when the target cannot be read or nothing was recorded, 2 on a\n"
	"usage error.",
};

int record_opts__rate(const char *s, double *hz)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 1.0 || v > REC_RATE_MAX)
		return -EINVAL;
	*hz = v;
	return 0;
}

int record_opts__duration(const char *s, double *seconds)
{
	char *end;
	double v, mult = 1;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (!strcmp(end, "m") || !strcmp(end, "min"))
		mult = 60;
	else if (!strcmp(end, "h"))
		mult = 3600;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	if (errno || !isfinite(v) || v <= 0 || v * mult > 1e8)
		return -EINVAL;
	*seconds = v * mult;
	return 0;
}

int record_opts__format(const char *name, enum rec_format *f)
{
	if (!strcmp(name, "flamegraph") || !strcmp(name, "svg"))
		*f = REC_FORMAT_SVG;
	else if (!strcmp(name, "collapsed") || !strcmp(name, "folded"))
		*f = REC_FORMAT_COLLAPSED;
	else if (!strcmp(name, "raw") || !strcmp(name, "peeka"))
		*f = REC_FORMAT_RAW;
	else if (!strcmp(name, "speedscope"))
		*f = REC_FORMAT_SPEEDSCOPE;
	else if (!strcmp(name, "chrometrace") || !strcmp(name, "chrome"))
		*f = REC_FORMAT_CHROME;
	else if (!strcmp(name, "pprof"))
		*f = REC_FORMAT_PPROF;
	else
		return -EINVAL;
	return 0;
}

const char *record_opts__format_name(enum rec_format f)
{
	static const char *const names[] = {
		[REC_FORMAT_SVG] = "flamegraph",
		[REC_FORMAT_COLLAPSED] = "collapsed",
		[REC_FORMAT_RAW] = "raw",
		[REC_FORMAT_SPEEDSCOPE] = "speedscope",
		[REC_FORMAT_CHROME] = "chrometrace",
		[REC_FORMAT_PPROF] = "pprof",
	};

	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n > m && !strcmp(s + n - m, tail);
}

int record_opts__format_from_name(const char *path, enum rec_format *f)
{
	const char *dot = strrchr(path, '.');

	if (ends_with(path, ".speedscope.json")) {
		*f = REC_FORMAT_SPEEDSCOPE;
		return 0;
	}
	if (ends_with(path, ".pb.gz")) {
		*f = REC_FORMAT_PPROF;
		return 0;
	}

	if (!dot || strchr(dot, '/'))
		return -EINVAL;
	if (!strcmp(dot, ".svg"))
		*f = REC_FORMAT_SVG;
	else if (!strcmp(dot, ".txt") || !strcmp(dot, ".folded") ||
		 !strcmp(dot, ".collapsed"))
		*f = REC_FORMAT_COLLAPSED;
	else if (!strcmp(dot, ".peeka"))
		*f = REC_FORMAT_RAW;
	else if (!strcmp(dot, ".json"))
		*f = REC_FORMAT_CHROME;
	else if (!strcmp(dot, ".pprof"))
		*f = REC_FORMAT_PPROF;
	else
		return -EINVAL;
	return 0;
}

static int check(struct record_opts *o, const char *rate, const char *dur,
		 const char *format)
{
	if (!o->pid == !o->cmd)
		return opts_usage_error(&record_usage, o->pid
					? "give either --pid or -- CMD, not both"
					: "missing --pid PID or -- CMD"), CMD_USAGE;
	if (rate && record_opts__rate(rate, &o->rate))
		return opts_usage_error(&record_usage,
					"invalid rate '%s' (expected 1 to %.0f samples a second)",
					rate, REC_RATE_MAX), CMD_USAGE;
	if (dur && record_opts__duration(dur, &o->duration))
		return opts_usage_error(&record_usage,
					"invalid duration '%s' (expected seconds, e.g. 30, 1.5, 2m)",
					dur), CMD_USAGE;
	if (format && record_opts__format(format, &o->format))
		return opts_usage_error(&record_usage,
					"unknown format '%s' (expected flamegraph, collapsed, raw, speedscope, chrometrace or pprof)",
					format), CMD_USAGE;
	if (!format && o->output && record_opts__format_from_name(o->output, &o->format))
		o->format = REC_FORMAT_SVG;
	if (o->collect.function && o->collect.nolineno)
		return opts_usage_error(&record_usage,
					"--function and --nolineno exclude each other"),
		       CMD_USAGE;
	if (o->native_all)
		o->native = true;
	o->collect.native_all = o->native_all;
	if (o->native && o->format == REC_FORMAT_RAW)
		return opts_usage_error(&record_usage,
					"--native cannot be written to a .peeka recording yet; use a flame graph, collapsed, speedscope, chrometrace or pprof output"),
		       CMD_USAGE;
	if (o->native && o->subprocesses)
		return opts_usage_error(&record_usage,
					"--native does not follow --subprocesses yet"),
		       CMD_USAGE;
	return CMD_OK;
}

int record_opts__parse(struct record_opts *o, int argc, char **argv)
{
	const char *rate = NULL, *dur = NULL, *format = NULL;
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process to sample", &o->pid },
		{ "output", 'o', OPT_STRING, "FILE", "where to write (default peeka-PID-TIME.svg)", &o->output },
		{ "format", 'f', OPT_STRING, "FORMAT", "flamegraph (SVG), collapsed, raw (.peeka), speedscope, chrometrace or pprof; default from -o's extension (.svg, .txt, .peeka, .speedscope.json, .json, .pb.gz)", &format },
		{ "rate", 'r', OPT_STRING, "HZ", "samples per second (default 100, at most 100000)", &rate },
		{ "duration", 'd', OPT_STRING, "SECONDS", "stop after this long (default: until Ctrl-C or exit)", &dur },
		{ "threads", 't', OPT_FLAG, NULL, "add a root frame per thread: thread <native id> \"<name>\"", &o->collect.threads },
		{ "idle", 'i', OPT_FLAG, NULL, "keep samples of idle threads", &o->idle },
		{ "gil", 'g', OPT_FLAG, NULL, "keep only the samples of the thread holding the GIL", &o->gil },
		{ "nolineno", 0, OPT_FLAG, NULL, "no line numbers: one frame per function and file", &o->collect.nolineno },
		{ "function", 'F', OPT_FLAG, NULL, "aggregate by function (its first line) instead of line", &o->collect.function },
		{ "full-filenames", 0, OPT_FLAG, NULL, "show full file paths", &o->collect.full_filenames },
		{ "subprocesses", 's', OPT_FLAG, NULL, "also sample child Python processes, under a root frame process <pid> \"<cmdline>\"", &o->subprocesses },
		{ "blocking", 0, OPT_FLAG, NULL, "stop each Python thread for the instant of its read (ptrace)", &o->blocking },
		{ "native", 'n', OPT_FLAG, NULL, "add native (C) frames; stops each sampled thread for an instant", &o->native },
		{ "native-all", 0, OPT_FLAG, NULL, "with --native: keep the interpreter's own frames too", &o->native_all },
		{ "python-version", 0, OPT_PYVERSION, "X.Y", "use this CPython version's layout instead of detecting it", o->version },
		{ 0 },
	};
	int first;
	enum opts_result r;

	memset(o, 0, sizeof(*o));
	o->rate = 100;
	r = opts_parse(&record_usage, specs, argc, argv, &first);
	if (r == OPTS_HELP)
		o->help = true;
	if (r != OPTS_OK)
		return r == OPTS_HELP ? CMD_OK : CMD_USAGE;
	if (first < argc)
		o->cmd = argv + first;
	if (first < argc && strcmp(argv[first - 1], "--"))
		return opts_usage_error(&record_usage,
					"unexpected argument '%s' (put the command after --)",
					argv[first]), CMD_USAGE;
	o->collect.idle = o->idle;
	o->collect.gil_only = o->gil;
	return check(o, rate, dur, format);
}
