/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pprof's profile.proto, gzip-compressed, written by our own encoders
 * (pb_enc, gzip_enc): sample types samples/count and cpu/nanoseconds, one
 * function per (name, file), one location per (function, line), location
 * ids leaf first, and thread_id / thread_name labels.  Fed the kept
 * samples, aggregated by (thread, stack).
 */
#ifndef PEEKA_OUT_PPROF_H
#define PEEKA_OUT_PPROF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profile.h"
#include "py_sample.h"
#include "py_sys.h"

struct out_pprof;

struct out_pprof *out_pprof__new(void);
void out_pprof__free(struct out_pprof *p);

int out_pprof__sample(struct out_pprof *p, int pid,
		      const struct py_sample_thread *t, uint32_t stack);

struct out_pprof_meta {
	double rate;                   /* Hz: the period of one sample */
	uint64_t start_unix_ns;
	uint64_t duration_ns;
	const struct py_sys_path *sp;  /* short file names; may be NULL */
	bool full_filenames;
};

int out_pprof__write(struct out_pprof *p, const struct profile *prof,
		     FILE *f, const struct out_pprof_meta *m);

#endif
