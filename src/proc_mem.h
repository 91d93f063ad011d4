/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading another process's memory: process_vm_readv, falling back to
 * /proc/PID/mem when the kernel lacks it (ENOSYS).  When a replay is set
 * (proc_replay.h), reads are served from its fetched copy where possible
 * and logged.  Read-only by design: nothing here writes to the target.
 */
#ifndef PEEKA_PROC_MEM_H
#define PEEKA_PROC_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct proc_replay;

struct proc_mem {
	int pid;
	int mem_fd;        /* /proc/PID/mem, opened on first ENOSYS */
	struct proc_replay *replay;  /* borrowed; NULL: every read is live */
	uint64_t reads;    /* statistics */
	uint64_t bytes;
};

void proc_mem__init(struct proc_mem *pm, int pid);
void proc_mem__release(struct proc_mem *pm);

/*
 * Copy @len bytes at remote @addr into @buf.  All or nothing: returns 0, or
 * -EFAULT (unmapped or partial), -ESRCH (process gone), -EPERM/-EACCES.
 */
int proc_mem__read(struct proc_mem *pm, uint64_t addr, void *buf, size_t len);

/*
 * Read @n ranges at once: local[i].iov_len bytes at remote @addr[i] into
 * local[i].iov_base; ok[i] tells which were read whole.  Served from the
 * replay where it can, the rest with one process_vm_readv.  Returns 0
 * (unreadable ranges are not errors), -ESRCH when the process is gone, or
 * another -errno when it cannot be read at all.
 */
int proc_mem__read_each(struct proc_mem *pm, const struct iovec *local,
			const uint64_t *addr, size_t n, bool *ok);

/* Read a little-endian pointer-sized word. */
int proc_mem__read_u64(struct proc_mem *pm, uint64_t addr, uint64_t *out);

/*
 * Read up to @len bytes, stopping early at unmapped memory; *got receives the
 * count.  For scanning regions whose end may be unmapped.
 */
int proc_mem__read_partial(struct proc_mem *pm, uint64_t addr, void *buf,
			   size_t len, size_t *got);

#endif
