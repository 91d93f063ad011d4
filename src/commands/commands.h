/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command table and the commands' entry points.
 *
 * Adding a command:
 *  1. src/commands/<name>.c defining int cmd_<name>(int argc, char **argv):
 *     an opt_spec table, an opt_usage with man-page-quality text, parse,
 *     call core modules, report, return an exit status (enum cmd_status).
 *  2. Its prototype below and its row in commands[] (table.c), with flags.
 *  3. The object in the Makefile's SRC list.
 *  4. A Check suite in tests/ (the help test covers -h automatically).
 *  5. A fixture in fixtures/ if it needs a new kind of target.
 *  6. A README section and a page in docs/.
 */
#ifndef PEEKA_COMMANDS_H
#define PEEKA_COMMANDS_H

#include <stddef.h>

#include "../json_out.h"
#include "../py_proc.h"

enum cmd_status {
	CMD_OK = 0,
	CMD_FAILED = 1,
	CMD_USAGE = 2,
};

enum cmd_flags {
	CMD_NEEDS_PID = 1 << 0,       /* reads a target process */
	CMD_ZERO_INJECTION = 1 << 1,  /* never writes to the target */
};

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	unsigned flags;
	const char *summary;
};

extern const struct command commands[];
extern const size_t commands_count;

const struct command *commands_find(const char *name);

int cmd_dump(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_gil(int argc, char **argv);
int cmd_threads(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_reset(int argc, char **argv);
int cmd_detach(int argc, char **argv);

/*
 * Open @pid for reading, printing one error line (and hints) on failure
 * and a warning per _Py_DebugOffsets mismatch.  Returns CMD_OK or
 * CMD_FAILED.
 */
int cmd_open_target(struct py_proc *pp, int pid, const unsigned version[2]);

/*
 * Print the error (and hint) for @err; @detail, when given, is the core
 * module's one-line explanation.
 */
int cmd_report_error(int pid, int err, const char *detail);

/*
 * Start a JSON report on stdout about @pp: "{", then "pid" and
 * "python_version" ("3.12.1").
 */
void cmd_json_begin(struct json_out *j, struct py_proc *pp);

/* The same for a failure after the target was opened successfully. */
int cmd_report_read_error(int pid, int err);

#endif
