/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Merge a profile's stacks into a prefix tree: a hash table on (parent,
 * frame) while inserting, then one sort that groups and orders every
 * node's children, then a pass that assigns sample offsets.  The tree
 * never looks at labels again after ranking the frames once.
 */
#include "flame_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct frame_key {
	const struct prof_frame *f;
	uint32_t id;
};

struct kid_key {
	uint32_t parent;
	uint32_t rank;
	uint32_t node;
};

struct builder {
	struct flame_tree *t;
	uint32_t *rank;     /* frame id -> position in label order */
	uint32_t *slots;    /* node index + 1, 0 = empty */
	size_t nslots;
};

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Byte order of labels; equal labels (same text, other class or raw
 * name) fall back to class, raw strings and finally the id. */
static int cmp_frames(const void *a, const void *b)
{
	const struct frame_key *x = a, *y = b;
	int c = strcmp(x->f->label, y->f->label);

	if (c)
		return c;
	if (x->f->cls != y->f->cls)
		return x->f->cls < y->f->cls ? -1 : 1;
	c = strcmp(x->f->function, y->f->function);
	if (!c)
		c = strcmp(x->f->file, y->f->file);
	if (!c && x->f->line != y->f->line)
		c = x->f->line < y->f->line ? -1 : 1;
	if (!c)
		c = x->id < y->id ? -1 : 1;
	return c;
}

static int rank_frames(struct builder *b, const struct profile *p)
{
	size_t n = profile__nframes(p);
	struct frame_key *keys = calloc(n + 1, sizeof(*keys));

	b->rank = calloc(n + 1, sizeof(*b->rank));
	if (!keys || !b->rank) {
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		keys[i].f = profile__frame(p, (uint32_t)i);
		keys[i].id = (uint32_t)i;
	}
	qsort(keys, n, sizeof(*keys), cmp_frames);
	for (size_t i = 0; i < n; i++)
		b->rank[keys[i].id] = (uint32_t)i;
	free(keys);
	return 0;
}

static size_t slot_of(uint32_t parent, uint32_t frame, size_t nslots)
{
	return mix64(((uint64_t)parent << 32) | frame) & (nslots - 1);
}

static int grow_slots(struct builder *b)
{
	size_t n = b->nslots ? b->nslots * 2 : 4096;
	uint32_t *s = calloc(n, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 1; i < b->t->n; i++) {
		const struct flame_node *nd = &b->t->nodes[i];
		size_t k = slot_of(nd->parent, nd->frame, n);

		while (s[k])
			k = (k + 1) & (n - 1);
		s[k] = (uint32_t)i + 1;
	}
	free(b->slots);
	b->slots = s;
	b->nslots = n;
	return 0;
}

static int new_node(struct flame_tree *t, uint32_t parent, uint32_t frame)
{
	struct flame_node *nd;

	if (t->n >= UINT32_MAX - 1)
		return -EOVERFLOW;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		void *v = realloc(t->nodes, cap * sizeof(*t->nodes));

		if (!v)
			return -ENOMEM;
		t->nodes = v;
		t->cap = cap;
	}
	nd = &t->nodes[t->n];
	memset(nd, 0, sizeof(*nd));
	nd->frame = frame;
	nd->parent = parent;
	nd->depth = frame == FLAME_ROOT_FRAME ? 0 : t->nodes[parent].depth + 1;
	t->n++;
	return 0;
}

/* The child of @parent for @frame, created when missing; < 0 on error. */
static int64_t child_of(struct builder *b, uint32_t parent, uint32_t frame)
{
	size_t k;
	int ret;

	if (2 * (b->t->n + 1) > b->nslots && (ret = grow_slots(b)) < 0)
		return ret;
	for (k = slot_of(parent, frame, b->nslots); b->slots[k];
	     k = (k + 1) & (b->nslots - 1)) {
		const struct flame_node *nd = &b->t->nodes[b->slots[k] - 1];

		if (nd->parent == parent && nd->frame == frame)
			return b->slots[k] - 1;
	}
	ret = new_node(b->t, parent, frame);
	if (ret < 0)
		return ret;
	b->slots[k] = (uint32_t)b->t->n;
	return (int64_t)b->t->n - 1;
}

static int insert_stacks(struct builder *b, const struct profile *p)
{
	struct flame_tree *t = b->t;
	size_t nstacks = profile__nstacks(p);

	for (size_t s = 0; s < nstacks; s++) {
		const uint32_t *ids;
		size_t n;
		uint64_t count = profile__stack(p, (uint32_t)s, &ids, &n);
		uint32_t node = 0;

		if (!count)
			continue;
		t->nodes[0].total += count;
		for (size_t i = 0; i < n; i++) {
			int64_t c = child_of(b, node, ids[i]);

			if (c < 0)
				return (int)c;
			node = (uint32_t)c;
			t->nodes[node].total += count;
		}
	}
	return 0;
}

static int cmp_kids(const void *a, const void *b)
{
	const struct kid_key *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return 0;
}

/* Group and order children, then give every node its first sample. */
static int order_kids(struct builder *b)
{
	struct flame_tree *t = b->t;
	struct kid_key *keys = calloc(t->n, sizeof(*keys));
	size_t nk = t->n - 1;

	t->kids = calloc(t->n, sizeof(*t->kids));
	if (!keys || !t->kids) {
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nk; i++) {
		keys[i].parent = t->nodes[i + 1].parent;
		keys[i].rank = b->rank[t->nodes[i + 1].frame];
		keys[i].node = (uint32_t)i + 1;
	}
	qsort(keys, nk, sizeof(*keys), cmp_kids);
	for (size_t i = 0; i < nk; i++) {
		struct flame_node *par = &t->nodes[keys[i].parent];

		if (!par->nkids)
			par->first = (uint32_t)i;
		par->nkids++;
		t->kids[i] = keys[i].node;
	}
	free(keys);
	for (size_t i = 0; i < t->n; i++) {
		uint64_t s = t->nodes[i].start;

		for (uint32_t k = 0; k < t->nodes[i].nkids; k++) {
			struct flame_node *c = &t->nodes[t->kids[t->nodes[i].first + k]];

			c->start = s;
			s += c->total;
		}
	}
	return 0;
}

int flame_tree__build(struct flame_tree *t, const struct profile *p)
{
	struct builder b = { .t = t };
	int ret;

	memset(t, 0, sizeof(*t));
	ret = new_node(t, 0, FLAME_ROOT_FRAME);
	if (!ret)
		ret = rank_frames(&b, p);
	if (!ret)
		ret = insert_stacks(&b, p);
	free(b.slots);
	if (!ret)
		ret = order_kids(&b);
	free(b.rank);
	if (ret)
		flame_tree__release(t);
	return ret;
}

void flame_tree__release(struct flame_tree *t)
{
	free(t->nodes);
	free(t->kids);
	memset(t, 0, sizeof(*t));
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x > y ? -1 : x < y;
}

/* The smallest width (samples) that is at least @pct percent of @total. */
static uint64_t pct_to_samples(double pct, uint64_t total)
{
	double want = pct * (double)total;
	uint64_t s = (uint64_t)(want / 100.0);

	while (s > 0 && (double)(s - 1) * 100.0 >= want)
		s--;
	while ((double)s * 100.0 < want)
		s++;
	return s ? s : 1;
}

/* Nodes other than the root at least @thr wide. */
static size_t count_wide(const struct flame_tree *t, uint64_t thr)
{
	size_t n = 0;

	for (size_t i = 1; i < t->n; i++)
		n += t->nodes[i].total >= thr;
	return n;
}

uint64_t flame_tree__threshold(const struct flame_tree *t, double min_pct,
			       size_t max_frames, size_t *hidden)
{
	uint64_t thr = pct_to_samples(min_pct, t->nodes[0].total), *w;
	size_t budget = max_frames > 1 ? max_frames - 1 : 0;  /* root aside */
	size_t n = count_wide(t, thr);

	if (n > budget) {
		/* Keep the widest; ties with the first one dropped go too,
		 * so the cut is a width, not a count. */
		w = malloc(n * sizeof(*w));
		if (!w)
			return UINT64_MAX;
		n = 0;
		for (size_t i = 1; i < t->n; i++)
			if (t->nodes[i].total >= thr)
				w[n++] = t->nodes[i].total;
		qsort(w, n, sizeof(*w), cmp_desc);
		thr = w[budget] + 1;
		free(w);
		n = count_wide(t, thr);
	}
	*hidden = t->n - 1 - n;
	return thr;
}
