/* SPDX-License-Identifier: Apache-2.0 */
/* Writing a finished profile in an output format: shared by record and report. */
#ifndef PEEKA_RENDER_H
#define PEEKA_RENDER_H

#include <stdio.h>

#include "../profile.h"
#include "record_opts.h"

/*
 * Write @prof to @f as @fmt (flame graph or collapsed) and close @f.
 * Prints one error line naming @path on failure.  Returns 0 or -1.
 */
int render_profile(struct profile *prof, FILE *f, enum rec_format fmt,
		   const char *path);

#endif
