/* SPDX-License-Identifier: Apache-2.0 */
/* The string table: copies in an array, a hash map over them. */
#include "strtab.h"

#include <stdlib.h>
#include <string.h>

void strtab__init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
	u64map__init(&t->ids);
}

void strtab__release(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	u64map__release(&t->ids);
	strtab__init(t);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h ? h : 1;
}

long strtab__intern(struct strtab *t, const char *s, bool *added)
{
	uint64_t h = fnv1a(s);
	uint32_t i;
	char *copy;

	if (added)
		*added = false;
	/* Probe past a (rare) 64-bit collision to the string's own key. */
	while (u64map__get(&t->ids, h, &i)) {
		if (!strcmp(t->s[i], s))
			return i;
		h = h * 0x100000001b3ULL + 1;
		h = h ? h : 1;
	}
	if (t->n == t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 64;
		char **ns = realloc(t->s, ncap * sizeof(*ns));

		if (!ns)
			return -1;
		t->s = ns;
		t->cap = ncap;
	}
	copy = strdup(s);
	if (!copy || u64map__put(&t->ids, h, (uint32_t)t->n)) {
		free(copy);
		return -1;
	}
	t->s[t->n] = copy;
	if (added)
		*added = true;
	return (long)t->n++;
}
