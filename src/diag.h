/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User-facing diagnostics: "error:", "warning:" and "hint:" lines on stderr.
 * Only commands and main() call these; core modules return error codes and
 * fill caller-owned message buffers instead.
 */
#ifndef PEEKA_DIAG_H
#define PEEKA_DIAG_H

#include <stdarg.h>

#define DIAG_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Print "error: …" and return -1, so callers can `return error(...)`. */
int error(const char *fmt, ...) DIAG_PRINTF(1, 2);
/* Same, with ": <strerror(errno)>" appended. */
int error_errno(const char *fmt, ...) DIAG_PRINTF(1, 2);
/* Same, with ": <strerror(-err)>" for a negative errno value. */
int error_code(int err, const char *fmt, ...) DIAG_PRINTF(2, 3);
void warning(const char *fmt, ...) DIAG_PRINTF(1, 2);
void hint(const char *fmt, ...) DIAG_PRINTF(1, 2);
/* Print "error: …" and exit(1): only for unrecoverable setup failures. */
void die(const char *fmt, ...) DIAG_PRINTF(1, 2) __attribute__((noreturn));
/* A broken invariant: print file:line and abort. */
#define BUG(...) diag_bug(__FILE__, __LINE__, __VA_ARGS__)
void diag_bug(const char *file, int line, const char *fmt, ...)
	DIAG_PRINTF(3, 4) __attribute__((noreturn));

/*
 * The reporter all of the above write through; tests replace it to capture
 * messages.  @prefix is "error", "warning" or "hint".
 */
typedef void (*diag_routine)(const char *prefix, const char *fmt, va_list ap);
void diag_set_routine(diag_routine fn);

#endif
