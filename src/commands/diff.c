/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka diff: compare two profiles (recordings or collapsed files) as a
 * differential flame graph or inferno's three-column collapsed format,
 * and print the functions whose share of the samples changed most.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../diag.h"
#include "../diff.h"
#include "../errors.h"
#include "../opts.h"
#include "../out_svg.h"
#include "../rec_collect.h"
#include "../rec_read.h"
#include "commands.h"
#include "record_opts.h"

static const struct opt_usage diff_usage = {
	"diff",
	"BEFORE AFTER [-o FILE] [--format flamegraph|collapsed] [--normalize]\n"
	"       [--top N] [--idle] [--gil] [--function] [--nolineno] [--full-filenames]",
	"Compare two profiles: recordings (.peeka) or collapsed stacks (as\n"
	"'peeka record -o x.txt', py-spy or inferno write them).  Stacks are\n"
	"matched by their frames' text.\n"
	"\n"
	"The flame graph has AFTER's shape; a frame is red where its own\n"
	"samples grew and blue where they shrank, deeper for larger changes,\n"
	"and its tooltip gives both counts and the change as a share of all\n"
	"samples.  --format collapsed writes inferno's differential format\n"
	"('stack before after' lines) instead.  --normalize scales BEFORE to\n"
	"AFTER's total first, so a longer or busier run does not colour\n"
	"everything.  The functions whose share of the samples changed most\n"
	"(samples with the function anywhere on the stack) are printed,\n"
	"largest change first (--top N, default 10).\n"
	"\n"
	"--idle, --gil, --function, --nolineno and --full-filenames apply to\n"
	"recordings, as in 'peeka report'.",
	"examples:\n"
	"  peeka diff before.peeka after.peeka -o diff.svg\n"
	"  peeka diff old.txt new.txt --normalize --format collapsed -o d.txt\n"
	"\n"
	"exit status: 0 on success, 1 when an input cannot be read or the\n"
	"output written, 2 on a usage error.",
};

struct diff_opts {
	const char *in[2], *output, *format, *top;
	enum rec_format fmt;
	unsigned ntop;
	bool normalize, idle, gil;
	struct rec_collect_opts collect;
};

static int parse(struct diff_opts *o, int argc, char **argv)
{
	const struct opt_spec specs[] = {
		{ "output", 'o', OPT_STRING, "FILE", "where to write (default peeka-diff.svg, or .txt)", &o->output },
		{ "format", 'f', OPT_STRING, "FORMAT", "flamegraph (SVG) or collapsed (three columns)", &o->format },
		{ "normalize", 'n', OPT_FLAG, NULL, "scale BEFORE to AFTER's total sample count", &o->normalize },
		{ "top", 0, OPT_STRING, "N", "print the N largest changes (default 10, 0: none)", &o->top },
		{ "idle", 'i', OPT_FLAG, NULL, "recordings: keep idle threads", &o->idle },
		{ "gil", 'g', OPT_FLAG, NULL, "recordings: only the GIL holder", &o->gil },
		{ "function", 'F', OPT_FLAG, NULL, "recordings: one frame per function", &o->collect.function },
		{ "nolineno", 0, OPT_FLAG, NULL, "recordings: no line numbers", &o->collect.nolineno },
		{ "full-filenames", 0, OPT_FLAG, NULL, "recordings: full file paths", &o->collect.full_filenames },
		{ 0 },
	};
	int nin = 0;
	enum opts_result r;

	memset(o, 0, sizeof(*o));
	o->ntop = 10;
	r = opts_parse_operands(&diff_usage, specs, argc, argv, o->in, 2, &nin);
	if (r != OPTS_OK)
		return r == OPTS_HELP ? -1 : CMD_USAGE;
	if (nin < 2)
		return opts_usage_error(&diff_usage, "expected two inputs: BEFORE AFTER"),
		       CMD_USAGE;
	o->fmt = REC_FORMAT_SVG;
	if (o->format && (record_opts__format(o->format, &o->fmt) ||
			  (o->fmt != REC_FORMAT_SVG && o->fmt != REC_FORMAT_COLLAPSED)))
		return opts_usage_error(&diff_usage,
					"unknown format '%s' (expected flamegraph or collapsed)",
					o->format), CMD_USAGE;
	if (!o->format && o->output &&
	    record_opts__format_from_name(o->output, &o->fmt))
		o->fmt = REC_FORMAT_SVG;
	if (o->fmt != REC_FORMAT_SVG && o->fmt != REC_FORMAT_COLLAPSED)
		return opts_usage_error(&diff_usage,
					"'%s': diff writes a flame graph (.svg) or collapsed stacks (.txt)",
					o->output), CMD_USAGE;
	if (o->top && opts_parse_uint(o->top, &o->ntop))
		return opts_usage_error(&diff_usage, "invalid --top '%s'", o->top),
		       CMD_USAGE;
	if (o->collect.function && o->collect.nolineno)
		return opts_usage_error(&diff_usage,
					"--function and --nolineno exclude each other"),
		       CMD_USAGE;
	o->collect.idle = o->idle;
	o->collect.gil_only = o->gil;
	return CMD_OK;
}

static int feed(void *ctx, const struct rec_read_sample *s)
{
	rec_collect__set_process(ctx, s->process);
	return rec_collect__thread(ctx, &s->t);
}

static int load_recording(struct diff *d, enum diff_side side,
			  const struct diff_opts *o)
{
	struct profile *prof = profile__new(), *done = NULL;
	struct rec_collect *c = prof ? rec_collect__new(prof, &o->collect) : NULL;
	struct rec_read_info in;
	char err[256] = "";
	int ret = c ? 0 : -ENOMEM;

	memset(&in, 0, sizeof(in));
	if (!ret && (ret = rec_read__file(o->in[side], feed, c, &in, err, sizeof(err))))
		error("cannot read '%s': %s", o->in[side], err[0] ? err : peeka_strerror(ret));
	else if (!ret && in.damaged)
		warning("'%s': %s; using the %llu thread samples before it",
			o->in[side], in.damage, (unsigned long long)in.samples);
	if (!ret && !(done = rec_collect__finish(c, &in.sys_path)))
		ret = error("out of memory");
	if (!ret && diff__add_profile(d, side, done))
		ret = error("out of memory");
	rec_read_info__release(&in);
	profile__free(done);
	rec_collect__free(c);
	profile__free(prof);
	return ret ? -1 : 0;
}

static int load(struct diff *d, enum diff_side side, const struct diff_opts *o)
{
	const char *path = o->in[side];
	size_t bad;
	FILE *f;
	int ret;

	if (rec_read__is_recording(path))
		return load_recording(d, side, o);
	f = fopen(path, "r");
	if (!f)
		return error_errno("cannot read '%s'", path);
	ret = diff__add_collapsed(d, side, f, &bad);
	fclose(f);
	if (ret == -EINVAL)
		return error("'%s' line %zu: not collapsed stacks ('frame;frame;... count')"
			     " and the file is not a peeka recording", path, bad);
	if (ret)
		return error_code(ret, "cannot read '%s'", path);
	if (!d->total[side])
		return error("'%s' holds no samples", path);
	return 0;
}

static uint64_t before_self(void *ctx, const uint32_t *frames, size_t n)
{
	return diff__before_of(ctx, frames, n);
}

static int write_output(struct diff *d, const struct diff_opts *o,
			const char *path)
{
	char title[512], sub[512];
	struct out_svg_opts so = { 0 };
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return error_errno("cannot write '%s'", path);
	if (o->fmt == REC_FORMAT_COLLAPSED) {
		ret = diff__write_collapsed(d, f);
	} else {
		snprintf(title, sizeof(title), "Differential: %s vs %s", o->in[1], o->in[0]);
		snprintf(sub, sizeof(sub),
			 "width: after (%llu samples); red: own samples grew, blue: shrank "
			 "(before: %llu samples%s)",
			 (unsigned long long)d->total[DIFF_AFTER],
			 (unsigned long long)d->total[DIFF_BEFORE],
			 o->normalize ? ", normalised" : "");
		so.title = title;
		so.subtitle = sub;
		so.before_self = before_self;
		so.before_ctx = d;
		ret = out_svg__write(d->p, f, &so);
	}
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret == -ENODATA)
		return error("'%s' holds no samples: nothing to draw", o->in[1]);
	if (ret)
		return error_code(ret, "cannot write '%s'", path);
	return 0;
}

static void summary(const struct diff *d, const struct diff_opts *o)
{
	struct diff_change *c;
	size_t n;

	printf("before: %llu samples (%s); after: %llu samples (%s)%s\n",
	       (unsigned long long)d->total[DIFF_BEFORE], o->in[0],
	       (unsigned long long)d->total[DIFF_AFTER], o->in[1],
	       o->normalize ? "; before normalised" : "");
	if (!o->ntop || diff__changes(d, &c, &n))
		return;
	printf("largest changes (share of samples with the function on the stack):\n");
	printf("   change   before    after  function\n");
	for (size_t i = 0; i < n && i < o->ntop; i++) {
		if (c[i].after_pct == c[i].before_pct)
			break;
		printf("%+8.2f%% %7.2f%% %7.2f%%  %s\n",
		       c[i].after_pct - c[i].before_pct, c[i].before_pct,
		       c[i].after_pct, c[i].function);
	}
	diff__changes_free(c, n);
}

int cmd_diff(int argc, char **argv)
{
	struct diff_opts o;
	struct diff d;
	const char *path;
	int ret = parse(&o, argc, argv);

	if (ret)
		return ret < 0 ? CMD_OK : ret;
	path = o.output ? o.output
	       : o.fmt == REC_FORMAT_COLLAPSED ? "peeka-diff.txt" : "peeka-diff.svg";
	if (diff__init(&d))
		return error("out of memory"), CMD_FAILED;
	ret = load(&d, DIFF_BEFORE, &o);
	if (!ret)
		ret = load(&d, DIFF_AFTER, &o);
	if (!ret && o.normalize)
		diff__normalize(&d);
	if (!ret)
		ret = write_output(&d, &o, path);
	if (!ret) {
		summary(&d, &o);
		fprintf(stderr, "peeka: wrote %s\n", path);
	}
	diff__release(&d);
	return ret ? CMD_FAILED : CMD_OK;
}
