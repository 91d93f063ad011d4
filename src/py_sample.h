/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Repeated, cheap snapshots of every thread's stack for the sampler.  State
 * kept between samples: thread names and native ids (refreshed only when a
 * new thread appears), open /proc stat files, data-stack chunk buffers and
 * the frame array, so that after warm-up a sample allocates nothing and its
 * cost grows only with the stacks.  Each sample replays the previous one's
 * read set in one vector read (proc_replay.h), so a steady stack costs one
 * process_vm_readv.  Never stops the target (unless blocking is asked for).
 */
#ifndef PEEKA_PY_SAMPLE_H
#define PEEKA_PY_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "py_frame.h"
#include "py_proc.h"

struct py_sample_thread {
	uint64_t tstate;
	uint64_t thread_id;
	int native_id;           /* 0 when unknown */
	const char *name;        /* borrowed; NULL when unknown */
	bool gil;
	bool active;             /* OS state R, or holding the GIL */
	char os_state;
	const struct py_frame *frames;  /* innermost first; valid in callback */
	size_t nframes;
	int err;                 /* PE_TORN etc.: frames are not usable */
	bool skipped;            /* not walked: filtered (py_sampler__set_skip) */
	/* Native mode (py_sampler__set_native): the thread's native stack,
	 * taken in the same stop as its Python frames. */
	const uint64_t *native_ips;  /* return addresses, innermost first */
	const uint64_t *native_sps;  /* and the stack pointers */
	size_t nnative;
	int native_err;          /* why there is no native stack, or 0 */
};

struct py_sample_stats {
	uint64_t samples;        /* calls to py_sample__take */
	uint64_t threads;        /* thread stacks read */
	uint64_t torn;           /* stacks dropped as torn or corrupt */
	uint64_t retries;        /* walks repeated after a torn read */
	uint64_t stop_failures;  /* --blocking: threads that could not stop */
	uint64_t stale_codes;    /* code objects re-read after address reuse */
	uint64_t name_refreshes;
	uint64_t skipped;        /* threads not walked: filtered out */
	uint64_t replay_hits;    /* reads served from the round's fetch */
	uint64_t replay_misses;  /* reads that went to the target */
	uint64_t native_failures;  /* threads not stopped or not unwound */
};

struct py_sampler;

struct py_sampler *py_sampler__new(struct py_proc *pp);
void py_sampler__free(struct py_sampler *s);

/* Called once per thread of a sample; return non-zero to stop. */
typedef int (*py_sample_fn)(void *ctx, const struct py_sample_thread *t);

/*
 * Take one sample of every thread.  Returns 0, or -ESRCH when the target
 * is gone, or another error when the interpreter could not be read at all.
 * Per-thread problems are reported in t->err and counted.
 */
int py_sampler__take(struct py_sampler *s, py_sample_fn fn, void *ctx);

const struct py_sample_stats *py_sampler__stats(const struct py_sampler *s);

/*
 * Blocking mode: stop each thread (PTRACE_SEIZE/INTERRUPT) for the
 * instant of its read, then release it.  Threads whose native id is not
 * known are read without stopping.
 */
void py_sampler__set_blocking(struct py_sampler *s, bool on);

/*
 * Native mode: every walked thread is stopped alone for the instant of
 * its native unwind (with @u) and Python walk, then released; the
 * callback gets both stacks.  NULL turns it off.  Borrowed.
 */
struct native_unwinder;
void py_sampler__set_native(struct py_sampler *s, struct native_unwinder *u);

/*
 * Which threads to walk.  A filtered thread is still passed to the
 * callback, with skipped set and no frames: its GIL and OS state are
 * known, so the caller can count it.
 */
enum py_sample_skip {
	PY_SKIP_NONE,
	PY_SKIP_IDLE,      /* walk only threads that run or hold the GIL */
	PY_SKIP_NOT_GIL,   /* walk only the GIL holder */
};

void py_sampler__set_skip(struct py_sampler *s, enum py_sample_skip skip);

/* Number of threads seen in the last sample. */
size_t py_sampler__nthreads(const struct py_sampler *s);

#endif
