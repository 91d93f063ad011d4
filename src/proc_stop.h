/* SPDX-License-Identifier: Apache-2.0 */
/*
 * record --blocking: stopping one thread for the instant of a read, with
 * PTRACE_SEIZE + PTRACE_INTERRUPT, and letting it go with PTRACE_DETACH.
 * Only the one thread is stopped, never the whole process, and no thread
 * stays traced between two reads.  Signals that arrive meanwhile are
 * delivered, not lost.
 */
#ifndef PEEKA_PROC_STOP_H
#define PEEKA_PROC_STOP_H

/*
 * Stop thread @tid.  Returns 0 when it is stopped (then call
 * proc_stop__resume); -ESRCH when it has exited; -EAGAIN when it did not
 * stop within 20 ms (it is in the kernel's D state or frozen: it is let
 * go as soon as it stops, at a later call); or -errno (EPERM: ptrace not
 * allowed).  On failure nothing is left to undo.
 */
int proc_stop__stop(int tid);

/* Let a thread stopped by proc_stop__stop run again and stop tracing
 * it.  0 or -errno. */
int proc_stop__resume(int tid);

#endif
