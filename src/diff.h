/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two profiles compared: stacks matched by their frames' labels (the
 * collapsed text), a "before" and an "after" count per stack, optional
 * normalisation, the three-column differential collapsed format
 * (inferno's difffolded) and the functions whose share of the samples
 * changed most.  The after counts live in a profile, so the flame graph
 * takes after's shape; before counts are kept beside it.
 */
#ifndef PEEKA_DIFF_H
#define PEEKA_DIFF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "profile.h"

enum diff_side { DIFF_BEFORE, DIFF_AFTER };

struct diff {
	struct profile *p;       /* frames by label; counts: after */
	uint64_t *before;        /* per stack id */
	size_t cap;
	uint64_t total[2];
};

int diff__init(struct diff *d);
void diff__release(struct diff *d);

/* Add @count samples of a stack (labels, root first) to @side. */
int diff__add(struct diff *d, enum diff_side side, const char *const *labels,
	      size_t n, uint64_t count);

/* Add every sampled stack of @p to @side, by its frames' labels. */
int diff__add_profile(struct diff *d, enum diff_side side,
		      const struct profile *p);

/*
 * Add collapsed text ("root;...;leaf count" lines) to @side.  Returns 0,
 * -ENOMEM, or -EINVAL with the first bad line's number in *bad_line.
 */
int diff__add_collapsed(struct diff *d, enum diff_side side, FILE *f,
			size_t *bad_line);

/* Scale the before counts by total(after) / total(before). */
void diff__normalize(struct diff *d);

/* "stack before after" lines, byte order, every stack seen on either side. */
int diff__write_collapsed(const struct diff *d, FILE *f);

/* The before count of the stack with these frame ids (0 when absent). */
uint64_t diff__before_of(const struct diff *d, const uint32_t *frames,
			 size_t n);

struct diff_change {
	char *function;          /* "name (file)": the label without its line */
	double before_pct, after_pct;   /* share of the samples it is in */
};

/*
 * Functions by the change of their total share (the samples with the
 * function anywhere on the stack, counted once), largest change first.
 * Returns 0 or -ENOMEM; free with diff__changes_free.
 */
int diff__changes(const struct diff *d, struct diff_change **out, size_t *n);
void diff__changes_free(struct diff_change *c, size_t n);

#endif
