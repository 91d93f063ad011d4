/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table behind `peeka top` (and the GIL holder's top functions of
 * `peeka gil`): from a profile whose stacks start with a thread frame,
 * per function (or per line, or per thread and function) the samples in
 * which it was the leaf ("own") or anywhere on the stack ("total"), both
 * since the start and since the last mark (the current interval).
 * Recursion counts once per stack in "total".
 */
#ifndef PEEKA_TOP_MODEL_H
#define PEEKA_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"
#include "py_sys.h"

enum top_sort {
	TOP_SORT_OWN_PCT = 0,     /* %Own in the current interval */
	TOP_SORT_TOTAL_PCT,       /* %Total in the current interval */
	TOP_SORT_OWN_TIME,        /* own samples since the start */
	TOP_SORT_TOTAL_TIME,      /* total samples since the start */
};

struct top_row {
	const char *function;
	const char *file;         /* shortened when sys.path is known */
	int line;                 /* 0 when aggregated by function */
	const char *thread;       /* the thread frame's label, or NULL */
	const char *label;        /* "function (file:line)", or "function
				   * [module]" for a native frame */
	uint64_t own, total;      /* since the start (or reset) */
	uint64_t own_cur, total_cur;  /* since the last mark */
};

struct top_model_opts {
	bool by_line;             /* one row per line, not per function */
	bool per_thread;          /* one row per (thread, function) */
	const char *thread;       /* only this thread frame's label; NULL: all */
	enum top_sort sort;
};

struct top_model;

/* @prof (borrowed) must outlive the model; @sp may be NULL. */
struct top_model *top_model__new(const struct profile *prof,
				 const struct py_sys_path *sp);
void top_model__free(struct top_model *m);

/*
 * Rebuild the rows from the profile as it is now, sorted by @o->sort
 * (ties: the other counts, then the name).  Returns 0 or -ENOMEM.
 */
int top_model__build(struct top_model *m, const struct top_model_opts *o);

/* Sort the rows of the last build again, by @sort. */
void top_model__sort(struct top_model *m, enum top_sort sort);

/* The rows of the last build (borrowed until the next build). */
const struct top_row *top_model__rows(const struct top_model *m, size_t *n);

/* Samples since the start and in the current interval (all threads
 * matching the filter). */
uint64_t top_model__samples(const struct top_model *m);
uint64_t top_model__samples_cur(const struct top_model *m);

/* Start a new interval: the "cur" counts restart from zero. */
int top_model__mark(struct top_model *m);

/*
 * The labels of the thread frames seen so far, in order of first
 * appearance (borrowed from the profile).  Returns the count; stores at
 * most @cap.
 */
size_t top_model__threads(const struct top_model *m, const char **labels,
			  size_t cap);

#endif
