/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prints error, warning and hint lines to stderr through one replaceable
 * routine.  Message style: lowercase first word, no trailing full stop.
 */
#include "diag.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void default_routine(const char *prefix, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fflush(stdout);
	fprintf(stderr, "%s: %s\n", prefix, msg);
}

static diag_routine routine = default_routine;

void diag_set_routine(diag_routine fn)
{
	routine = fn ? fn : default_routine;
}

static void emit_fixed(const char *prefix, const char *fmt, ...)
	DIAG_PRINTF(2, 3);

static void emit_fixed(const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	routine(prefix, fmt, ap);
	va_end(ap);
}

static void emit_errno(const char *prefix, int err, const char *fmt,
		       va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	emit_fixed(prefix, "%s: %s", msg, strerror(err));
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	routine("error", fmt, ap);
	va_end(ap);
	return -1;
}

int error_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	emit_errno("error", err, fmt, ap);
	va_end(ap);
	return -1;
}

int error_code(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit_errno("error", err < 0 ? -err : err, fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	routine("warning", fmt, ap);
	va_end(ap);
}

void hint(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	routine("hint", fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	routine("error", fmt, ap);
	va_end(ap);
	exit(1);
}

void diag_bug(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit_fixed("BUG", "%s:%d: %s", file, line, msg);
	abort();
}
