/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Turns an opt_spec table into getopt_long arguments and help text.  The
 * only place that knows getopt's quirks: "+" stops at the first operand,
 * and optind = 0 resets the parser between main and the subcommand.
 */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

#define OPTS_MAX 64

int opts_parse_pid(const char *s, int *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

int opts_parse_uint(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT_MAX)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int opts_parse_pyversion(const char *s, unsigned out[2])
{
	unsigned maj, min;
	int n = 0;

	if (!s || sscanf(s, "%u.%u%n", &maj, &min, &n) != 2 || s[n])
		return -EINVAL;
	out[0] = maj;
	out[1] = min;
	return 0;
}

enum opts_result opts_usage_error(const struct opt_usage *u,
				  const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error("%s", msg);
	fprintf(stderr, "try 'peeka %s --help' for more information\n",
		u->cmd);
	return OPTS_USAGE;
}

static void print_option(const struct opt_spec *o)
{
	char left[64];
	int n;

	if (o->short_name)
		n = snprintf(left, sizeof(left), "  -%c, --%s", o->short_name,
			     o->long_name);
	else
		n = snprintf(left, sizeof(left), "      --%s", o->long_name);
	if (o->metavar && n > 0 && (size_t)n < sizeof(left))
		snprintf(left + n, sizeof(left) - (size_t)n, " %s",
			 o->metavar);
	if (strlen(left) > 28)
		printf("%s\n%30s%s\n", left, "", o->help);
	else
		printf("%-30s%s\n", left, o->help);
}

void opts_print_help(const struct opt_usage *u, const struct opt_spec *specs)
{
	printf("usage: peeka %s %s\n\n", u->cmd, u->synopsis);
	if (u->description)
		printf("%s\n\n", u->description);
	printf("options:\n");
	for (const struct opt_spec *o = specs; o && o->kind != OPT_END; o++)
		print_option(o);
	printf("  -h, --help                  show this help and exit\n");
	if (u->epilogue)
		printf("\n%s\n", u->epilogue);
}

static int build_getopt(const struct opt_spec *specs, struct option *lopts,
			char *shorts, size_t nshorts)
{
	size_t ns = 0, n = 0;

	shorts[ns++] = '+';
	shorts[ns++] = 'h';
	for (const struct opt_spec *o = specs; o && o->kind != OPT_END; o++) {
		bool arg = o->kind != OPT_FLAG && o->kind != OPT_COUNT;

		if (n + 2 >= OPTS_MAX || ns + 3 >= nshorts)
			return -1;
		lopts[n].name = o->long_name;
		lopts[n].has_arg = arg ? required_argument : no_argument;
		lopts[n].flag = NULL;
		lopts[n].val = 256 + (int)(o - specs);
		n++;
		if (o->short_name) {
			shorts[ns++] = o->short_name;
			if (arg)
				shorts[ns++] = ':';
		}
	}
	shorts[ns] = '\0';
	lopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[n] = (struct option){ NULL, 0, NULL, 0 };
	return 0;
}

static const struct opt_spec *spec_for(const struct opt_spec *specs, int c)
{
	if (c >= 256)
		return &specs[c - 256];
	for (const struct opt_spec *o = specs; o->kind != OPT_END; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

static enum opts_result apply(const struct opt_usage *u,
			      const struct opt_spec *o, const char *arg)
{
	switch (o->kind) {
	case OPT_FLAG:
		*(bool *)o->target = true;
		return OPTS_OK;
	case OPT_COUNT:
		(*(int *)o->target)++;
		return OPTS_OK;
	case OPT_STRING:
		*(const char **)o->target = arg;
		return OPTS_OK;
	case OPT_PID:
		if (opts_parse_pid(arg, o->target))
			return opts_usage_error(u, "invalid pid '%s' for --%s",
						arg, o->long_name);
		return OPTS_OK;
	case OPT_UINT:
		if (opts_parse_uint(arg, o->target))
			return opts_usage_error(u, "invalid number '%s' for --%s",
						arg, o->long_name);
		return OPTS_OK;
	case OPT_PYVERSION:
		if (opts_parse_pyversion(arg, o->target))
			return opts_usage_error(u, "invalid version '%s' for --%s (expected X.Y, e.g. 3.12)",
						arg, o->long_name);
		return OPTS_OK;
	case OPT_END:
		break;
	}
	return OPTS_USAGE;
}

enum opts_result opts_parse(const struct opt_usage *u,
			    const struct opt_spec *specs, int argc,
			    char **argv, int *first_arg)
{
	struct option lopts[OPTS_MAX];
	char shorts[2 * OPTS_MAX + 4];
	int c;

	if (build_getopt(specs, lopts, shorts, sizeof(shorts)))
		return opts_usage_error(u, "too many options (internal)");
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
		const struct opt_spec *o;
		enum opts_result r;

		if (c == 'h') {
			opts_print_help(u, specs);
			return OPTS_HELP;
		}
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			if (optopt >= 256)
				return opts_usage_error(u, "option '--%s' needs a value",
							specs[optopt - 256].long_name);
			if (optopt && spec_for(specs, optopt))
				return opts_usage_error(u, "option '-%c' needs a value",
							optopt);
			return opts_usage_error(u, "unknown or incomplete option '%s'",
						bad ? bad : "?");
		}
		o = spec_for(specs, c);
		if (!o)
			return opts_usage_error(u, "unknown option");
		r = apply(u, o, optarg);
		if (r != OPTS_OK)
			return r;
	}
	*first_arg = optind;
	return OPTS_OK;
}

enum opts_result opts_parse_operands(const struct opt_usage *u,
				     const struct opt_spec *specs, int argc,
				     char **argv, const char **operands,
				     int max, int *n)
{
	char *rest[OPTS_ARGV_MAX + 2];
	int first;

	*n = 0;
	for (;;) {
		enum opts_result r = opts_parse(u, specs, argc, argv, &first);

		if (r != OPTS_OK)
			return r;
		if (first >= argc)
			return OPTS_OK;
		if (!strcmp(argv[first - 1], "--")) {
			/* After "--" everything is an operand. */
			for (; first < argc; first++) {
				if (*n == max)
					return opts_usage_error(u, "unexpected argument '%s'",
								argv[first]);
				operands[(*n)++] = argv[first];
			}
			return OPTS_OK;
		}
		if (*n == max)
			return opts_usage_error(u, "unexpected argument '%s'",
						argv[first]);
		operands[(*n)++] = argv[first];
		/* Parse what follows the operand, as a fresh argv. */
		rest[0] = argv[0];
		argc = argc - first;
		if (argc > OPTS_ARGV_MAX)
			return opts_usage_error(u, "too many arguments");
		memmove(rest + 1, argv + first + 1, (size_t)(argc - 1) * sizeof(*rest));
		rest[argc] = NULL;
		argv = rest;
	}
}
