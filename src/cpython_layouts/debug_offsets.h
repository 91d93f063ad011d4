/* SPDX-License-Identifier: Apache-2.0 */
/*
 * _Py_DebugOffsets (3.13+): the table CPython embeds at the start of
 * _PyRuntime for out-of-process tools.  Parsed here and compared field by
 * field with our generated layout; the target's value wins.
 */
#ifndef PEEKA_DEBUG_OFFSETS_H
#define PEEKA_DEBUG_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#define DEBUG_OFFSETS_MAX_WORDS 128

struct debug_offsets {
	uint64_t version;
	uint64_t free_threaded;
	unsigned minor;              /* 13 or 14: which struct layout */
	size_t nwords;               /* words after the 24-byte header */
	uint64_t w[DEBUG_OFFSETS_MAX_WORDS];
};

/* Size in bytes of the struct for a minor version (584, 760), or 0. */
size_t debug_offsets__size(unsigned minor);

/*
 * Parse @len bytes read from &_PyRuntime.  Returns 0, or PE_CORRUPT (bad
 * cookie or length), PE_UNSUPPORTED (minor without a known struct).
 */
int debug_offsets__parse(struct debug_offsets *d, const void *buf,
			 size_t len);

/*
 * Look a value up by its CPython name ("thread_state.current_frame").
 * Returns 0 or -1 when this version's struct has no such field.
 */
int debug_offsets__get(const struct debug_offsets *d, const char *name,
		       uint64_t *out);

/* Set the word named @name; 0 or -1 when this version has no such word. */
int debug_offsets__set(struct debug_offsets *d, const char *name,
		       uint64_t value);

/*
 * Set every word that maps to a field present in @l to @l's value (the
 * table our layout predicts).  Returns the number of words set.
 */
int debug_offsets__fill_from(struct debug_offsets *d,
			     const struct py_layout *l);

/* Called once per differing field by debug_offsets__apply. */
typedef void (*debug_offsets_mismatch_fn)(void *ctx, const char *cpython_name,
					  enum layout_field f, int64_t ours,
					  int64_t theirs);

/*
 * Compare @d with @l and overwrite @l's values with the target's.  Calls
 * @fn for each differing field.  Returns the number of differences in
 * offsets (size differences are reported through @fn but not counted).
 */
int debug_offsets__apply(const struct debug_offsets *d, struct py_layout *l,
			 debug_offsets_mismatch_fn fn, void *ctx);

#endif
