/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Facts about the target's sys module: sys.path, from which short file
 * names and the standard-library / site-packages classes are derived.
 */
#ifndef PEEKA_PY_SYS_H
#define PEEKA_PY_SYS_H

#include <stddef.h>

#include "py_proc.h"

struct py_sys_path {
	char **dirs;    /* owned; entries without a trailing '/' */
	size_t n;
	char *stdlib;   /* the entry that is the standard library, or NULL */
};

/* Read the main interpreter's sys.path.  Returns 0 or an error. */
int py_sys__path(struct py_proc *pp, struct py_sys_path *out);
void py_sys_path__release(struct py_sys_path *sp);

/*
 * The file name shown by default: @file relative to the longest sys.path
 * entry that contains it (as users expect, e.g. "json/decoder.py"), else
 * @file itself.  Borrowed pointer into @file.
 */
const char *py_sys_path__short(const struct py_sys_path *sp,
			       const char *file);

/* Set the list by hand (tests); copies the strings. */
int py_sys_path__set(struct py_sys_path *sp, const char *const *dirs,
		     size_t n);

#endif
