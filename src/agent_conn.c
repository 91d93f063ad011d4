/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's end of the agent channel: connect, frames, calls. */
#include "agent_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "json_out.h"
#include "rec_clock.h"

/* A frame that has begun arriving must finish within this. */
#define FRAME_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_S 5

static int connect_path(int fd, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char *slash;
	int dfd, ret;

	if (strlen(path) < sizeof(a.sun_path)) {
		memcpy(a.sun_path, path, strlen(path) + 1);
		return connect(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
	}
	/* Too long for sun_path: go through a descriptor of its directory. */
	slash = strrchr(path, '/');
	if (!slash)
		return -ENAMETOOLONG;
	{
		char dir[4096];

		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0)
		return -errno;
	snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dfd,
		 slash + 1);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
	close(dfd);
	return ret;
}

int agent_conn__open(struct agent_conn *c, const char *path, int pid,
		     char *err, size_t errlen)
{
	struct ucred cred = { 0, 0, 0 };
	struct timeval tv = { CONNECT_TIMEOUT_S, 0 };
	socklen_t len = sizeof(cred);
	int ret;

	c->next_id = 1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return snprintf(err, errlen, "socket: %s", strerror(errno)), -errno;
	/* A full backlog (an agent starved of the GIL) must not block
	 * connect() for ever: it obeys the send timeout. */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ret = connect_path(c->fd, path);
	if (ret == -EAGAIN || ret == -EINPROGRESS)
		ret = -ETIMEDOUT;
	if (ret) {
		snprintf(err, errlen, "cannot connect to the agent at %s: %s", path,
			 peeka_strerror(ret));
		agent_conn__close(c);
		return ret;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    cred.pid != pid) {
		snprintf(err, errlen, "the socket %s is not served by process %d (peer %d)",
			 path, pid, (int)cred.pid);
		agent_conn__close(c);
		return -EPERM;
	}
	return 0;
}

void agent_conn__close(struct agent_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int agent_conn__send(struct agent_conn *c, const char *cmd, const char *args,
		     int *id)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	struct json_out j;
	unsigned char head[4];
	int ret;

	if (!f)
		return -ENOMEM;
	*id = c->next_id++;
	json_out__init(&j, f);
	fprintf(f, "{\"id\":%d,\"cmd\":", *id);
	json_out__string(&j, cmd);
	fprintf(f, ",\"args\":%s}", args && *args ? args : "{}");
	if (fclose(f) || !body)
		return free(body), -ENOMEM;
	if (len > AGENT_CONN_MAX_FRAME)
		return free(body), -EMSGSIZE;
	head[0] = (unsigned char)(len >> 24);
	head[1] = (unsigned char)(len >> 16);
	head[2] = (unsigned char)(len >> 8);
	head[3] = (unsigned char)len;
	ret = write_all(c->fd, (const char *)head, 4);
	if (!ret)
		ret = write_all(c->fd, body, len);
	free(body);
	return ret == -EPIPE || ret == -ECONNRESET ? -EPIPE : ret;
}

/* Wait for input for at most @ms (-1: forever). */
static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, ms);

	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n;
		int ret = wait_readable(fd, FRAME_TIMEOUT_MS);

		if (ret == -EINTR)
			continue;  /* mid-frame: finish it first */
		if (ret)
			return ret;
		n = recv(fd, p, len, 0);
		if (n == 0)
			return -EPIPE;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECONNRESET ? -EPIPE : -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int agent_conn__recv(struct agent_conn *c, int timeout_ms,
		     struct json_val **msg, char *err, size_t errlen)
{
	unsigned char head[4];
	uint32_t len;
	char *body;
	int ret = wait_readable(c->fd, timeout_ms);

	err[0] = '\0';
	if (ret)
		return ret;
	ret = read_full(c->fd, head, 4);
	if (ret)
		return ret;
	len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
	      (uint32_t)head[2] << 8 | head[3];
	if (len > AGENT_CONN_MAX_FRAME) {
		snprintf(err, errlen, "the agent sent a frame of %u bytes (limit %u)",
			 len, AGENT_CONN_MAX_FRAME);
		return -EPROTO;
	}
	body = malloc((size_t)len + 1);
	if (!body)
		return -ENOMEM;
	ret = read_full(c->fd, body, len);
	if (!ret) {
		body[len] = '\0';
		ret = json_in__parse(body, len, msg, err, errlen);
		if (ret == -EINVAL)
			ret = -EPROTO;
		else if (!ret && (*msg)->type != JSON_OBJ) {
			json_in__free(*msg);
			snprintf(err, errlen, "the agent sent a frame that is not an object");
			ret = -EPROTO;
		}
	}
	free(body);
	return ret;
}

static long long now_ms(void)
{
	return (long long)(rec_clock__now() / 1000000);
}

int agent_conn__call(struct agent_conn *c, const char *cmd, const char *args,
		     int timeout_ms, struct json_val **reply, char *err,
		     size_t errlen)
{
	long long end = now_ms() + timeout_ms;
	int id, ret = agent_conn__send(c, cmd, args, &id);

	if (ret) {
		snprintf(err, errlen, "cannot send '%s' to the agent: %s", cmd,
			 peeka_strerror(ret));
		return ret;
	}
	for (;;) {
		struct json_val *m = NULL;
		long long left = end - now_ms();
		const char *type;

		if (left <= 0) {
			snprintf(err, errlen, "the agent did not answer '%s' within %d ms",
				 cmd, timeout_ms);
			return -ETIMEDOUT;
		}
		ret = agent_conn__recv(c, (int)left, &m, err, errlen);
		if (ret == -EINTR)
			continue;
		if (ret) {
			if (!err[0])
				snprintf(err, errlen, "%s",
					 ret == -EPIPE ? "the agent closed the connection"
					 : ret == -ETIMEDOUT ? "the agent did not answer in time"
					 : peeka_strerror(ret));
			return ret;
		}
		type = json_in__str(m, "type", "");
		/* An error without an id is about the connection itself
		 * (too many clients, a bad frame): it answers us too. */
		if (json_in__int(m, "id", -1) != id &&
		    !(json_in__get(m, "id") &&
		      json_in__get(m, "id")->type == JSON_NULL &&
		      !strcmp(type, "error"))) {
			json_in__free(m);
			continue;
		}
		if (!strcmp(type, "error")) {
			snprintf(err, errlen, "%s", json_in__str(m, "message", "the agent refused"));
			json_in__free(m);
			return -EREMOTEIO;
		}
		*reply = m;
		return 0;
	}
}
