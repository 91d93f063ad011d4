/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's private directory in the target's mount namespace
 * (docs/agent-protocol.md): /tmp/peeka-<nspid>-<random>, 0700 and owned by
 * the target's user, holding copies of the agent's Python files and later
 * its socket.  Reached from here through /proc/PID/root.
 */
#ifndef PEEKA_AGENT_FILES_H
#define PEEKA_AGENT_FILES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define AGENT_FILES_MAX 8

struct agent_dir {
	char host[PATH_MAX];    /* /proc/PID/root/tmp/peeka-… */
	char target[256];       /* /tmp/peeka-…, as the target sees it */
	char sock[PATH_MAX];    /* host path of agent.sock */
};

/* Who the target is: its pid as it sees itself, and its real ids. */
struct agent_owner {
	int pid;
	int nspid;
	uid_t uid;
	gid_t gid;
};

int agent_files__owner(int pid, struct agent_owner *o);

/*
 * Make a new private directory for @o and write the agent's files (built
 * into peeka) into it (0600, owned by the target's user).  0, or an error with one
 * line in @err (nothing is left behind).  All work inside the target's
 * /tmp is done with the target's user as file-system identity.
 */
int agent_files__create(const struct agent_owner *o, struct agent_dir *d,
			char *err, size_t errlen);

/*
 * Write a file @name holding @text into @d (0600, the target's owner).
 * Its path as the target sees it goes to @target_path.
 */
int agent_files__write(const struct agent_owner *o, const struct agent_dir *d,
		       const char *name, const char *text, char *target_path,
		       size_t len);

/* Delete file @name of @d (missing is fine). */
void agent_files__unlink(const struct agent_owner *o,
			 const struct agent_dir *d, const char *name);

/*
 * The agent directories of @o that exist now (private, the target's
 * owner), newest first.  Returns how many (at most @cap).
 */
size_t agent_files__find(const struct agent_owner *o, struct agent_dir *out,
			 size_t cap);

/* Remove @d: the files peeka and the agent make there, then the
 * directory itself. */
void agent_files__remove(const struct agent_owner *o,
			 const struct agent_dir *d);

/* The first line of agent.error in @d (the agent could not start), or
 * false when there is none. */
bool agent_files__error(const struct agent_owner *o,
			const struct agent_dir *d, char *buf, size_t len);

#endif
