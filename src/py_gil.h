/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The main interpreter's GIL as data: where its struct is, whether it is
 * enabled, and one-read snapshots of its state (locked, last holder and
 * the switch counter CPython increments on every hand-over).  Also the
 * test for "this thread waits for the GIL": blocked in futex() on an
 * address inside the GIL struct (its mutex or one of its condition
 * variables).  Read-only.
 */
#ifndef PEEKA_PY_GIL_H
#define PEEKA_PY_GIL_H

#include <stdbool.h>
#include <stdint.h>

#include "proc_task.h"
#include "py_proc.h"

struct py_gil {
	uint64_t addr;        /* struct _gil_runtime_state */
	uint64_t size;
	bool enabled;         /* false: free-threaded build with the GIL off */
	bool free_threaded;   /* a free-threaded (t) build */
};

struct py_gil_state {
	bool locked;
	uint64_t holder;      /* thread state of the holder, 0 when released */
	uint64_t switches;    /* switch_number */
};

/* Locate the main interpreter's GIL.  Returns 0 or an error. */
int py_gil__open(struct py_proc *pp, struct py_gil *g);

/* Read the GIL's state in one read.  Returns 0 or an error. */
int py_gil__read(struct py_proc *pp, const struct py_gil *g,
		 struct py_gil_state *st);

/* Whether a thread in system call @sc waits for the GIL @g. */
bool py_gil__waiting(const struct py_gil *g, const struct proc_syscall *sc);

#endif
