/* SPDX-License-Identifier: Apache-2.0 */
/* Per-thread ptrace stop and release for blocking reads. */
#include "proc_stop.h"

#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/* Wait until @tid reports a stop; deliver signals that get in the way. */
static int wait_stopped(int tid)
{
	for (int i = 0; i < 64; i++) {
		int st;
		pid_t r = waitpid(tid, &st, __WALL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return -ESRCH;
		if (!WIFSTOPPED(st))
			continue;
		if ((st >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* A signal-delivery stop came first: deliver it and keep
		 * waiting for our interrupt. */
		if (ptrace(PTRACE_CONT, tid, 0, (void *)(long)WSTOPSIG(st)))
			return -errno;
	}
	return -EAGAIN;
}

int proc_stop__stop(int tid)
{
	int ret;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0))
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0)) {
		ret = -errno;
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return ret;
	}
	return wait_stopped(tid);
}

int proc_stop__resume(int tid)
{
	if (ptrace(PTRACE_DETACH, tid, 0, 0) == 0)
		return 0;
	/* Not in a stop (it exited, or never stopped): nothing to undo, but
	 * make sure it is not left traced. */
	if (errno == ESRCH) {
		ptrace(PTRACE_INTERRUPT, tid, 0, 0);
		if (!wait_stopped(tid))
			ptrace(PTRACE_DETACH, tid, 0, 0);
		return 0;
	}
	return -errno;
}
