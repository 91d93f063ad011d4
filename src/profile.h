/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An aggregated profile: interned frames, interned stacks (root first) and
 * a sample count per distinct stack.  Memory grows with the number of
 * distinct frames and stacks, never with the number of samples.  The
 * renderers (collapsed text, flame-graph SVG) read it; the sampler fills it.
 */
#ifndef PEEKA_PROFILE_H
#define PEEKA_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What a frame is, for colouring and filtering. */
enum prof_class {
	PROF_APP = 0,     /* the user's own code */
	PROF_STDLIB,      /* the standard library (under the prefix's lib/pythonX.Y) */
	PROF_SITE,        /* third-party packages (site-packages, dist-packages) */
	PROF_NATIVE,      /* native (C) frames */
	PROF_THREAD,      /* synthetic "thread …" root frames */
	PROF_PROCESS,     /* synthetic "process …" root frames */
	PROF_OTHER,       /* <frozen …>, <string>, idle markers and the like */
	PROF__NCLASS
};

struct prof_frame {
	const char *label;      /* "function (file:line)": collapsed-safe */
	const char *function;   /* as the interpreter names it */
	const char *file;       /* as displayed (short or full); may be "" */
	int line;               /* 0 when not shown */
	enum prof_class cls;
};

struct profile;

struct profile *profile__new(void);
void profile__free(struct profile *p);

/*
 * Intern a frame; returns its id (stable for the profile's life), or
 * UINT32_MAX when out of memory.  The label is built here and sanitised for
 * the collapsed format: no ';', no control characters or newlines, never
 * empty, never ending in " <digits>".  Strings are copied.
 */
uint32_t profile__frame_id(struct profile *p, const char *function,
			   const char *file, int line, enum prof_class cls);

/*
 * Intern a stack of frame ids, root first; returns its id, or UINT32_MAX
 * when out of memory.  An empty stack is allowed.
 */
uint32_t profile__stack_id(struct profile *p, const uint32_t *frames,
			   size_t n);

/* The id of an interned stack, or UINT32_MAX when it is not there. */
uint32_t profile__stack_find(const struct profile *p, const uint32_t *frames,
			     size_t n);

/* Add @count samples to stack @stack. */
void profile__add(struct profile *p, uint32_t stack, uint64_t count);

/* Totals. */
uint64_t profile__total(const struct profile *p);
size_t profile__nframes(const struct profile *p);
size_t profile__nstacks(const struct profile *p);

/* Frame @id (borrowed, valid for the profile's life). */
const struct prof_frame *profile__frame(const struct profile *p, uint32_t id);

/*
 * Stack @id: its frame ids root first (borrowed) in *frames and *n, and
 * its sample count (0 for stacks interned but never sampled).
 */
uint64_t profile__stack(const struct profile *p, uint32_t id,
			const uint32_t **frames, size_t *n);

/*
 * Write the collapsed ("folded") format: one line per sampled stack,
 * "root;…;leaf count", sorted in byte order, nothing else.  Returns 0 or
 * -errno.
 */
int profile__write_collapsed(const struct profile *p, FILE *f);

/* Replace ';' and control characters in place (the label builder also
 * guards against empty names and trailing " <digits>"). */
void profile__sanitize_label(char *s);

/*
 * A copy of @p in which @fn may change each frame's file name and class
 * (e.g. shorten paths once sys.path is known); frames that become equal
 * are merged and their stacks' counts summed.  NULL when out of memory.
 */
typedef void (*profile_remap_fn)(void *ctx, const struct prof_frame *f,
				 const char **file, enum prof_class *cls);
struct profile *profile__remap(const struct profile *p, profile_remap_fn fn,
			       void *ctx);

/* Metadata shown in titles and summaries; strings are copied. */
struct prof_meta {
	char *title;      /* e.g. the command line */
	char *subtitle;   /* Python version, duration, samples, rate */
};

void profile__set_meta(struct profile *p, const char *title,
		       const char *subtitle);
const struct prof_meta *profile__meta(const struct profile *p);

#endif
