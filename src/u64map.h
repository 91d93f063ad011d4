/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growing open-addressing map from non-zero 64-bit keys to 32-bit
 * values: the interning tables of the recording writer.  Memory grows with
 * the number of keys only.
 */
#ifndef PEEKA_U64MAP_H
#define PEEKA_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;     /* 0 = empty */
	uint32_t *vals;
	size_t cap, n;
};

void u64map__init(struct u64map *m);
void u64map__release(struct u64map *m);

/* The value of @key in *val: true when present. */
bool u64map__get(const struct u64map *m, uint64_t key, uint32_t *val);

/* Set @key (non-zero) to @val.  Returns 0 or -ENOMEM. */
int u64map__put(struct u64map *m, uint64_t key, uint32_t val);

/* Two 32-bit halves as one key, never 0 when @a is not 0. */
static inline uint64_t u64map__pair(uint32_t a, uint32_t b)
{
	return (uint64_t)a << 32 | b;
}

#endif
