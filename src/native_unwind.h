/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote native unwinding with libunwind-ptrace: the return addresses of
 * one stopped thread, innermost first.  libunwind's ptrace accessors find
 * the unwind tables (.eh_frame_hdr of the mapped ELF files); memory is
 * read with process_vm_readv through a page cache instead of one
 * PTRACE_PEEKDATA per word (read-only pages stay cached across unwinds,
 * stack pages only for one), and the registers with one PTRACE_GETREGS.
 * The caller stops the thread (proc_stop.h) and resumes it.
 */
#ifndef PEEKA_NATIVE_UNWIND_H
#define PEEKA_NATIVE_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#define NATIVE_MAX_DEPTH 512

struct native_unwinder;

/* For process @pid.  NULL when out of memory. */
struct native_unwinder *native_unwind__new(int pid);
void native_unwind__free(struct native_unwinder *u);

/*
 * Unwind thread @tid (stopped by the caller) into @ips and @sps, each
 * frame's instruction and stack pointer (innermost first, at most @cap).
 * Returns 0, or -errno / a negative libunwind error when not even the
 * first frame could be read; a stack that cannot be unwound further ends
 * early.
 */
int native_unwind__thread(struct native_unwinder *u, int tid, uint64_t *ips,
			  uint64_t *sps, size_t cap, size_t *n);


#endif
