/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote reads with process_vm_readv (one syscall, no ptrace stop), and the
 * /proc/PID/mem fallback for kernels without CONFIG_CROSS_MEMORY_ATTACH.
 */
#include "proc_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

void proc_mem__init(struct proc_mem *pm, int pid)
{
	memset(pm, 0, sizeof(*pm));
	pm->pid = pid;
	pm->mem_fd = -1;
}

void proc_mem__release(struct proc_mem *pm)
{
	if (pm->mem_fd >= 0)
		close(pm->mem_fd);
	pm->mem_fd = -1;
}

static int gone_or(int pid, int err)
{
	if (kill(pid, 0) && errno == ESRCH)
		return -ESRCH;
	return err;
}

static int read_file(struct proc_mem *pm, uint64_t addr, void *buf,
		     size_t len, size_t *got)
{
	ssize_t n;

	if (pm->mem_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/mem", pm->pid);
		pm->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (pm->mem_fd < 0)
			return -errno;
	}
	n = pread(pm->mem_fd, buf, len, (off_t)addr);
	if (n < 0)
		return errno == EIO ? gone_or(pm->pid, -EFAULT) : -errno;
	*got = (size_t)n;
	return 0;
}

static int read_some(struct proc_mem *pm, uint64_t addr, void *buf,
		     size_t len, size_t *got)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	*got = 0;
	if (pm->mem_fd >= 0)
		return read_file(pm, addr, buf, len, got);
	n = process_vm_readv(pm->pid, &local, 1, &remote, 1, 0);
	if (n < 0) {
		if (errno == ENOSYS)
			return read_file(pm, addr, buf, len, got);
		if (errno == EFAULT || errno == EIO)
			return gone_or(pm->pid, -EFAULT);
		return -errno;
	}
	*got = (size_t)n;
	return 0;
}

int proc_mem__read(struct proc_mem *pm, uint64_t addr, void *buf, size_t len)
{
	size_t got;
	int ret;

	if (!len)
		return 0;
	if (addr == 0 || addr + len < addr)
		return -EFAULT;
	ret = read_some(pm, addr, buf, len, &got);
	if (ret)
		return ret;
	pm->reads++;
	pm->bytes += got;
	return got == len ? 0 : -EFAULT;
}

int proc_mem__read_u64(struct proc_mem *pm, uint64_t addr, uint64_t *out)
{
	return proc_mem__read(pm, addr, out, sizeof(*out));
}

int proc_mem__read_partial(struct proc_mem *pm, uint64_t addr, void *buf,
			   size_t len, size_t *got)
{
	size_t done = 0;

	*got = 0;
	while (done < len) {
		size_t chunk = len - done, n;
		uint64_t a = addr + done;
		size_t to_page = 4096 - (size_t)(a & 4095);
		int ret;

		ret = read_some(pm, a, (char *)buf + done, chunk, &n);
		if (ret == -EFAULT || (!ret && n == 0)) {
			/* Retry page by page to find where the mapping ends. */
			if (chunk > to_page) {
				ret = read_some(pm, a, (char *)buf + done,
						to_page, &n);
				if (!ret && n == to_page) {
					done += n;
					continue;
				}
			}
			break;
		}
		if (ret)
			return ret;
		done += n;
	}
	*got = done;
	return 0;
}
