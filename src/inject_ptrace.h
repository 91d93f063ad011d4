/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running a string of Python code in a CPython 3.8+ process through a
 * ptrace remote call on one of its threads (x86-64 Linux), for the agent
 * commands.  Only the chosen thread is stopped; every register (general
 * and extended state) is saved and restored exactly; memory comes from a
 * remote mmap issued through a syscall instruction already in the target
 * (no code is written); signals that arrive meanwhile are deferred and
 * delivered afterwards; peeka's own SIGINT/SIGTERM/SIGHUP wait until the
 * thread is restored.  Functions are taken from the target's own
 * interpreter symbols only.
 *
 * Two ways (agent.md 5.3):
 *  - INJECT_PENDING_CALL, on the main thread: Py_AddPendingCall(
 *    PyRun_SimpleString, code); the code runs at the main thread's next
 *    eval-breaker check, with the GIL, in a consistent state.
 *  - INJECT_GILSTATE, on a thread blocked with the GIL released:
 *    PyGILState_Ensure, PyRun_SimpleString(code), PyGILState_Release,
 *    run synchronously.
 */
#ifndef PEEKA_INJECT_PTRACE_H
#define PEEKA_INJECT_PTRACE_H

#include <stddef.h>
#include <stdint.h>

#include "py_proc.h"

enum inject_way {
	INJECT_PENDING_CALL,
	INJECT_GILSTATE,
};

struct inject_syms {
	uint64_t add_pending_call;   /* Py_AddPendingCall */
	uint64_t run_simple_string;  /* PyRun_SimpleString */
	uint64_t gil_ensure;         /* PyGILState_Ensure */
	uint64_t gil_release;        /* PyGILState_Release */
};

/* The functions, from the interpreter's ELF symbols.  0 or an error. */
int inject__resolve(struct py_proc *pp, struct inject_syms *s, char *err,
		    size_t errlen);

/*
 * Checks that need no ptrace: not already traced, not stopped by job
 * control, interpreter initialized.  Returns 0, or an error with one line
 * in @err.
 */
int inject__preflight(struct py_proc *pp, char *err, size_t errlen);

/*
 * Run @code (at most 4000 bytes) on thread @tid by @way.  A pending call
 * is cut short after 30 s; a PyGILState call, once started, is waited for
 * however long it takes (interrupting it inside the GIL's locks could
 * deadlock the process), so run it where the caller may stop waiting
 * (agent_attach runs it in a child process).  *rc gets the
 * call's result: Py_AddPendingCall's (0 = queued) or PyRun_SimpleString's
 * (0 = ran without an exception).  Returns 0 when the call was made and
 * the thread restored, or an error with one line in @err; the thread is
 * restored and released in every case.
 */
int inject__run(struct py_proc *pp, const struct inject_syms *s, int tid,
		enum inject_way way, const char *code, int *rc, char *err,
		size_t errlen);

/*
 * Called (when set) at each step of inject__run with its name: "stopped",
 * "saved", "syscall" (the remote mmap runs), "call" (a remote call runs),
 * "restore".  For tests that kill peeka at each step.
 */
extern void (*inject__step_hook)(const char *step);

#endif
