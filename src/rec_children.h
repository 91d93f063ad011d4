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

#define REC_CHILDREN_MAX 64

struct rec_children;

/* Follow the descendants of @root_pid.  Borrowed: @prof, @o. */
struct rec_children *rec_children__new(int root_pid, struct profile *prof,
				       const struct rec_collect_opts *o);
void rec_children__free(struct rec_children *k);

/* Look for new descendants (at most every 100 ms); cheap otherwise. */
void rec_children__discover(struct rec_children *k, uint64_t now_ns);

/* Take one sample of every live child Python process. */
void rec_children__sample(struct rec_children *k);

/* Thread samples kept and errors, summed over children. */
void rec_children__totals(const struct rec_children *k, uint64_t *kept,
			  uint64_t *errors, unsigned *processes);

/* The root frame label for a process: process <pid> "<cmdline>". */
void rec_children__label(int pid, char *buf, size_t len);

#endif
