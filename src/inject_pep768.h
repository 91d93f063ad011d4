/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPython 3.14+: ask the interpreter itself to run a script file (PEP 768,
 * what sys.remote_exec does), with process_vm_writev and no ptrace: the
 * script path and the pending flag go into a thread state, and the
 * eval-breaker bit makes that thread run it at its next check.  Offsets
 * come from the target's _Py_DebugOffsets.
 */
#ifndef PEEKA_INJECT_PEP768_H
#define PEEKA_INJECT_PEP768_H

#include <stddef.h>
#include <stdint.h>

#include "py_proc.h"

/*
 * Whether the target accepts PEP 768 requests.  Returns 1, or 0 with the
 * reason (and how to enable it) in @why; a negative error when it cannot
 * tell (not 3.14+, unreadable).
 */
int inject_pep768__enabled(struct py_proc *pp, char *why, size_t len);

/*
 * Ask the thread whose state is at @tstate to run the script at @path (as
 * the target sees it; the file must stay until it has run).  Returns 0,
 * or an error with one line in @err.
 */
int inject_pep768__request(struct py_proc *pp, uint64_t tstate,
			   const char *path, char *err, size_t errlen);

/*
 * Withdraw a request to the thread state at @tstate that has not run yet
 * (its pending flag, when still 1, back to 0; the eval-breaker bit is
 * harmless).  The caller must know @tstate is alive (a fresh thread
 * list).  0 or an error.
 */
int inject_pep768__cancel(struct py_proc *pp, uint64_t tstate);

#endif
