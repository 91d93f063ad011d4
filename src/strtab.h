/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interned strings: each distinct string gets a dense index (0, 1, ...)
 * in the order first seen, looked up by a 64-bit FNV-1a hash and
 * confirmed by content (a collision probes on).  The string tables of the
 * recording writer and the pprof writer, and diff's function groups.
 */
#ifndef PEEKA_STRTAB_H
#define PEEKA_STRTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "u64map.h"

struct strtab {
	struct u64map ids;
	char **s;         /* index -> owned copy */
	size_t n, cap;
};

void strtab__init(struct strtab *t);
void strtab__release(struct strtab *t);

/*
 * The index of @s, added (copied) when new, with *added set then (may be
 * NULL).  Returns -1 when out of memory.
 */
long strtab__intern(struct strtab *t, const char *s, bool *added);

#endif
