/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --subprocesses: finding the Python processes a target starts (its
 * descendants, through /proc/PID/task/TID/children), and sampling each
 * into the same profile under a "process <pid> "<cmdline>"" root frame.
 */
#ifndef PEEKA_REC_CHILDREN_H
#define PEEKA_REC_CHILDREN_H

#include <stdint.h>

#include "profile.h"
#include "rec_collect.h"
#include "rec_write.h"

#define REC_CHILDREN_MAX 64

struct rec_children;

/* Follow the descendants of @root_pid.  Borrowed: @prof, @o. */
struct rec_children *rec_children__new(int root_pid, struct profile *prof,
				       const struct rec_collect_opts *o);
void rec_children__free(struct rec_children *k);

/* Look for new descendants (at most every 100 ms); cheap otherwise. */
void rec_children__discover(struct rec_children *k, uint64_t now_ns);

/* Called for every sampled thread of a child, as recorder_opts.observe. */
typedef int (*rec_children_observe_fn)(void *ctx, uint64_t ts_ns, int pid,
					const struct py_sample_thread *t,
					uint32_t stack);

/*
 * Also stream children to @raw (a PROCESS record names each; every thread
 * of every sample is written) and call @observe; either may be NULL.
 */
void rec_children__set_outputs(struct rec_children *k, struct rec_write *raw,
			       rec_children_observe_fn observe, void *ctx);

/*
 * Take one sample (at @ts_ns since the start) of every live child Python
 * process.  Returns 0, or the first error of a write to the outputs.
 */
int rec_children__sample(struct rec_children *k, uint64_t ts_ns);

/* Thread samples kept and errors, summed over children. */
void rec_children__totals(const struct rec_children *k, uint64_t *kept,
			  uint64_t *errors, unsigned *processes);

/* The root frame label for a process: process <pid> "<cmdline>". */
void rec_children__label(int pid, char *buf, size_t len);

#endif
