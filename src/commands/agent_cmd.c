/* SPDX-License-Identifier: Apache-2.0 */
/* The current target, reaching an agent, printing its replies. */
#include "agent_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../diag.h"
#include "../errors.h"
#include "commands.h"

/* $PEEKA_STATE_DIR, else $XDG_STATE_HOME/peeka, else ~/.local/state/peeka. */
static int state_path(char *buf, size_t len, bool create)
{
	const char *env = getenv("PEEKA_STATE_DIR");
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char dir[PATH_MAX];

	if (env && *env)
		snprintf(dir, sizeof(dir), "%s", env);
	else if (xdg && *xdg)
		snprintf(dir, sizeof(dir), "%s/peeka", xdg);
	else if (home && *home)
		snprintf(dir, sizeof(dir), "%s/.local/state/peeka", home);
	else
		return -ENOENT;
	if (create) {
		char tmp[PATH_MAX];

		/* mkdir -p, owner only. */
		snprintf(tmp, sizeof(tmp), "%s", dir);
		for (char *p = tmp + 1; *p; p++)
			if (*p == '/') {
				*p = '\0';
				mkdir(tmp, 0700);
				*p = '/';
			}
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
	}
	if ((size_t)snprintf(buf, len, "%s/current", dir) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Field 22 of /proc/PID/stat: when the process started (clock ticks). */
static unsigned long long start_time(int pid)
{
	char path[64], line[1024], *p;
	unsigned long long t = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')'))) {
		/* After ") S": fields 3..; start time is the 20th after. */
		p += 2;
		for (int i = 3; i < 22 && p; i++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (p)
			t = strtoull(p, NULL, 10);
	}
	fclose(f);
	return t;
}

int agent_cmd__remember(int pid)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int ret = state_path(path, sizeof(path), true);

	if (ret)
		return ret;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	/* A new file, never through a link someone left there. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	fprintf(f, "%d %llu\n", pid, start_time(pid));
	if (fclose(f))
		return -errno;
	return rename(tmp, path) ? -errno : 0;
}

static int read_current(int *pid, unsigned long long *start)
{
	char path[PATH_MAX];
	FILE *f;
	int n;

	if (state_path(path, sizeof(path), false))
		return -ENOENT;
	f = fopen(path, "r");
	if (!f)
		return -ENOENT;
	n = fscanf(f, "%d %llu", pid, start);
	fclose(f);
	return n == 2 && *pid > 0 ? 0 : -EINVAL;
}

void agent_cmd__forget(int pid)
{
	char path[PATH_MAX];
	unsigned long long st;
	int cur;

	if (!read_current(&cur, &st) && cur == pid &&
	    !state_path(path, sizeof(path), false))
		unlink(path);
}

int agent_cmd__pid(int given, int *pid)
{
	unsigned long long st;

	if (given > 0) {
		*pid = given;
		return CMD_OK;
	}
	if (read_current(pid, &st)) {
		error("no target: give --pid PID, or attach first");
		hint("peeka attach PID");
		return CMD_FAILED;
	}
	if (start_time(*pid) != st) {
		error("the current target, process %d, has exited", *pid);
		hint("peeka attach PID, or give --pid PID");
		return CMD_FAILED;
	}
	return CMD_OK;
}

int agent_cmd__connect(int pid, struct agent_session *s, struct agent_conn *c)
{
	char err[512];
	int ret;

	if (kill(pid, 0) && errno == ESRCH) {
		error("no process with pid %d", pid);
		return CMD_FAILED;
	}
	ret = agent_attach__find(pid, s, c, err, sizeof(err));
	if (ret == -ENOENT) {
		error("no peeka agent runs in process %d", pid);
		hint("peeka attach %d", pid);
		return CMD_FAILED;
	}
	if (ret)
		return cmd_report_error(pid, ret, err);
	return CMD_OK;
}

int agent_cmd__request(int given, const char *cmd, const char *args,
		       int timeout_ms, struct agent_session *s, int *pid,
		       struct json_val **reply)
{
	struct agent_conn c = { -1, 0 };
	char err[768];
	int status = agent_cmd__pid(given, pid), ret;

	if (status)
		return status;
	status = agent_cmd__connect(*pid, s, &c);
	if (status)
		return status;
	ret = agent_conn__call(&c, cmd, args, timeout_ms, reply, err,
			       sizeof(err));
	agent_conn__close(&c);
	if (ret) {
		error("%s in process %d: %s", cmd, *pid, err);
		return CMD_FAILED;
	}
	return CMD_OK;
}

void agent_cmd__json(struct json_out *j, const struct json_val *v)
{
	switch (v->type) {
	case JSON_NULL:
		json_out__null(j);
		break;
	case JSON_BOOL:
		json_out__bool(j, v->b);
		break;
	case JSON_NUM:
		json_out__number_text(j, v->str);
		break;
	case JSON_STR:
		json_out__string(j, v->str);
		break;
	case JSON_ARR:
		json_out__begin_array(j);
		for (size_t i = 0; i < v->n; i++)
			agent_cmd__json(j, &v->items[i]);
		json_out__end_array(j);
		break;
	case JSON_OBJ:
		json_out__begin_object(j);
		for (size_t i = 0; i < v->n; i++) {
			json_out__key(j, v->keys[i]);
			agent_cmd__json(j, &v->items[i]);
		}
		json_out__end_object(j);
		break;
	}
}

void agent_cmd__success(const char *cmd, const struct json_val *data)
{
	struct json_out j;

	json_out__init(&j, stdout);
	json_out__begin_object(&j);
	json_out__key(&j, "type");
	json_out__string(&j, "success");
	json_out__key(&j, "command");
	json_out__string(&j, cmd);
	json_out__key(&j, "data");
	if (data)
		agent_cmd__json(&j, data);
	else
		json_out__null(&j);
	json_out__end_object(&j);
	putchar('\n');
	fflush(stdout);
}
