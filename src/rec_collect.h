/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Turns sampled threads into profile stacks, applying the recording
 * options: idle and GIL filters, per-thread root frames, function or line
 * granularity, short or full file names, and frame classes for colouring.
 */
#ifndef PEEKA_REC_COLLECT_H
#define PEEKA_REC_COLLECT_H

#include <stdbool.h>
#include <stdint.h>

#include "native_sym.h"
#include "profile.h"
#include "py_sample.h"
#include "py_sys.h"

struct rec_collect_opts {
	bool idle;            /* keep samples of idle threads */
	bool gil_only;        /* keep only the GIL holder's samples */
	bool threads;         /* a root frame per thread */
	bool function;        /* aggregate by function (first line) */
	bool nolineno;        /* no line numbers at all */
	bool full_filenames;  /* do not shorten file names */
	const char *process_frame;  /* a root frame above threads, or NULL */
	/* --native: merge each sample's native stack (borrowed symbols) */
	struct native_sym *native_sym;
	bool native_all;      /* keep the interpreter's own native frames */
};

struct rec_collect_stats {
	uint64_t kept;        /* thread samples added to the profile */
	uint64_t idle;        /* dropped: idle */
	uint64_t not_gil;     /* dropped: not holding the GIL (--gil) */
	uint64_t torn;        /* dropped: torn or unreadable stack */
	uint64_t empty;       /* dropped: no Python frame */
	uint64_t native_merged;    /* --native: stacks merged */
	uint64_t native_failed;    /* … kept with Python frames only: the
				    * stacks did not match */
	uint64_t native_missing;   /* … no native stack (not stopped or not
				    * unwound) */
};

struct rec_collect;

/*
 * Frames are interned with full file names and class PROF_APP; once
 * sys.path is known, rec_collect__finish() shortens and classifies them.
 * Borrowed: @prof.
 */
struct rec_collect *rec_collect__new(struct profile *prof,
				     const struct rec_collect_opts *o);

/*
 * The profile to render: @prof with file names shortened (unless
 * full_filenames) and frames classified with @sp (may be NULL).  A new
 * profile, or NULL when out of memory.
 */
struct profile *rec_collect__finish(const struct rec_collect *c,
				    const struct py_sys_path *sp);
void rec_collect__free(struct rec_collect *c);

/* A py_sample_fn: add one thread's stack.  @ctx is the rec_collect. */
int rec_collect__thread(void *ctx, const struct py_sample_thread *t);

const struct rec_collect_stats *rec_collect__stats(const struct rec_collect *c);

/*
 * The profile stack id the last rec_collect__thread call added a sample
 * to, or UINT32_MAX when it dropped the thread: for writers that keep
 * samples in time order (speedscope, Chrome trace).
 */
uint32_t rec_collect__last_stack(const struct rec_collect *c);

/* Change the root frame above threads (NULL: none) for the next
 * samples: a replayed recording's samples come from several processes. */
void rec_collect__set_process(struct rec_collect *c, const char *label);

/* The profile being filled (borrowed): frames keep full file names. */
struct profile *rec_collect__profile(const struct rec_collect *c);

/* The threads a sampler need not walk for these options. */
enum py_sample_skip rec_collect__skip(const struct rec_collect_opts *o);

/* The class of a file name (full path as the interpreter holds it). */
enum prof_class rec_collect__classify(const struct py_sys_path *sp,
				      const char *file);

#endif
