/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A frame's arguments and local variables, each with a short, bounded repr:
 * exact values for None, bool, int, float, str and bytes; the type, address
 * and length for containers and other objects.  Never calls into Python.
 */
#ifndef PEEKA_PY_LOCALS_H
#define PEEKA_PY_LOCALS_H

#include <stdbool.h>
#include <stddef.h>

#include "py_frame.h"
#include "py_proc.h"

#define PY_LOCAL_NAME_MAX 128
#define PY_REPR_MAX 160
#define PY_LOCALS_MAX 256

struct py_local {
	char name[PY_LOCAL_NAME_MAX];
	char repr[PY_REPR_MAX];
	bool is_arg;
};

/*
 * The bound locals of @f into @out (capacity @cap), in declaration order.
 * Unbound ones are left out.  Returns 0 or an error (*n are valid).
 */
int py_locals__read(struct py_proc *pp, const struct py_frame *f,
		    struct py_local *out, size_t cap, size_t *n);

/* A short repr of the remote object @obj into @buf. */
void py_repr(struct py_proc *pp, uint64_t obj, char *buf, size_t len);

#endif
