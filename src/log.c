/* SPDX-License-Identifier: Apache-2.0 */
/* Verbosity-gated debug messages; never used for what the user must see. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int log_verbosity;

void log_init_from_env(void)
{
	const char *s = getenv("PEEKA_LOG");

	if (s && *s >= '0' && *s <= '9')
		log_verbosity = *s - '0';
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "warn", "info", "debug", "trace" };
	va_list ap;

	if ((int)lvl > log_verbosity)
		return;
	fprintf(stderr, "peeka[%s]: ", names[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
