/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The differential profile: both sides interned into one profile by
 * label; the collapsed parser and writer; the per-function summary.
 */
#include "diff.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strtab.h"

#define MAX_DEPTH 4100
#define LINE_MAX_LEN (1u << 20)

int diff__init(struct diff *d)
{
	memset(d, 0, sizeof(*d));
	d->p = profile__new();
	return d->p ? 0 : -ENOMEM;
}

void diff__release(struct diff *d)
{
	profile__free(d->p);
	free(d->before);
	memset(d, 0, sizeof(*d));
}

static int add_ids(struct diff *d, enum diff_side side, const uint32_t *ids,
		   size_t n, uint64_t count)
{
	uint32_t s = profile__stack_id(d->p, ids, n);

	if (s == UINT32_MAX)
		return -ENOMEM;
	d->total[side] += count;
	if (side == DIFF_AFTER) {
		profile__add(d->p, s, count);
		return 0;
	}
	if (s >= d->cap) {
		size_t ncap = d->cap ? d->cap : 1024;
		uint64_t *nb;

		while (ncap <= s)
			ncap *= 2;
		nb = realloc(d->before, ncap * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		memset(nb + d->cap, 0, (ncap - d->cap) * sizeof(*nb));
		d->before = nb;
		d->cap = ncap;
	}
	d->before[s] += count;
	return 0;
}

int diff__add(struct diff *d, enum diff_side side, const char *const *labels,
	      size_t n, uint64_t count)
{
	uint32_t ids[MAX_DEPTH];

	if (n > MAX_DEPTH)
		n = MAX_DEPTH;
	for (size_t i = 0; i < n; i++) {
		ids[i] = profile__frame_id(d->p, labels[i], "", 0, PROF_APP);
		if (ids[i] == UINT32_MAX)
			return -ENOMEM;
	}
	return add_ids(d, side, ids, n, count);
}

int diff__add_profile(struct diff *d, enum diff_side side,
		      const struct profile *p)
{
	const char *labels[MAX_DEPTH];

	for (uint32_t s = 0; s < profile__nstacks(p); s++) {
		const uint32_t *ids;
		size_t n;
		uint64_t count = profile__stack(p, s, &ids, &n);
		int ret;

		if (!count)
			continue;
		if (n > MAX_DEPTH)
			n = MAX_DEPTH;
		for (size_t i = 0; i < n; i++)
			labels[i] = profile__frame(p, ids[i])->label;
		ret = diff__add(d, side, labels, n, count);
		if (ret)
			return ret;
	}
	return 0;
}

/* "a;b;c 12": split in place into labels; the count in *count. */
static int parse_line(char *line, const char **labels, size_t *n,
		      uint64_t *count)
{
	char *sp = strrchr(line, ' '), *end, *tok;
	unsigned long long v;

	if (!sp || sp == line || !sp[1])
		return -EINVAL;
	errno = 0;
	v = strtoull(sp + 1, &end, 10);
	/* Counts past 2^53 are not samples, and their sums would wrap. */
	if (errno || *end || sp[1] == '-' || v > (1ULL << 53))
		return -EINVAL;
	*sp = '\0';
	*count = v;
	*n = 0;
	for (tok = line; tok && *n < MAX_DEPTH;) {
		char *semi = strchr(tok, ';');

		if (semi)
			*semi = '\0';
		if (!*tok)
			return -EINVAL;
		labels[(*n)++] = tok;
		tok = semi ? semi + 1 : NULL;
	}
	return 0;
}

int diff__add_collapsed(struct diff *d, enum diff_side side, FILE *f,
			size_t *bad_line)
{
	const char **labels = malloc(MAX_DEPTH * sizeof(*labels));
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int ret = labels ? 0 : -ENOMEM;

	*bad_line = 0;
	while (!ret && (len = getline(&line, &cap, f)) >= 0) {
		uint64_t count;
		size_t n;

		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len)
			continue;
		if ((size_t)len > LINE_MAX_LEN ||
		    parse_line(line, labels, &n, &count)) {
			*bad_line = lineno;
			ret = -EINVAL;
			break;
		}
		ret = diff__add(d, side, labels, n, count);
	}
	free(line);
	free(labels);
	return ret;
}

void diff__normalize(struct diff *d)
{
	double k;

	if (!d->total[DIFF_BEFORE] || d->total[DIFF_BEFORE] == d->total[DIFF_AFTER])
		return;
	k = (double)d->total[DIFF_AFTER] / (double)d->total[DIFF_BEFORE];
	for (size_t i = 0; i < d->cap; i++)
		d->before[i] = (uint64_t)llround((double)d->before[i] * k);
	d->total[DIFF_BEFORE] = d->total[DIFF_AFTER];
}

uint64_t diff__before_of(const struct diff *d, const uint32_t *frames,
			 size_t n)
{
	uint32_t s = profile__stack_find(d->p, frames, n);

	return s != UINT32_MAX && s < d->cap ? d->before[s] : 0;
}

struct line {
	char *text;
	uint64_t before, after;
};

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

int diff__write_collapsed(const struct diff *d, FILE *f)
{
	size_t ns = profile__nstacks(d->p), n = 0;
	struct line *lines = calloc(ns ? ns : 1, sizeof(*lines));
	int ret = lines ? 0 : -ENOMEM;

	for (uint32_t s = 0; !ret && s < ns; s++) {
		const uint32_t *ids;
		size_t k, len = 0;
		uint64_t after = profile__stack(d->p, s, &ids, &k);
		uint64_t before = s < d->cap ? d->before[s] : 0;
		char *t;

		if (!after && !before)
			continue;
		for (size_t i = 0; i < k; i++)
			len += strlen(profile__frame(d->p, ids[i])->label) + 1;
		t = malloc(len + 1);
		if (!t) {
			ret = -ENOMEM;
			break;
		}
		t[0] = '\0';
		for (size_t i = 0, off = 0; i < k; i++) {
			const char *l = profile__frame(d->p, ids[i])->label;
			size_t m = strlen(l);

			memcpy(t + off, l, m);
			off += m;
			t[off++] = i + 1 < k ? ';' : '\0';
		}
		lines[n++] = (struct line){ t, before, after };
	}
	if (!ret)
		qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; !ret && i < n; i++)
		if (fprintf(f, "%s %llu %llu\n", lines[i].text,
			    (unsigned long long)lines[i].before,
			    (unsigned long long)lines[i].after) < 0)
			ret = -EIO;
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	return ret;
}

/* "name (file:12)" -> "name (file)": a function, whatever its line. */
static char *function_of(const char *label)
{
	size_t len = strlen(label), i = len;
	char *s;

	if (len > 3 && label[len - 1] == ')') {
		for (i = len - 1; i > 0 && label[i - 1] >= '0' && label[i - 1] <= '9'; i--)
			;
		if (i > 0 && i < len - 1 && label[i - 1] == ':')
			i--;
		else
			i = len;
	}
	s = malloc(len + 1);
	if (!s)
		return NULL;
	memcpy(s, label, i);
	if (i < len)
		s[i++] = ')';
	s[i] = '\0';
	return s;
}

static int cmp_change(const void *a, const void *b)
{
	const struct diff_change *x = a, *y = b;
	double dx = fabs(x->after_pct - x->before_pct);
	double dy = fabs(y->after_pct - y->before_pct);

	if (dx != dy)
		return dx < dy ? 1 : -1;
	return strcmp(x->function, y->function);
}

int diff__changes(const struct diff *d, struct diff_change **out, size_t *n)
{
	size_t nf = profile__nframes(d->p), nc = 0;
	struct diff_change *c = calloc(nf ? nf : 1, sizeof(*c));
	uint32_t *group = calloc(nf ? nf : 1, sizeof(*group)), *seen = NULL;
	double total[2];
	struct strtab names;
	int ret = c && group ? 0 : -ENOMEM;

	strtab__init(&names);
	/* Group frames into functions (by the label without its line). */
	for (uint32_t f = 0; !ret && f < nf; f++) {
		char *fn = function_of(profile__frame(d->p, f)->label);
		long g = fn ? strtab__intern(&names, fn, NULL) : -1;

		free(fn);
		if (g < 0)
			ret = -ENOMEM;
		else
			group[f] = (uint32_t)g;
	}
	nc = names.n;
	for (size_t g = 0; !ret && g < nc; g++)
		if (!(c[g].function = strdup(names.s[g])))
			ret = -ENOMEM;
	strtab__release(&names);
	/* Total time: a stack's count goes to every function on it, once. */
	seen = calloc(nc ? nc : 1, sizeof(*seen));
	if (!ret && !seen)
		ret = -ENOMEM;
	for (uint32_t s = 0; !ret && s < profile__nstacks(d->p); s++) {
		const uint32_t *ids;
		size_t k;
		uint64_t after = profile__stack(d->p, s, &ids, &k);
		uint64_t before = s < d->cap ? d->before[s] : 0;

		if (!after && !before)
			continue;
		for (size_t i = 0; i < k; i++) {
			uint32_t g = group[ids[i]];

			if (seen[g] == s + 1)
				continue;
			seen[g] = s + 1;
			c[g].before_pct += (double)before;
			c[g].after_pct += (double)after;
		}
	}
	total[0] = (double)d->total[DIFF_BEFORE];
	total[1] = (double)d->total[DIFF_AFTER];
	for (size_t i = 0; i < nc; i++) {
		c[i].before_pct = total[0] > 0 ? 100.0 * c[i].before_pct / total[0] : 0;
		c[i].after_pct = total[1] > 0 ? 100.0 * c[i].after_pct / total[1] : 0;
	}
	free(seen);
	free(group);
	if (ret) {
		diff__changes_free(c, nc);
		return ret;
	}
	qsort(c, nc, sizeof(*c), cmp_change);
	*out = c;
	*n = nc;
	return 0;
}

void diff__changes_free(struct diff_change *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].function);
	free(c);
}
