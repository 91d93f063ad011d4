/* SPDX-License-Identifier: Apache-2.0 */
/* Per-thread ptrace stop and release for blocking reads. */
#include "proc_stop.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include "rec_clock.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

#define STOP_WAIT_NS 20000000ULL   /* how long a thread may take to stop */
#define MAX_PENDING 4096

/*
 * Threads seized and interrupted that did not stop in time (in the
 * kernel's D state, frozen by a cgroup): they will stop when they can,
 * and must then be let go at once.  Checked before every stop.
 */
static int pending[MAX_PENDING];
static size_t npending;

/*
 * One look at @tid's state change.  Returns 1 when it is in our
 * interrupt stop, 0 when nothing happened yet, -ESRCH when it exited,
 * -errno otherwise.  A signal that got in first is delivered.
 */
static int poll_stop(int tid)
{
	int st;
	pid_t r = waitpid(tid, &st, __WALL | WNOHANG);

	if (r == 0)
		return 0;
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (WIFEXITED(st) || WIFSIGNALED(st))
		return -ESRCH;
	if (!WIFSTOPPED(st))
		return 0;
	if ((st >> 16) == PTRACE_EVENT_STOP)
		return 1;
	/* A signal-delivery stop came first: deliver it, wait on. */
	if (ptrace(PTRACE_CONT, tid, 0, (void *)(long)WSTOPSIG(st)))
		return -errno;
	return 0;
}

/* Wait (a bounded time) until @tid reports our stop. */
static int wait_stopped(int tid)
{
	uint64_t deadline = rec_clock__now() + STOP_WAIT_NS;
	struct timespec nap = { 0, 20000 };

	for (;;) {
		int ret = poll_stop(tid);

		if (ret)
			return ret > 0 ? 0 : ret;
		if (rec_clock__now() > deadline)
			return -EAGAIN;
		nanosleep(&nap, NULL);
	}
}

/* Let go of the threads that stopped late. */
static void release_pending(void)
{
	for (size_t i = 0; i < npending;) {
		int ret = poll_stop(pending[i]);

		if (ret == 0) {
			i++;
			continue;
		}
		if (ret > 0)
			ptrace(PTRACE_DETACH, pending[i], 0, 0);
		pending[i] = pending[--npending];
	}
}

int proc_stop__stop(int tid)
{
	int ret;

	if (npending)
		release_pending();
	if (ptrace(PTRACE_SEIZE, tid, 0, 0))
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0)) {
		ret = -errno;
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return ret;
	}
	ret = wait_stopped(tid);
	if (ret == -EAGAIN) {
		/* Not stopped yet: it will be, later; remember to let it go.
		 * If the list is full, wait for it without a bound rather
		 * than risk leaving it stopped. */
		if (npending < MAX_PENDING)
			pending[npending++] = tid;
		else while ((ret = poll_stop(tid)) == 0)
			;
		if (ret > 0)
			ptrace(PTRACE_DETACH, tid, 0, 0);
		return -EAGAIN;
	}
	if (ret)
		ptrace(PTRACE_DETACH, tid, 0, 0);
	return ret;
}

int proc_stop__resume(int tid)
{
	if (ptrace(PTRACE_DETACH, tid, 0, 0) == 0)
		return 0;
	/* ESRCH: the thread exited while stopped; nothing to undo. */
	return errno == ESRCH ? 0 : -errno;
}
