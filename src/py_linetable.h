/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Line-number tables of code objects, all three formats: co_lnotab
 * (3.8-3.9), the 3.10 co_linetable, and the 3.11+ location table.  Pure
 * functions on local bytes; they reproduce PyCode_Addr2Line exactly.
 */
#ifndef PEEKA_PY_LINETABLE_H
#define PEEKA_PY_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/* The line of byte offset @addrq; -1 when the address has no line. */
int py_linetable__lnotab(const uint8_t *tab, size_t len, int firstlineno,
			 int64_t addrq);
int py_linetable__310(const uint8_t *tab, size_t len, int firstlineno,
		      int64_t addrq);
int py_linetable__311(const uint8_t *tab, size_t len, int firstlineno,
		      int64_t addrq);

/* Dispatch on the minor version (3.@minor). */
int py_linetable__line(unsigned minor, const uint8_t *tab, size_t len,
		       int firstlineno, int64_t addrq);

#endif
