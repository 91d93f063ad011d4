/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote code objects: names, file, first line, line table and the local
 * variable descriptors, read once and cached by remote address.
 */
#ifndef PEEKA_PY_CODE_H
#define PEEKA_PY_CODE_H

#include <stddef.h>
#include <stdint.h>

#include "py_proc.h"

#define PY_CODE_LINE_MEMO 8   /* power of two */

struct py_code {
	uint64_t addr;
	uint64_t raw[4];     /* co_filename, co_name, co_qualname, co_linetable
			      * pointers: a reused address must match these */
	char *name;          /* co_name */
	char *qualname;      /* co_qualname (3.11+), else co_name */
	char *filename;      /* co_filename */
	int firstlineno;
	int firsttraceable;  /* code units; 3.11+ */
	uint8_t *linetable;
	size_t linetable_len;
	int argcount, posonlyargcount, kwonlyargcount, flags;
	int nlocals;         /* <=3.10: co_nlocals; 3.11+: co_nlocalsplus */
	int64_t ncodeunits;  /* 3.11+: ob_size; <=3.10: len(co_code)/2 */
	uint64_t varnames, cellvars, freevars;        /* <=3.10 tuples */
	uint64_t localsplusnames, localspluskinds;    /* 3.11+ */
	uint64_t tlbc;       /* 3.14t: _PyCodeArray of per-thread bytecode */
	/* Recent py_code__line answers: addrq + 3 (0 = empty) and line. */
	int64_t memo_q[PY_CODE_LINE_MEMO];
	int memo_line[PY_CODE_LINE_MEMO];
};

struct py_code_cache;

struct py_code_cache *py_code_cache__new(void);
void py_code_cache__free(struct py_code_cache *c);

/*
 * The code object at remote @addr, from the cache or read now.  The result
 * is borrowed: valid until the py_proc is closed.  Returns 0, -errno or
 * PE_CORRUPT (not a code object).
 */
int py_code__get(struct py_proc *pp, uint64_t addr,
		 const struct py_code **out);

/*
 * Check that the cached code objects at @addrs (n of them) are still the
 * objects we read: one process_vm_readv for all.  A code object whose
 * address was reused for something else is dropped from the cache (its
 * struct stays allocated until the cache is freed, so borrowed pointers
 * remain valid) and 1 is returned; 0 when all are current; <0 on error.
 */
int py_code__validate(struct py_proc *pp, const uint64_t *addrs, size_t n);

/*
 * The line of byte offset @addrq in @c, or -1 when it has none.  Answers
 * are memoised in @c (the code object is immutable; only the memo changes).
 */
int py_code__line(const struct py_proc *pp, const struct py_code *c,
		  int64_t addrq);

#endif
