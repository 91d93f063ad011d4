/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote reads with process_vm_readv (one syscall, no ptrace stop), and the
 * /proc/PID/mem fallback for kernels without CONFIG_CROSS_MEMORY_ATTACH.
 */
#include "proc_mem.h"

#include "proc_replay.h"

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

/* A read from the target itself, logged to the replay when it worked. */
static int read_live(struct proc_mem *pm, uint64_t addr, void *buf,
		     size_t len)
{
	size_t got;
	int ret = read_some(pm, addr, buf, len, &got);

	if (ret)
		return ret;
	pm->reads++;
	pm->bytes += got;
	if (got != len)
		return -EFAULT;
	if (pm->replay)
		proc_replay__note(pm->replay, addr, len);
	return 0;
}

int proc_mem__read(struct proc_mem *pm, uint64_t addr, void *buf, size_t len)
{
	if (!len)
		return 0;
	if (addr == 0 || addr + len < addr)
		return -EFAULT;
	if (pm->replay && proc_replay__serve(pm->replay, addr, buf, len))
		return 0;
	return read_live(pm, addr, buf, len);
}

#define READ_EACH_MAX 256

/* One vector read of the ranges idx[0..n); an unreadable range is
 * skipped and the read goes on after it. */
static int read_each_live(struct proc_mem *pm, const struct iovec *local,
			  const uint64_t *addr, const size_t *idx, size_t n,
			  bool *ok)
{
	struct iovec l[READ_EACH_MAX], r[READ_EACH_MAX];
	size_t from = 0;

	for (size_t i = 0; i < n; i++) {
		l[i] = local[idx[i]];
		r[i] = (struct iovec){ (void *)(uintptr_t)addr[idx[i]],
				       local[idx[i]].iov_len };
	}
	while (from < n) {
		ssize_t got = pm->mem_fd >= 0 ? -1 :
			process_vm_readv(pm->pid, l + from, n - from,
					 r + from, n - from, 0);
		size_t i = from;

		if (got < 0 && (pm->mem_fd >= 0 || errno == ENOSYS)) {
			for (; i < n; i++) {
				int ret = read_live(pm, addr[idx[i]],
						    l[i].iov_base, l[i].iov_len);

				if (ret == -ESRCH)
					return ret;
				ok[idx[i]] = !ret;
			}
			return 0;
		}
		if (got < 0 && errno != EFAULT && errno != EIO)
			return -errno;
		if (got < 0)
			got = 0;
		pm->reads++;
		pm->bytes += (uint64_t)got;
		for (; i < n && (size_t)got >= l[i].iov_len; i++) {
			got -= (ssize_t)l[i].iov_len;
			ok[idx[i]] = true;
			if (pm->replay)
				proc_replay__note(pm->replay, addr[idx[i]],
						  l[i].iov_len);
		}
		from = i + 1;   /* l[i] could not be read whole */
	}
	return 0;
}

int proc_mem__read_each(struct proc_mem *pm, const struct iovec *local,
			const uint64_t *addr, size_t n, bool *ok)
{
	size_t idx[READ_EACH_MAX], k = 0;

	for (size_t i = 0; i < n; i++) {
		ok[i] = pm->replay &&
			proc_replay__serve(pm->replay, addr[i],
					   local[i].iov_base, local[i].iov_len);
		if (ok[i])
			continue;
		idx[k++] = i;
		if (k == READ_EACH_MAX || i + 1 == n) {
			int ret = read_each_live(pm, local, addr, idx, k, ok);

			if (ret)
				return ret;
			k = 0;
		}
	}
	if (k)
		return read_each_live(pm, local, addr, idx, k, ok);
	return 0;
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
