/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Walking one thread's Python frames, innermost first, with the rules of
 * each version: frame objects (3.8-3.10), cframe (3.11-3.12),
 * current_frame (3.13+), shim and incomplete frames skipped (never ending
 * the walk), 3.14 tagged f_executable.
 */
#ifndef PEEKA_PY_FRAME_H
#define PEEKA_PY_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "py_code.h"
#include "py_proc.h"

/* The deepest stack walked; deeper ones end with PE_TOO_DEEP. */
#define PY_FRAME_MAX_DEPTH 4096

struct py_frame {
	const struct py_code *code;  /* borrowed from the code cache */
	int line;                    /* -1 when the address has no line */
	uint64_t addr;               /* frame object or interpreter frame */
	uint64_t localsplus;         /* remote address of the locals array */
	bool entry;                  /* the outermost frame one C-level call
				      * of the evaluator runs (every frame
				      * before 3.11): for native merging */
	uint64_t shim;               /* entry frames on 3.12+: the address
				      * of the shim frame before it, which
				      * lives in that call's C stack frame */
};

/*
 * Local copies of a thread's data-stack chunks (3.11+), so that a walk
 * reads the frames living there without one syscall per frame.  Owned by
 * the caller and reused across samples; release with py_frame_chunks__release.
 */
#define PY_FRAME_MAX_CHUNKS 4
#define PY_FRAME_CHUNK_MAX (1u << 20)

struct py_frame_chunks {
	size_t n;
	uint64_t addr[PY_FRAME_MAX_CHUNKS];
	size_t len[PY_FRAME_MAX_CHUNKS];
	unsigned char *buf[PY_FRAME_MAX_CHUNKS];
	size_t cap[PY_FRAME_MAX_CHUNKS];
	uint64_t hits, misses;   /* frames served locally / read remotely */
};

void py_frame_chunks__release(struct py_frame_chunks *fc);

/*
 * Walk the frames of the thread state at @tstate, whose first @tlen bytes
 * are in @tbuf.  Fills @out (capacity @cap) and *n.  Returns 0, or an
 * error after a partial walk (*n frames are valid): PE_TORN when a frame
 * changed under us, PE_CORRUPT on a cycle, PE_TOO_DEEP, -errno.
 */
int py_frame__walk(struct py_proc *pp, uint64_t tstate, const void *tbuf,
		   size_t tlen, struct py_frame *out, size_t cap, size_t *n);

/*
 * Like py_frame__walk, but on 3.11+ first copy the thread's current
 * data-stack chunk in one read into @fc (and older chunks when a frame
 * lies in one), then walk the frames in those copies.
 */
int py_frame__walk_chunked(struct py_proc *pp, const void *tbuf, size_t tlen,
			   struct py_frame_chunks *fc, struct py_frame *out,
			   size_t cap, size_t *n);

#endif
