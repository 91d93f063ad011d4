/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GIL ownership over time, for `peeka gil`: per sample, which thread holds
 * the main interpreter's GIL and which threads wait for it (blocked in
 * futex() on the GIL struct, read from /proc/PID/task/TID/syscall through
 * kept-open files), counted per thread; the holder's stack goes into a
 * profile.  Read-only: nothing is stopped or written.
 */
#ifndef PEEKA_GIL_WATCH_H
#define PEEKA_GIL_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "py_gil.h"
#include "py_proc.h"
#include "py_thread.h"
#include "rec_collect.h"

struct gil_watch_thread {
	uint64_t thread_id;
	int native_id;            /* 0 when unknown */
	char name[PY_THREAD_NAME_MAX];
	bool has_name;
	uint64_t seen;            /* samples in which the thread existed */
	uint64_t held;            /* … and held the GIL */
	uint64_t waiting;         /* … and waited for it */
	int sc_fd;                /* /proc/PID/task/TID/syscall, or -1 */
	uint64_t stamp;           /* the sample that saw it last */
	bool p_held, p_waiting;   /* this sample's, until it succeeds */
};

struct gil_watch_totals {
	uint64_t samples;         /* samples read whole (the denominator) */
	uint64_t held;            /* … in which some thread held the GIL */
	uint64_t failed;          /* samples that could not be read */
	uint64_t waiting_threads; /* thread samples found waiting */
	uint64_t syscall_unread;  /* thread samples whose syscall was unreadable */
};

struct gil_watch;

/* @coll receives the holder's stacks (borrowed; may be NULL). */
struct gil_watch *gil_watch__new(struct py_proc *pp, const struct py_gil *g,
				 struct rec_collect *coll);
void gil_watch__free(struct gil_watch *w);

/* One sample.  Returns 0, or -ESRCH when the target is gone. */
int gil_watch__sample(struct gil_watch *w);

/*
 * Every thread seen so far, in order of appearance.  A thread id that
 * comes back with another native id (pthread_t reuse) is a new entry.
 */
const struct gil_watch_thread *gil_watch__threads(const struct gil_watch *w,
						  size_t *n);
const struct gil_watch_totals *gil_watch__totals(const struct gil_watch *w);

#endif
