/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers for the Check suites: the list of test interpreters,
 * starting fixtures and waiting for their READY line, running commands
 * with a timeout and capturing their output, and recording which
 * interpreters the integration tests exercised.
 */
#ifndef PEEKA_TEST_UTIL_H
#define PEEKA_TEST_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tu_interp {
	char label[64];     /* "3.12-pyenv" */
	char minor[16];     /* "3.12" */
	char kind[16];      /* "static" or "shared" */
	char launcher[PATH_MAX];
	char full[32];      /* "3.12.1" */
};

/* The interpreters fixtures/pythons.sh lists (read once per process). */
size_t tu_interps(const struct tu_interp **out);

/* Older CPythons found on the machine (3.6/3.7), for "unsupported". */
size_t tu_old_interps(const struct tu_interp **out);

struct tu_child {
	pid_t pid;
	int out_fd;
	char dir[PATH_MAX];   /* a private temporary folder */
};

/*
 * Start argv[0] with argv (stdout piped, stderr to dir/stderr) and wait up
 * to @timeout_s for a line "READY".  Returns 0, or -1 (child killed).
 */
int tu_spawn_ready(struct tu_child *c, char *const argv[], int timeout_s);

/* SIGKILL the child (and its process group), reap it, remove its folder. */
void tu_child_kill(struct tu_child *c);

/*
 * Run "sh -c @cmd" with a timeout, capturing stdout and stderr into newly
 * allocated strings (caller frees).  Returns the exit status, 128+signal
 * when killed by a signal, or -1 when it timed out (then it is killed).
 */
int tu_run(const char *cmd, int timeout_s, char **out, char **err);

/* Interpreter @i of tu_interps (asserts it exists). */
const struct tu_interp *tu_interp_at(int i);

/* tu_run with a 120 s timeout, asserting exit status @want; returns the
 * command's stderr (free it). */
char *tu_run_expect(const char *cmd, int want);

/* The contents of @path ("" when unreadable); caller frees. */
char *tu_read_file(const char *path);

/* Write @text to @path. */
void tu_write_file(const char *path, const char *text);

/* Count the lines of @s starting with @prefix. */
int tu_count_prefix(const char *s, const char *prefix);

/* Record that @i ran the integration tests (file in build/). */
void tu_record_exercised(const struct tu_interp *i);

/*
 * Run "peeka @args": assert exit status @want_rc, exactly one "error:"
 * line on stderr, and @needle in it.
 */
void tu_expect_error(const char *args, int want_rc, const char *needle);

/* The pid of a process that has just exited (and been reaped). */
int tu_dead_pid(void);

/* The file that tu_record_exercised appends to. */
const char *tu_exercised_path(void);

/* The absolute path of the peeka binary under test. */
const char *tu_peeka(void);

#endif
