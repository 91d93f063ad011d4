/* SPDX-License-Identifier: Apache-2.0 */
/* The u64map: linear probing, a multiplicative hash, doubled at half full. */
#include "u64map.h"

#include <errno.h>
#include <stdlib.h>

void u64map__init(struct u64map *m)
{
	m->keys = NULL;
	m->vals = NULL;
	m->cap = 0;
	m->n = 0;
}

void u64map__release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	u64map__init(m);
}

static size_t slot(const struct u64map *m, uint64_t key)
{
	size_t h = (size_t)((key ^ (key >> 29)) * 0x9e3779b97f4a7c15ULL);

	h &= m->cap - 1;
	while (m->keys[h] && m->keys[h] != key)
		h = (h + 1) & (m->cap - 1);
	return h;
}

bool u64map__get(const struct u64map *m, uint64_t key, uint32_t *val)
{
	size_t s;

	if (!m->cap || !key)
		return false;
	s = slot(m, key);
	if (!m->keys[s])
		return false;
	*val = m->vals[s];
	return true;
}

static int grow(struct u64map *m)
{
	struct u64map b = { 0 };

	b.cap = m->cap ? m->cap * 2 : 256;
	b.keys = calloc(b.cap, sizeof(*b.keys));
	b.vals = calloc(b.cap, sizeof(*b.vals));
	if (!b.keys || !b.vals) {
		free(b.keys);
		free(b.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t s;

		if (!m->keys[i])
			continue;
		s = slot(&b, m->keys[i]);
		b.keys[s] = m->keys[i];
		b.vals[s] = m->vals[i];
	}
	b.n = m->n;
	free(m->keys);
	free(m->vals);
	*m = b;
	return 0;
}

int u64map__put(struct u64map *m, uint64_t key, uint32_t val)
{
	size_t s;

	if (!key)
		return -EINVAL;
	if (2 * (m->n + 1) > m->cap && grow(m))
		return -ENOMEM;
	s = slot(m, key);
	if (!m->keys[s]) {
		m->keys[s] = key;
		m->n++;
	}
	m->vals[s] = val;
	return 0;
}
