/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Getting an agent into a target (agent.md section 3): find one that runs
 * already, else inject the bootstrap, by PEP 768 on 3.14+ (when the
 * target allows it) or by a ptrace remote call (a pending call on the
 * main thread, or PyGILState on a thread blocked with the GIL released
 * when the main thread is stuck in C), and wait until the agent answers.
 */
#ifndef PEEKA_AGENT_ATTACH_H
#define PEEKA_AGENT_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "agent_conn.h"
#include "agent_files.h"
#include "py_proc.h"

struct agent_attach_opts {
	double timeout;            /* seconds to wait for the agent */
	bool force_ptrace;         /* 3.14+: ptrace even if PEP 768 is off */
	/* Progress notes ("still waiting…"); may be NULL. */
	void (*note)(void *ctx, const char *msg);
	void *ctx;
};

struct agent_session {
	struct agent_owner owner;
	struct agent_dir dir;
	char method[32];           /* pep768, ptrace-pending-call, … */
	char agent_version[32];
	bool reused;               /* an agent was already running */
};

/*
 * Connect to the agent already running in @pid, if any.  0 with @c open
 * and @s filled; -ENOENT when there is none; another error (with @err)
 * when something is in the way.
 */
int agent_attach__find(int pid, struct agent_session *s,
		       struct agent_conn *c, char *err, size_t errlen);

/*
 * Find or inject.  0 with @c connected to a live agent, or an error with
 * one line in @err; on failure nothing of peeka is left in the target
 * (besides, with ptrace, one page holding a bootstrap that expired).
 */
int agent_attach__attach(struct py_proc *pp, const struct agent_attach_opts *o,
			 struct agent_session *s, struct agent_conn *c,
			 char *err, size_t errlen);

#endif
