/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Output formats, shared by record and report: the aggregated ones
 * (flame graph, collapsed) from a finished profile, and the time-ordered
 * ones (speedscope, Chrome trace) and pprof from every kept sample as it
 * comes.
 */
#ifndef PEEKA_RENDER_H
#define PEEKA_RENDER_H

#include <stdio.h>

#include "../profile.h"
#include "../py_sample.h"
#include "../py_sys.h"
#include "record_opts.h"

/*
 * Write @prof to @f as @fmt (flame graph or collapsed) and close @f.
 * Prints one error line naming @path on failure.  Returns 0 or -1.
 */
int render_profile(struct profile *prof, FILE *f, enum rec_format fmt,
		   const char *path);

struct out_speedscope;
struct out_chrome;
struct out_pprof;

/* The state of a time-ordered output while samples come in. */
struct render_timeline {
	enum rec_format fmt;
	const struct profile *prof;      /* the collector's profile */
	struct out_speedscope *ss;
	struct out_chrome *ch;
	struct out_pprof *pp;
	uint64_t now;                    /* the last sample's time */
};

struct render_timeline_opts {
	int pid;
	const char *name;                /* command line */
	double rate;
	const struct py_sys_path *sp;    /* borrowed, may fill in later */
	bool full_filenames;
	uint64_t start_unix_ns;          /* pprof's time_nanos */
};

/*
 * Start @fmt (speedscope or chrometrace) into @f for samples counted in
 * @prof.  Returns 0, or -1 after an error line naming @path.
 */
int render_timeline__open(struct render_timeline *r, enum rec_format fmt,
			  FILE *f, const struct profile *prof,
			  const struct render_timeline_opts *o,
			  const char *path);

/* A sampled thread (stack: its profile stack, UINT32_MAX if dropped). */
int render_timeline__sample(void *ctx, uint64_t ts_ns, int pid,
			    const struct py_sample_thread *t, uint32_t stack);

/* Finish the output and close @f.  0, or -1 after an error line. */
int render_timeline__finish(struct render_timeline *r, FILE *f,
			    const struct render_timeline_opts *o,
			    const char *path);

/* Whether @fmt is fed sample by sample (render_timeline). */
static inline bool render_is_timeline(enum rec_format fmt)
{
	return fmt == REC_FORMAT_SPEEDSCOPE || fmt == REC_FORMAT_CHROME ||
	       fmt == REC_FORMAT_PPROF;
}

#endif
