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

int proc_task__comm(int pid, int tid, char *buf, size_t len)
{
	char path[64];
	size_t n;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	ret = read_small(path, buf, len, &n);
	if (ret)
		return ret;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
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
