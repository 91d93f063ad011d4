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
};

/*
 * Walk the frames of the thread state at @tstate, whose first @tlen bytes
 * are in @tbuf.  Fills @out (capacity @cap) and *n.  Returns 0, or an
 * error after a partial walk (*n frames are valid): PE_TORN when a frame
 * changed under us, PE_CORRUPT on a cycle, PE_TOO_DEEP, -errno.
 */
int py_frame__walk(struct py_proc *pp, uint64_t tstate, const void *tbuf,
		   size_t tlen, struct py_frame *out, size_t cap, size_t *n);

#endif
