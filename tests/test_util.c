/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers: interpreters, fixtures, subprocesses with timeouts. */
#include "test_util.h"

#include <check.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_INTERPS 32

static struct tu_interp interps[MAX_INTERPS], olds[4];
static size_t ninterps, nolds;
static bool loaded;

static void load(void)
{
	char line[2 * PATH_MAX];
	FILE *p;

	if (loaded)
		return;
	loaded = true;
	p = popen("./fixtures/pythons.sh list", "r");
	if (!p)
		return;
	while (ninterps < MAX_INTERPS && fgets(line, sizeof(line), p)) {
		struct tu_interp *i = &interps[ninterps];

		if (sscanf(line, "%63[^\t]\t%15[^\t]\t%15[^\t]\t%4095[^\t]\t%31s",
			   i->label, i->minor, i->kind, i->launcher, i->full) == 5)
			ninterps++;
	}
	pclose(p);
}

size_t tu_interps(const struct tu_interp **out)
{
	load();
	*out = interps;
	return ninterps;
}

size_t tu_old_interps(const struct tu_interp **out)
{
	static const char *const cands[][2] = {
		{ "3.7", "3.7.16" }, { "3.6", "3.6.15" },
	};
	const char *root = getenv("HOME");
	char path[PATH_MAX];

	if (!nolds && root) {
		for (size_t k = 0; k < 2; k++) {
			snprintf(path, sizeof(path),
				 "%s/.pyenv/versions/%s/bin/python%s", root,
				 cands[k][1], cands[k][0]);
			if (access(path, X_OK))
				continue;
			snprintf(olds[nolds].label, sizeof(olds[0].label),
				 "%s-pyenv", cands[k][0]);
			snprintf(olds[nolds].minor, sizeof(olds[0].minor), "%s",
				 cands[k][0]);
			snprintf(olds[nolds].full, sizeof(olds[0].full), "%s",
				 cands[k][1]);
			snprintf(olds[nolds].launcher, sizeof(olds[0].launcher),
				 "%s", path);
			nolds++;
		}
	}
	*out = olds;
	return nolds;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tu_spawn_ready(struct tu_child *c, char *const argv[], int timeout_s)
{
	char buf[4096], errpath[PATH_MAX + 16];
	size_t used = 0;
	int fds[2];
	double end = now() + timeout_s;

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/peeka-test-XXXXXX");
	if (!mkdtemp(c->dir) || pipe(fds))
		return -1;
	snprintf(errpath, sizeof(errpath), "%s/stderr", c->dir);
	c->pid = fork();
	if (c->pid == 0) {
		int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		setpgid(0, 0);
		dup2(fds[1], 1);
		if (e >= 0)
			dup2(e, 2);
		close(fds[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	c->out_fd = fds[0];
	while (now() < end) {
		struct pollfd pfd = { c->out_fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(c->out_fd, buf + used, sizeof(buf) - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		buf[used] = '\0';
		if (strstr(buf, "READY\n"))
			return 0;
		if (used >= sizeof(buf) - 1)
			used = 0;
	}
	tu_child_kill(c);
	return -1;
}

void tu_child_kill(struct tu_child *c)
{
	char cmd[PATH_MAX + 16];

	if (c->pid > 0) {
		kill(-c->pid, SIGKILL);
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
	if (c->out_fd > 0)
		close(c->out_fd);
	c->out_fd = 0;
	if (c->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
		if (system(cmd)) {
			/* best effort */
		}
		c->dir[0] = '\0';
	}
}

char *tu_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
	if (s && n > 0 && fread(s, 1, (size_t)n, f) != (size_t)n)
		s[0] = '\0';
	fclose(f);
	return s;
}

int tu_run(const char *cmd, int timeout_s, char **out, char **err)
{
	char dir[] = "/tmp/peeka-run-XXXXXX", o[64], e[64], rm[64];
	double end = now() + timeout_s;
	int status = -1;
	pid_t pid;

	if (!mkdtemp(dir))
		return -1;
	snprintf(o, sizeof(o), "%s/out", dir);
	snprintf(e, sizeof(e), "%s/err", dir);
	pid = fork();
	if (pid == 0) {
		int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		setpgid(0, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			status = WIFEXITED(st) ? WEXITSTATUS(st)
					       : 128 + WTERMSIG(st);
			break;
		}
		if (now() > end) {
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, 0);
			status = -1;
			break;
		}
		usleep(5000);
	}
	if (out)
		*out = tu_read_file(o);
	if (err)
		*err = tu_read_file(e);
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	if (system(rm)) {
		/* best effort */
	}
	return status;
}

void tu_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

int tu_count_prefix(const char *s, const char *prefix)
{
	int n = 0;
	size_t pl = strlen(prefix);

	while (s && *s) {
		if (!strncmp(s, prefix, pl))
			n++;
		s = strchr(s, '\n');
		if (s)
			s++;
	}
	return n;
}

const char *tu_exercised_path(void)
{
	return "build/exercised.tsv";
}

void tu_record_exercised(const struct tu_interp *i)
{
	int fd = open(tu_exercised_path(), O_WRONLY | O_CREAT | O_APPEND, 0644);
	char line[256];
	int n;

	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s\t%s\t%s\t%s\n", i->label, i->minor,
		     i->kind, i->full);
	if (n > 0 && write(fd, line, (size_t)n) < 0) {
		/* best effort */
	}
	close(fd);
}

const char *tu_peeka(void)
{
	static char path[PATH_MAX];

	if (!path[0] && !realpath("peeka", path))
		snprintf(path, sizeof(path), "./peeka");
	return path;
}

const struct tu_interp *tu_interp_at(int i)
{
	const struct tu_interp *all;

	ck_assert_uint_lt((size_t)i, tu_interps(&all));
	return &all[i];
}

char *tu_run_expect(const char *cmd, int want)
{
	char *out, *err;
	int rc = tu_run(cmd, 120, &out, &err);

	ck_assert_msg(rc == want, "'%s' exited %d (want %d):\n%s%s", cmd, rc,
		      want, out, err);
	free(out);
	return err;
}

void tu_expect_error(const char *args, int want_rc, const char *needle)
{
	char cmd[2048], *out, *err;
	int rc;

	snprintf(cmd, sizeof(cmd), "%s %s", tu_peeka(), args);
	rc = tu_run(cmd, 60, &out, &err);
	ck_assert_msg(rc == want_rc, "'%s' exited %d (want %d): %s", args, rc,
		      want_rc, err);
	ck_assert_msg(tu_count_prefix(err, "error: ") == 1,
		      "'%s': want one error line, got: %s", args, err);
	ck_assert_msg(strstr(err, needle), "'%s': '%s' not in: %s", args,
		      needle, err);
	ck_assert_str_eq(out, "");
	free(out);
	free(err);
}

int tu_dead_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return (int)p;
}
