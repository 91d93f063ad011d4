/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Declarative command-line options: one table per command feeds both
 * getopt_long and --help, and converts typed values with uniform errors.
 */
#ifndef PEEKA_OPTS_H
#define PEEKA_OPTS_H

#include <stdbool.h>
#include <stddef.h>

enum opt_kind {
	OPT_END = 0,
	OPT_FLAG,      /* bool *target set to true */
	OPT_COUNT,     /* int *target incremented */
	OPT_PID,       /* int *target, a positive process id */
	OPT_STRING,    /* const char **target */
	OPT_UINT,      /* unsigned *target */
	OPT_PYVERSION, /* unsigned target[2] = {major, minor}, "X.Y" */
};

struct opt_spec {
	const char *long_name;
	char short_name;      /* 0 when there is none */
	enum opt_kind kind;
	const char *metavar;  /* for options that take a value */
	const char *help;
	void *target;
};

/* What a command says about itself in --help. */
struct opt_usage {
	const char *cmd;          /* "dump" */
	const char *synopsis;     /* "--pid PID [--json] [--locals]" */
	const char *description;  /* paragraphs, wrapped by the author */
	const char *epilogue;     /* examples, exit status; may be NULL */
};

enum opts_result {
	OPTS_OK = 0,
	OPTS_HELP = 1,    /* --help printed to stdout: exit 0 */
	OPTS_USAGE = -1,  /* an error: line was printed: exit 2 */
};

/*
 * Parse argv[1..] (argv[0] is the command name).  Options end at the first
 * non-option or "--"; *first_arg receives the index of the first operand.
 * Every command gets -h/--help for free.
 */
enum opts_result opts_parse(const struct opt_usage *u,
			    const struct opt_spec *specs, int argc,
			    char **argv, int *first_arg);

#define OPTS_ARGV_MAX 256

/*
 * Like opts_parse, but options may also come after operands: up to @max
 * operands are collected in @operands (*n of them).  A "--" ends the
 * options; an operand beyond @max is a usage error.
 */
enum opts_result opts_parse_operands(const struct opt_usage *u,
				     const struct opt_spec *specs, int argc,
				     char **argv, const char **operands,
				     int max, int *n);

/* Print the full help text of a command to stdout. */
void opts_print_help(const struct opt_usage *u, const struct opt_spec *specs);

/* Print "error: …" plus "try 'peeka CMD --help'"; returns OPTS_USAGE. */
enum opts_result opts_usage_error(const struct opt_usage *u,
				  const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Strict conversions used by the parser, exposed for tests. */
int opts_parse_pid(const char *s, int *out);
int opts_parse_uint(const char *s, unsigned *out);
int opts_parse_pyversion(const char *s, unsigned out[2]);

#endif
