/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing a .peeka recording (rec_format.h) as samples are taken: every
 * thread of every sample, idle ones included, so that `peeka report` can
 * apply any filter later.  Strings, functions, frames and stacks are
 * interned and written once; memory grows with distinct stacks, not with
 * samples.  Flushed at least once a second through rec_write__tick.
 */
#ifndef PEEKA_REC_WRITE_H
#define PEEKA_REC_WRITE_H

#include <stdint.h>

#include "py_sample.h"
#include "py_sys.h"

struct rec_write_info {
	int pid;
	const char *cmdline;
	const char *python;        /* "3.12.1" */
	double rate;               /* nominal, Hz */
	uint64_t start_unix_ns;    /* wall-clock time of timestamp 0 */
};

struct rec_write;

/*
 * Start a recording on @fd (not closed by the writer): writes the header.
 * Returns 0, -ENOMEM or -errno of a failed write.
 */
int rec_write__open(struct rec_write **out, int fd,
		    const struct rec_write_info *info);

/* One thread of a sample at @ts_ns (since the start) of process @pid. */
int rec_write__thread(struct rec_write *w, int pid, uint64_t ts_ns,
		      const struct py_sample_thread *t);

/* Name process @pid (a PROCESS record): its samples get a root frame
 * with @label when rendered. */
int rec_write__process(struct rec_write *w, int pid, const char *label);

/* Forget which code objects were written: their process went away and
 * their addresses may be reused by another one's. */
void rec_write__forget_codes(struct rec_write *w);

/* The target's sys.path (written again when it changes). */
int rec_write__sys_path(struct rec_write *w, const struct py_sys_path *sp);

/* A key/value note (end statistics). */
int rec_write__meta(struct rec_write *w, const char *key, const char *value);

/* Flush when the last flush is REC_FLUSH_NS old or more (@now_ns: any
 * monotonic clock). */
int rec_write__tick(struct rec_write *w, uint64_t now_ns);

/* Mark the end, close the zstd frame, write everything out. */
int rec_write__finish(struct rec_write *w);

void rec_write__free(struct rec_write *w);

/* End zstd frames after @bytes of input instead of REC_FRAME_INPUT
 * (tests; 0 restores the default). */
void rec_write__set_frame_input(struct rec_write *w, uint64_t bytes);

/* Statistics: samples written, compressed bytes written. */
uint64_t rec_write__samples(const struct rec_write *w);
uint64_t rec_write__bytes(const struct rec_write *w);

#endif
