/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka's entry point: global options, command lookup ("did you mean"),
 * and the shared post-work every command gets (checking that stdout was
 * written successfully).  Exit status: 0 ok, 1 failure, 2 usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands/commands.h"
#include "diag.h"
#include "log.h"

#ifndef PEEKA_VERSION
#define PEEKA_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: peeka [-v] [--version] <command> [options]\n\n"
		   "Look inside a running CPython process (3.8 to 3.14) from the\n"
		   "outside: no restart, no code changes.  The views inject nothing;\n"
		   "only 'attach' loads a small agent (for watch), and 'detach'\n"
		   "takes it out again.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < commands_count; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'peeka <command> --help' for a command's options.\n"
		   "Reading a process needs the same uid (and a non-setuid target)\n"
		   "or CAP_SYS_PTRACE; Yama's kernel.yama.ptrace_scope may restrict\n"
		   "it further.\n");
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (lb >= 63)
		return lb;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

static int unknown_command(const char *name)
{
	const char *best = NULL;
	size_t bestd = 3;

	error("unknown command '%s'", name);
	for (size_t i = 0; i < commands_count; i++) {
		size_t d = edit_distance(name, commands[i].name);

		if (d < bestd) {
			bestd = d;
			best = commands[i].name;
		}
	}
	if (best)
		fprintf(stderr, "did you mean '%s'?\n", best);
	fprintf(stderr, "try 'peeka --help' for the list of commands\n");
	return CMD_USAGE;
}

/* Flush stdout and report a write error (disk full, closed pipe). */
static int finish_stdout(int status)
{
	struct stat st;

	if (fstat(fileno(stdout), &st))
		return status;
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			error_errno("cannot write the output");
		return status ? status : CMD_FAILED;
	}
	return status;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	int i = 1;

	signal(SIGPIPE, SIG_IGN);
	log_init_from_env();
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			log_verbosity++;
		} else if (!strcmp(argv[i], "--version")) {
			printf("peeka %s\n", PEEKA_VERSION);
			return finish_stdout(CMD_OK);
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return finish_stdout(CMD_OK);
		} else {
			error("unknown option '%s'", argv[i]);
			fprintf(stderr, "try 'peeka --help'\n");
			return CMD_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CMD_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc && (cmd = commands_find(argv[i + 1]))) {
			char *args[] = { argv[i + 1], (char *)"--help", NULL };

			return finish_stdout(cmd->fn(2, args));
		}
		usage(stdout);
		return finish_stdout(CMD_OK);
	}
	cmd = commands_find(argv[i]);
	if (!cmd)
		return unknown_command(argv[i]);
	return finish_stdout(cmd->fn(argc - i, argv + i));
}
