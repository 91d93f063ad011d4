/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A snapshot of every Python thread of a process: interpreters, thread
 * states, their frames, names (threading._active), native thread ids,
 * the GIL holder and the OS state.  Read-only; never stops the target.
 */
#ifndef PEEKA_PY_THREAD_H
#define PEEKA_PY_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "py_frame.h"
#include "py_proc.h"

#define PY_THREAD_NAME_MAX 256
#define PY_MAX_THREADS 4096
#define PY_MAX_INTERPS 256

struct py_thread {
	uint64_t tstate;
	uint64_t interp;
	int64_t interp_id;
	uint64_t thread_id;      /* threading.get_ident() */
	int native_id;           /* OS thread id; 0 when unknown */
	char name[PY_THREAD_NAME_MAX];
	bool has_name;
	bool gil;                /* holds the GIL of its interpreter */
	bool active;             /* running (OS state R) or holding the GIL */
	char os_state;           /* from /proc/…/stat; '?' when unknown */
	struct py_frame *frames; /* innermost first; owned */
	size_t nframes;
	int err;                 /* frame walk error (frames are partial) */
};

struct py_snapshot {
	struct py_thread *threads;  /* oldest first: the main thread leads */
	size_t n;
	int *ns_host, *ns_tid;      /* thread ids across PID namespaces */
	size_t nns;                 /* 0: the target shares our namespace */
	size_t ninterps;
	bool gil_enabled;           /* false on a free-threaded build */
	bool truncated;             /* more than PY_MAX_THREADS threads */
};

enum py_snapshot_flags {
	PY_SNAP_FRAMES = 1 << 0,
	PY_SNAP_NAMES = 1 << 1,
};

/*
 * Take a snapshot.  Returns 0 (per-thread problems are in thread->err), or
 * an error when the interpreter list itself cannot be read.
 */
int py_snapshot__take(struct py_proc *pp, struct py_snapshot *s,
		      unsigned flags);
void py_snapshot__release(struct py_snapshot *s);

/*
 * py_snapshot__take, repeated (up to @attempts times) while the running
 * target tears a stack under the read.  The last attempt is kept.
 */
int py_snapshot__take_settled(struct py_proc *pp, struct py_snapshot *s,
			      unsigned flags, int attempts);

/*
 * Whether the thread state at @tstate (first @len bytes in @buf) holds
 * the GIL, given the interpreter's holder @holder (0 when released).
 */
bool py_thread__holds_gil(const struct py_layout *l, const void *buf,
			  size_t len, uint64_t tstate, uint64_t holder);

/* Where interpreter @interp's GIL struct is (stable for its life). */
int py_thread__gil_struct(struct py_proc *pp, uint64_t interp, uint64_t *gil);

/* The holder of the GIL at @gil (one read), or 0 when it is released. */
int py_thread__gil_read(struct py_proc *pp, uint64_t gil, uint64_t *tstate);

/* The GIL holder's thread state in interpreter @interp, or 0. */
int py_thread__gil_holder(struct py_proc *pp, uint64_t interp,
			  uint64_t *tstate, bool *enabled);

#endif
