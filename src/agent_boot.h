/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bootstrap: the one line of Python an injection runs
 * (docs/agent-protocol.md, "The bootstrap").  It binds no name in
 * __main__, never raises, does nothing after its deadline or when an
 * agent already runs, and starts the agent in a daemon OS thread.
 */
#ifndef PEEKA_AGENT_BOOT_H
#define PEEKA_AGENT_BOOT_H

#include <stddef.h>

/*
 * The bootstrap for the agent directory @dir (as the target sees it; only
 * [A-Za-z0-9/._-]), recorded @method, and wall-clock @deadline (epoch
 * seconds).  Returns its length, or -ENAMETOOLONG / -EINVAL.
 */
int agent_boot__source(char *buf, size_t len, const char *dir,
		       const char *method, double deadline);

#endif
