/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Debug logging to stderr, separate from error reporting.  The level comes
 * from repeated -v and the PEEKA_LOG environment variable (0-3).
 */
#ifndef PEEKA_LOG_H
#define PEEKA_LOG_H

#include "diag.h"

enum log_level {
	LOG_WARN = 0,
	LOG_INFO = 1,
	LOG_DEBUG = 2,
	LOG_TRACE = 3,
};

extern int log_verbosity;

void log_init_from_env(void);
void log_msg(enum log_level lvl, const char *fmt, ...) DIAG_PRINTF(2, 3);

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
