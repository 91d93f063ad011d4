/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interactive flame-graph SVG renderer: one self-contained file with
 * percent ("fluid") geometry, per-frame sample offsets for exact zoom,
 * colours by frame class with a shade hashed from the function name, and
 * peeka's own embedded JavaScript and CSS (hover, zoom, regex search,
 * orientation, URL state, light/dark).
 */
#ifndef PEEKA_OUT_SVG_H
#define PEEKA_OUT_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "profile.h"

#define OUT_SVG_MIN_WIDTH_PCT 0.01
#define OUT_SVG_MAX_FRAMES 30000

struct out_svg_opts {
	const char *title;      /* NULL: the profile's title, else "Flame Graph" */
	const char *subtitle;   /* NULL: the profile's subtitle (may be none) */
	double min_width_pct;   /* hide narrower frames; 0: 0.01 */
	size_t max_frames;      /* frame budget, root included; 0: 30000 */
	bool icicle;            /* initial orientation: root on top */
	/*
	 * A differential graph when set: the "before" own samples of the
	 * stack whose frame ids (root first) are given.  Each frame is then
	 * coloured by the change of its own samples (red: grew, blue: shrank,
	 * deeper for larger changes) and its tooltip gives both counts and
	 * the change as a share of all samples.
	 */
	uint64_t (*before_self)(void *ctx, const uint32_t *frames, size_t n);
	void *before_ctx;
};

/*
 * Write the flame graph of @p to @f; @o may be NULL for the defaults.
 * Frames narrower than min_width_pct percent of all samples are left out;
 * when more than max_frames would remain, the cut-off is raised until at
 * most max_frames remain.  Either way the subtitle then says how many
 * frames were hidden and below what width.  Output is deterministic: the
 * same profile gives the same bytes, and a function has the same colour
 * in every graph.
 *
 * Returns 0; -EINVAL for a NULL profile or stream or a negative
 * min_width_pct; -ENODATA when @p has no samples (nothing is written: the
 * caller reports it); -ENOMEM; or -EIO (or the stream's errno) when
 * writing failed.
 */
int out_svg__write(const struct profile *p, FILE *f,
		   const struct out_svg_opts *o);

#endif
