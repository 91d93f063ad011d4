/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the agent commands (attach, watch, reset, detach) share: the
 * current target (the pid the last `attach` recorded), reaching the agent
 * of a target, and printing what it sent.
 */
#ifndef PEEKA_AGENT_CMD_H
#define PEEKA_AGENT_CMD_H

#include "../agent_attach.h"
#include "../agent_conn.h"
#include "../json_in.h"
#include "../json_out.h"

/*
 * The target: @given (from --pid) or the current target.  CMD_OK with
 * *pid, or CMD_FAILED after an error line.
 */
int agent_cmd__pid(int given, int *pid);

/* Record @pid as the current target; 0 or -errno. */
int agent_cmd__remember(int pid);

/* Forget the current target if it is @pid. */
void agent_cmd__forget(int pid);

/*
 * Connect to the agent running in @pid.  CMD_OK, or CMD_FAILED after an
 * error line (and a hint to attach when there is no agent).
 */
int agent_cmd__connect(int pid, struct agent_session *s, struct agent_conn *c);

/*
 * One request: the target (@given or the current one, into *pid),
 * connect, send @cmd with @args, wait for the reply (*reply), close.
 * CMD_OK, or CMD_FAILED after an error line.
 */
int agent_cmd__request(int given, const char *cmd, const char *args,
		       int timeout_ms, struct agent_session *s, int *pid,
		       struct json_val **reply);

/* Write @v (a parsed frame, or part of one) with @j. */
void agent_cmd__json(struct json_out *j, const struct json_val *v);

/* Print {"type":"success","command":@cmd,"data":@data} and a newline. */
void agent_cmd__success(const char *cmd, const struct json_val *data);

#endif
