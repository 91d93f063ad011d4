/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One thread's native and Python stacks taken together, and merged.
 *
 * Capture: stop the one thread (PTRACE_SEIZE + PTRACE_INTERRUPT), unwind
 * it, read its Python frames while it cannot move, let it go.  Reading the
 * Python frames inside the stop (rather than after it) makes the two
 * stacks describe the same instant, so a busy thread still merges.
 *
 * Merge: each native frame of the evaluator (_PyEval_EvalFrameDefault)
 * is replaced by the Python frames that call runs (one before 3.11; from
 * an entry frame to the next on 3.11+), in order; other native frames
 * stay where they are, except the interpreter's own, which are dropped
 * unless all are asked for.  When the numbers of evaluator frames and of
 * frame groups differ, the merge fails and the Python frames stand alone.
 */
#ifndef PEEKA_NATIVE_STACK_H
#define PEEKA_NATIVE_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "native_sym.h"
#include "native_unwind.h"
#include "py_frame.h"
#include "py_proc.h"

struct native_entry {
	const struct py_frame *py;           /* a Python frame, or NULL */
	const struct native_sym_info *sym;   /* a native frame's symbol */
	uint64_t ip;
};

/* Merges that failed, and why, for the run's summary. */
struct native_merge_stats {
	uint64_t merged, failed;
	uint64_t by_stack;    /* evaluator found by the shim frames */
};

/*
 * Capture thread @tid (whose thread state is at @tstate): its return
 * addresses into @ips and its Python frames into @py.  Returns 0; or
 * -ESRCH when the thread is gone; or another error when it could not be
 * stopped or unwound (then *npy Python frames were still read, without a
 * stop, when possible).  *py_err gets the Python walk's own result.
 * @fc (may be NULL): chunk buffers for py_frame__walk_chunked, kept by
 * a sampler from one sample to the next.
 */
int native_stack__capture(struct py_proc *pp, struct native_unwinder *u,
			  int tid, uint64_t tstate, uint64_t *ips,
			  uint64_t *sps, size_t ipcap, size_t *nips,
			  struct py_frame_chunks *fc, struct py_frame *py,
			  size_t pycap, size_t *npy, int *py_err);

/*
 * Merge @ips (innermost first, with their stack pointers @sps) with @py
 * (innermost first) into @out (innermost first, at most @cap).  @all
 * keeps the interpreter's own frames.  The evaluator's frames are known
 * by their symbol; where it has none (a stripped static build), on 3.12+
 * by the stack: the shim frame each evaluator call pushes lives in that
 * call's C stack frame.  Returns 0, or PE_NATIVE_MERGE with @out holding
 * the Python frames only.
 */
int native_stack__merge(struct native_sym *sym, const uint64_t *ips,
			const uint64_t *sps, size_t nips,
			const struct py_frame *py, size_t npy, bool all,
			struct native_entry *out, size_t cap, size_t *n);

#endif
