/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka top, shared between its files: the options and the live state
 * (top.c samples and refreshes it, top_view.c turns it into text lines,
 * top_ui.c draws those lines full-screen with ncurses).
 */
#ifndef PEEKA_TOP_H
#define PEEKA_TOP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../native_sym.h"
#include "../native_unwind.h"
#include "../profile.h"
#include "../py_proc.h"
#include "../py_sample.h"
#include "../py_sys.h"
#include "../rec_collect.h"
#include "../top_model.h"

#define TOP_MAX_THREADS 256
#define TOP_PLAIN_ROWS 40
#define TOP_MIN_COLS 60
#define TOP_MIN_LINES 10

struct top_opts {
	int pid;
	double rate;          /* samples a second */
	double delay;         /* seconds between refreshes */
	bool idle, gil, threads, nolineno, once, native, native_all;
	unsigned version[2];
};

struct top_state {
	struct py_proc *pp;
	const struct top_opts *o;
	struct py_sampler *sampler;
	struct native_unwinder *nu;         /* --native */
	struct native_sym *ns;
	struct py_sys_path sp;
	/* [0]: one frame per function (first line), [1]: per line. */
	struct profile *prof[2];
	struct rec_collect *coll[2];
	struct top_model *tm[2];
	struct top_model_opts mo;
	bool by_line;
	/* Since the start or the last reset (R). */
	uint64_t rounds, failed, gil_rounds, thread_samples;
	uint64_t rounds_cur;                /* in the current interval */
	uint64_t rounds_shown;              /* in the interval on screen */
	size_t active, total;               /* threads in the last sample */
	uint64_t start_ns, reset_ns;
	double interval;                    /* seconds the last table covers */
	char cmdline[512];
	char version[32];
	/* Thread filter (T): index into labels, -1 for all threads. */
	const char *labels[TOP_MAX_THREADS];
	size_t nlabels;
	int thread_idx;
	char thread_sel[320];
	bool exited, paused, gil_now;
};

/* The model for the current granularity (built by top_state__refresh). */
static inline struct top_model *top_state__model(struct top_state *s)
{
	return s->tm[s->by_line];
}

/* Rebuild the table from what was sampled, then start a new interval. */
int top_state__refresh(struct top_state *s);

/*
 * Rebuild the table for a new granularity or thread filter, from the
 * interval so far (no new interval starts).
 */
int top_state__rebuild(struct top_state *s);

/* Drop every count (the R key). */
int top_state__reset(struct top_state *s);

/* Select the next thread for the filter (the T key). */
void top_state__next_thread(struct top_state *s);

/* Seconds one sample stands for (elapsed / samples since the reset). */
double top_view__period(const struct top_state *s);

/* The three header lines (without newlines) into @l[0..2]. */
void top_view__header(const struct top_state *s, char l[3][512]);

/* The column titles. */
void top_view__titles(const struct top_state *s, char *buf, size_t len);

/* One row of the table, control characters escaped. */
void top_view__row(const struct top_state *s, const struct top_row *r,
		   char *buf, size_t len);

/* A plain-text snapshot: header, titles, at most @max rows. */
void top_view__print(FILE *f, struct top_state *s, size_t max);

/*
 * The full-screen view until q, Ctrl-C, SIGTERM or the target's exit.
 * Returns a command status (enum cmd_status).
 */
int top_ui__run(struct top_state *s);

/* One sample (top.c).  Returns 0, or -ESRCH when the target is gone. */
int top_state__sample(struct top_state *s);

#endif
