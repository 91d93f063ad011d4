/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One recording: the fixed-rate loop that samples a target into a
 * profile until it is told to stop, the duration elapses or the target
 * exits, plus waiting for a launched program to start running CPython.
 * Prints nothing; progress goes to a callback.
 */
#ifndef PEEKA_RECORDER_H
#define PEEKA_RECORDER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile.h"
#include "py_proc.h"
#include "py_sys.h"
#include "rec_collect.h"
#include "rec_write.h"

struct native_unwinder;

struct recorder_opts {
	double rate;          /* Hz */
	double duration;      /* seconds; 0 = until stopped */
	bool subprocesses;    /* follow child Python processes */
	bool blocking;        /* stop each thread for the instant of its read */
	struct native_unwinder *native;  /* --native (borrowed), or NULL */
	struct rec_collect_opts collect;
	struct rec_write *raw;  /* borrowed: also stream every thread of every
				 * sample there (no thread is skipped) */
	/* Called for every sampled thread after the collector, with the
	 * profile stack it was counted in (UINT32_MAX: dropped); non-zero
	 * ends the recording with that error. */
	int (*observe)(void *ctx, uint64_t ts_ns, int pid,
		       const struct py_sample_thread *t, uint32_t stack);
	void *observe_ctx;
};

struct recorder_progress {
	double elapsed;
	uint64_t samples;     /* sampling ticks */
	uint64_t kept;        /* thread samples in the profile */
	uint64_t errors;      /* failed samples and torn stacks */
	uint64_t skipped;     /* deadlines skipped after an overrun */
	size_t threads;       /* threads in the last sample */
	double mean_us;       /* time one sample took: mean and worst */
	double max_us;
	unsigned processes;   /* child processes followed */
};

enum recorder_end {
	RECORDER_STOPPED,     /* asked to stop (signal) */
	RECORDER_DURATION,    /* --duration reached */
	RECORDER_EXITED,      /* the target exited */
};

typedef void (*recorder_progress_fn)(void *ctx,
				     const struct recorder_progress *p);

/*
 * Sample @pp into @prof at o->rate until *stop becomes non-zero, the
 * duration elapses or the target exits (@child: the launched program's
 * pid, reaped here with its status in *child_status; 0 when attached).
 * @progress is called about four times a second.  sys.path is read while
 * the target lives, into @sp, for short file names.  Returns the reason
 * it ended (>= 0) or a negative error (a failed write to o->raw among them).
 */
int recorder__run(struct py_proc *pp, pid_t child, struct profile *prof,
		  const struct recorder_opts *o, volatile sig_atomic_t *stop,
		  struct py_sys_path *sp, struct rec_collect **collect_out,
		  recorder_progress_fn progress, void *ctx,
		  struct recorder_progress *final, int *child_status);

/*
 * Wait until the launched @child runs an initialized CPython, then open
 * it into @pp.  Returns 0; -ESRCH when the child exited first (its status
 * in *child_status); -EINTR when *stop was set; or a fatal open error
 * (e.g. PE_UNSUPPORTED) with a message in @err.
 */
int recorder__wait_python(pid_t child, struct py_proc *pp,
			  volatile sig_atomic_t *stop, int *child_status,
			  char *err, size_t errlen);

#endif
