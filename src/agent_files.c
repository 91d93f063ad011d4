/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's private directory inside the target's mount namespace. */
#include "agent_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

/* The agent's Python files, embedded at build time (agent_py[]). */
#include "agent_py.h"

#define NPY (sizeof(agent_py) / sizeof(agent_py[0]))

/* What else may be in the directory, for removal. */
static const char *const known[] = {
	"boot.py", "agent.sock", "agent.error", "started",
};

int agent_files__owner(int pid, struct agent_owner *o)
{
	char path[64], line[256];
	FILE *f;
	int have = 0;

	memset(o, 0, sizeof(*o));
	o->pid = pid;
	o->nspid = pid;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a;

		if (!strncmp(line, "Uid:", 4) && sscanf(line + 4, "%lu", &a) == 1) {
			o->uid = (uid_t)a;
			have |= 1;
		} else if (!strncmp(line, "Gid:", 4) &&
			   sscanf(line + 4, "%lu", &a) == 1) {
			o->gid = (gid_t)a;
			have |= 2;
		} else if (!strncmp(line, "NSpid:", 6)) {
			/* The last field: the pid in the innermost namespace. */
			char *p = line + 6, *end;

			for (;;) {
				long v = strtol(p, &end, 10);

				if (end == p)
					break;
				o->nspid = (int)v;
				p = end;
			}
		}
	}
	fclose(f);
	return have == 3 ? 0 : -EIO;
}

/*
 * Every file operation inside the target's /tmp runs with the target's
 * user as the file-system identity (setfsuid, this thread only): the
 * directory is the target's to tamper with (rename it, put a symlink in
 * its place), so whatever peeka is tricked into doing there is only what
 * that user could do anyway.  peeka's other privileges are unchanged.
 */
static void become(const struct agent_owner *o)
{
	if (geteuid() == 0) {
		setfsgid(o->gid);
		setfsuid(o->uid);
	}
}

static void unbecome(void)
{
	if (geteuid() == 0) {
		setfsuid(0);
		setfsgid(getegid());
	}
}

/* Write @len bytes to a new file at @path, 0600 (as the target's user). */
static int write_new(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      0600);
	size_t off = 0;
	int ret = 0;

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		unlink(path);
	return ret;
}

static void set_paths(const struct agent_owner *o, struct agent_dir *d,
		      const char *name)
{
	snprintf(d->target, sizeof(d->target), "/tmp/%.64s", name);
	snprintf(d->host, sizeof(d->host), "/proc/%d/root/tmp/%.64s", o->pid,
		 name);
	snprintf(d->sock, sizeof(d->sock), "/proc/%d/root/tmp/%.64s/agent.sock",
		 o->pid, name);
}

int agent_files__create(const struct agent_owner *o, struct agent_dir *d,
			char *err, size_t errlen)
{
	unsigned char rnd[8];
	char name[64], path[PATH_MAX + 64];
	int ret = 0;

	if (geteuid() != 0 && geteuid() != o->uid)
		return snprintf(err, errlen, "the agent's files must belong to uid %u, the target's: run peeka as that user or as root",
				(unsigned)o->uid), -EPERM;
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return snprintf(err, errlen, "no random bytes: %s",
				strerror(errno)), -EIO;
	snprintf(name, sizeof(name), "peeka-%d-%02x%02x%02x%02x%02x%02x%02x%02x",
		 o->nspid, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
		 rnd[6], rnd[7]);
	set_paths(o, d, name);
	become(o);
	if (mkdir(d->host, 0700) || chmod(d->host, 0700)) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s in the target's file system: %s",
			 d->target, peeka_strerror(ret));
		rmdir(d->host);
	}
	for (size_t i = 0; i < NPY && !ret; i++) {
		snprintf(path, sizeof(path), "%s/%s", d->host, agent_py[i].name);
		ret = write_new(path, agent_py[i].text, agent_py[i].len);
		if (ret) {
			snprintf(err, errlen, "cannot write %s/%s: %s", d->target,
				 agent_py[i].name, peeka_strerror(ret));
			unbecome();
			agent_files__remove(o, d);
			become(o);
		}
	}
	unbecome();
	return ret;
}

int agent_files__write(const struct agent_owner *o, const struct agent_dir *d,
		       const char *name, const char *text, char *target_path,
		       size_t len)
{
	char path[PATH_MAX + 64];

	int ret;

	snprintf(path, sizeof(path), "%s/%s", d->host, name);
	snprintf(target_path, len, "%s/%s", d->target, name);
	become(o);
	ret = write_new(path, text, strlen(text));
	unbecome();
	return ret;
}

void agent_files__unlink(const struct agent_owner *o,
			 const struct agent_dir *d, const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", d->host, name);
	become(o);
	unlink(path);
	unbecome();
}

void agent_files__remove(const struct agent_owner *o,
			 const struct agent_dir *d)
{
	char cache[PATH_MAX + 64];
	struct dirent *e;
	DIR *dir;

	for (size_t i = 0; i < NPY; i++)
		agent_files__unlink(o, d, agent_py[i].name);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		agent_files__unlink(o, d, known[i]);
	become(o);
	/* The bytecode Python cached for the agent's modules. */
	snprintf(cache, sizeof(cache), "%s/__pycache__", d->host);
	dir = opendir(cache);
	while (dir && (e = readdir(dir))) {
		char path[PATH_MAX + 384];

		if (strncmp(e->d_name, "peeka_", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", cache, e->d_name);
		unlink(path);
	}
	if (dir)
		closedir(dir);
	rmdir(cache);
	rmdir(d->host);
	unbecome();
}

struct found {
	struct agent_dir d;
	time_t mtime;
};

static int newest_first(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	return (y->mtime > x->mtime) - (y->mtime < x->mtime);
}

size_t agent_files__find(const struct agent_owner *o, struct agent_dir *out,
			 size_t cap)
{
	char tmp[96], prefix[48];
	struct found f[AGENT_FILES_MAX];
	struct dirent *e;
	size_t n = 0, plen;
	DIR *dir;

	snprintf(tmp, sizeof(tmp), "/proc/%d/root/tmp", o->pid);
	plen = (size_t)snprintf(prefix, sizeof(prefix), "peeka-%d-", o->nspid);
	dir = opendir(tmp);
	if (!dir)
		return 0;
	while ((e = readdir(dir)) && n < AGENT_FILES_MAX) {
		struct stat st;

		if (strncmp(e->d_name, prefix, plen) ||
		    strlen(e->d_name) != plen + 16)
			continue;
		set_paths(o, &f[n].d, e->d_name);
		if (lstat(f[n].d.host, &st) || !S_ISDIR(st.st_mode) ||
		    st.st_uid != o->uid || (st.st_mode & 07777) != 0700)
			continue;
		f[n].mtime = st.st_mtime;
		n++;
	}
	closedir(dir);
	qsort(f, n, sizeof(f[0]), newest_first);
	if (n > cap)
		n = cap;
	for (size_t i = 0; i < n; i++)
		out[i] = f[i].d;
	return n;
}

bool agent_files__error(const struct agent_owner *o,
			const struct agent_dir *d, char *buf, size_t len)
{
	char path[PATH_MAX + 64], data[4096], *line, *last = NULL, *save;
	struct stat st;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "%s/agent.error", d->host);
	become(o);
	/* The target's file: no symlink, no FIFO, a bounded read. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	unbecome();
	if (fd < 0)
		return false;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n < 0)
		return false;
	data[n] = '\0';
	/* A traceback: its last non-empty line says what happened. */
	for (line = strtok_r(data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (*line)
			last = line;
	snprintf(buf, len, "%s", last ? last : "(no details)");
	return true;
}
