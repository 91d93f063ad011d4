/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's end of the channel to an agent (docs/agent-protocol.md):
 * connect to its socket, check that the process at the other end is the
 * target, send requests and read replies (4-byte big-endian length, then
 * a JSON object of at most 1 MiB).
 */
#ifndef PEEKA_AGENT_CONN_H
#define PEEKA_AGENT_CONN_H

#include <stddef.h>

#include "json_in.h"

#define AGENT_CONN_MAX_FRAME (1u << 20)

struct agent_conn {
	int fd;
	int next_id;
};

/*
 * Connect to the socket at @path; the peer (SO_PEERCRED) must be process
 * @pid.  0, or an error with one line in @err: -ENOENT / -ECONNREFUSED
 * when no agent listens there, -EPERM when someone else does.
 */
int agent_conn__open(struct agent_conn *c, const char *path, int pid,
		     char *err, size_t errlen);
void agent_conn__close(struct agent_conn *c);

/*
 * Send {"id": N, "cmd": @cmd, "args": @args} (@args a JSON object text,
 * or NULL for {}).  *id gets N.  0 or -errno.
 */
int agent_conn__send(struct agent_conn *c, const char *cmd, const char *args,
		     int *id);

/*
 * The next frame, waiting at most @timeout_ms (-1: no limit).  0 with
 * *msg (free with json_in__free); -ETIMEDOUT; -EINTR when a signal came
 * first; -EPIPE when the agent closed the connection; -EPROTO for a bad
 * frame (@err says why).
 */
int agent_conn__recv(struct agent_conn *c, int timeout_ms,
		     struct json_val **msg, char *err, size_t errlen);

/*
 * Send @cmd and wait (at most @timeout_ms) for its "result" (*data gets
 * the whole reply).  An "error" reply is -EREMOTEIO with its message in
 * @err.  Frames of other requests are skipped.
 */
int agent_conn__call(struct agent_conn *c, const char *cmd, const char *args,
		     int timeout_ms, struct json_val **reply, char *err,
		     size_t errlen);

#endif
