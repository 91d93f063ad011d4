/* SPDX-License-Identifier: Apache-2.0 */
/* The options of `peeka record`: parsing, validation and help text. */
#ifndef PEEKA_RECORD_OPTS_H
#define PEEKA_RECORD_OPTS_H

#include <limits.h>
#include <stdbool.h>

#include "../rec_collect.h"

enum rec_format {
	REC_FORMAT_SVG,
	REC_FORMAT_COLLAPSED,
	REC_FORMAT_RAW,          /* a .peeka recording (rec_format.h) */
	REC_FORMAT_SPEEDSCOPE,   /* speedscope JSON */
	REC_FORMAT_CHROME,       /* Chrome trace event JSON */
	REC_FORMAT_PPROF,        /* gzip'd pprof profile.proto */
};

/* The name of a format, as --format spells it. */
const char *record_opts__format_name(enum rec_format f);

#define REC_RATE_MAX 100000.0

struct record_opts {
	int pid;
	char **cmd;              /* NULL-terminated argv after "--", or NULL */
	const char *output;
	char default_output[PATH_MAX];
	enum rec_format format;
	double rate;
	double duration;
	bool idle, gil, help, subprocesses, blocking, native, native_all;
	unsigned version[2];
	struct rec_collect_opts collect;
};

/*
 * Parse and validate.  Returns CMD_OK (o->help set when --help was
 * printed) or CMD_USAGE after printing one error line.
 */
int record_opts__parse(struct record_opts *o, int argc, char **argv);

/* Strict conversions, exposed for tests: 0 or -EINVAL. */
int record_opts__rate(const char *s, double *hz);
int record_opts__duration(const char *s, double *seconds);
int record_opts__format(const char *name, enum rec_format *f);

/* The format a file name's extension implies: 0 or -EINVAL (unknown). */
int record_opts__format_from_name(const char *path, enum rec_format *f);

#endif
