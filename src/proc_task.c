/* SPDX-License-Identifier: Apache-2.0 */
/* Reads /proc/PID and /proc/PID/task; no ptrace, no signals but kill(pid,0). */
#include "proc_task.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int proc_task__list(int pid, int *tids, size_t cap)
{
	char path[64];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(d)) != NULL && n < cap) {
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (*end || v <= 0)
			continue;
		tids[n++] = (int)v;
	}
	closedir(d);
	qsort(tids, n, sizeof(*tids), cmp_int);
	return (int)n;
}

bool proc_task__exists(int pid, int tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, tid);
	return access(path, F_OK) == 0;
}

char proc_task__parse_state(const char *line)
{
	const char *p = strrchr(line, ')');

	if (!p || p[1] != ' ' || !p[2])
		return '?';
	return p[2];
}

static int read_small(const char *path, char *buf, size_t len, size_t *got)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	*got = (size_t)n;
	return 0;
}

char proc_task__state(int pid, int tid)
{
	char path[64], buf[1024];
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (read_small(path, buf, sizeof(buf), &n))
		return '?';
	return proc_task__parse_state(buf);
}

/* The first line of /proc/@pid/task/@tid/@file, without its newline. */
static int task_line(int pid, int tid, const char *file, char *buf,
		     size_t len)
{
	char path[96];
	size_t n;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", pid, tid, file);
	ret = read_small(path, buf, len, &n);
	if (!ret)
		buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

int proc_task__comm(int pid, int tid, char *buf, size_t len)
{
	return task_line(pid, tid, "comm", buf, len);
}

int proc_task__cmdline(int pid, char *buf, size_t len)
{
	char path[64];
	size_t n;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	ret = read_small(path, buf, len, &n);
	if (ret)
		return ret;
	while (n && buf[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return 0;
}

int proc_task__check_access(int pid)
{
	char path[64];
	int fd;

	if (kill(pid, 0) && errno == ESRCH)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	close(fd);
	return 0;
}

int proc_task__ptrace_scope(void)
{
	char buf[16];
	size_t n;

	if (read_small("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf),
		       &n))
		return -1;
	return (int)strtol(buf, NULL, 10);
}

uid_t proc_task__uid(int pid)
{
	char path[64], line[256];
	uid_t uid = (uid_t)-1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return uid;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Uid:", 4)) {
			uid = (uid_t)strtoul(line + 4, NULL, 10);
			break;
		}
	fclose(f);
	return uid;
}

bool proc_task__is_dead(int pid)
{
	char path[64], buf[1024];
	size_t n;
	char st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf), &n))
		return true;
	st = proc_task__parse_state(buf);
	return st == 'Z' || st == 'X';
}

bool proc_task__same_pidns(int pid)
{
	char path[64], a[64] = "", b[64] = "";
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	n = readlink(path, a, sizeof(a) - 1);
	if (n <= 0)
		return true;
	a[n] = '\0';
	n = readlink("/proc/self/ns/pid", b, sizeof(b) - 1);
	if (n <= 0)
		return true;
	b[n] = '\0';
	return !strcmp(a, b);
}

/* The first and last ids of a "NSpid:" status line. */
static int read_nspid(int pid, int tid, int *host, int *ns)
{
	char path[96], line[256];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;
		long v;

		if (strncmp(line, "NSpid:", 6))
			continue;
		*host = (int)strtol(p, &end, 10);
		*ns = *host;
		while (end != p) {
			p = end;
			v = strtol(p, &end, 10);
			if (end != p)
				*ns = (int)v;
		}
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

int proc_task__ns_tids(int pid, int *host, int *ns, size_t cap)
{
	int tids[4096];
	int n = proc_task__list(pid, tids, 4096);
	size_t out = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n && out < cap; i++)
		if (!read_nspid(pid, tids[i], &host[out], &ns[out]))
			out++;
	return (int)out;
}

int proc_task__parse_syscall(const char *line, struct proc_syscall *out)
{
	const char *p = line;
	char *end;

	memset(out, 0, sizeof(*out));
	if (!strncmp(line, "running", 7)) {
		out->state = PROC_SC_RUNNING;
		out->nr = -1;
		return 0;
	}
	errno = 0;
	out->nr = strtol(p, &end, 10);
	if (end == p || errno || (*end != ' ' && *end != '\n' && *end))
		return -EINVAL;
	if (out->nr < 0) {
		out->state = PROC_SC_BLOCKED;
		return 0;
	}
	p = end;
	for (int i = 0; i < 6; i++) {
		while (*p == ' ')
			p++;
		errno = 0;
		out->args[i] = strtoull(p, &end, 16);
		if (end == p || errno)
			return -EINVAL;
		p = end;
	}
	out->state = PROC_SC_IN;
	return 0;
}

int proc_task__syscall(int pid, int tid, struct proc_syscall *out)
{
	char path[64], buf[256];
	size_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	ret = read_small(path, buf, sizeof(buf), &n);
	if (ret)
		return ret;
	ret = proc_task__parse_syscall(buf, out);
	if (ret)
		out->state = PROC_SC_UNKNOWN;
	return ret;
}

int proc_task__wchan(int pid, int tid, char *buf, size_t len)
{
	int ret = task_line(pid, tid, "wchan", buf, len);

	if (!ret && !strcmp(buf, "0"))
		buf[0] = '\0';
	return ret;
}

int proc_task__parse_cpu(const char *line, unsigned long long *ticks)
{
	const char *p = strrchr(line, ')');
	unsigned long long v[2];
	char *end;

	if (!p)
		return -EINVAL;
	p++;
	/* Fields 3 (state) to 13 come first; utime and stime are 14 and 15. */
	for (int field = 3; field <= 13; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		p += strcspn(p, " ");
	}
	for (int i = 0; i < 2; i++) {
		while (*p == ' ')
			p++;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (end == p || errno)
			return -EINVAL;
		p = end;
	}
	*ticks = v[0] + v[1];
	return 0;
}

int proc_task__cpu(int pid, int tid, unsigned long long *ticks)
{
	char path[64], buf[1024];
	size_t n;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	ret = read_small(path, buf, sizeof(buf), &n);
	if (ret)
		return ret;
	return proc_task__parse_cpu(buf, ticks);
}
