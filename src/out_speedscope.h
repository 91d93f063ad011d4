/* SPDX-License-Identifier: Apache-2.0 */
/*
 * speedscope's JSON file format: one sampled profile per thread, in time
 * order, named Thread <native id> "<name>", over one de-duplicated frame
 * table (name, file, line); weights are 1/rate seconds.  Fed the kept
 * samples one by one (their profile stack ids); keeps 4 bytes a sample.
 */
#ifndef PEEKA_OUT_SPEEDSCOPE_H
#define PEEKA_OUT_SPEEDSCOPE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profile.h"
#include "py_sample.h"
#include "py_sys.h"

#define SPEEDSCOPE_SCHEMA "https://www.speedscope.app/file-format-schema.json"

struct out_speedscope;

struct out_speedscope *out_speedscope__new(void);
void out_speedscope__free(struct out_speedscope *s);

/* A kept sample of thread @t of process @pid: profile stack @stack. */
int out_speedscope__sample(struct out_speedscope *s, int pid,
			   const struct py_sample_thread *t, uint32_t stack);

struct out_speedscope_meta {
	const char *name;              /* the recording's name: command line */
	double rate;                   /* Hz, for the weights */
	const struct py_sys_path *sp;  /* short file names; may be NULL */
	bool full_filenames;
};

/* Write the document for @prof (whose stacks the samples name) to @f. */
int out_speedscope__write(struct out_speedscope *s, const struct profile *prof,
			  FILE *f, const struct out_speedscope_meta *m);

#endif
