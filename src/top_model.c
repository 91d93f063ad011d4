/* SPDX-License-Identifier: Apache-2.0 */
/* Own and total counts per function, line or thread, from a profile. */
#include "top_model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "u64map.h"

#define NO_THREAD UINT32_MAX

struct top_model {
	const struct profile *prof;
	const struct py_sys_path *sp;
	struct profile *keys;       /* interned (function, file, line) */
	bool keys_by_line;
	uint32_t *frame_key;        /* profile frame id -> key id */
	size_t nframe_key, cap_frame_key;
	uint64_t *mark;             /* per stack: its count at the last mark */
	size_t nmark;
	struct u64map rowmap;       /* (thread, key) -> row */
	struct top_row *rows;
	uint32_t *row_stamp;
	size_t nrows, cap_rows;
	uint64_t samples, samples_cur;
	enum top_sort sort;
};

struct top_model *top_model__new(const struct profile *prof,
				 const struct py_sys_path *sp)
{
	struct top_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->prof = prof;
	m->sp = sp;
	u64map__init(&m->rowmap);
	return m;
}

void top_model__free(struct top_model *m)
{
	if (!m)
		return;
	profile__free(m->keys);
	free(m->frame_key);
	free(m->mark);
	u64map__release(&m->rowmap);
	free(m->rows);
	free(m->row_stamp);
	free(m);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	q = realloc(*p, ncap * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = ncap;
	return 0;
}

/* The key of every profile frame, for the current granularity. */
static int update_keys(struct top_model *m, bool by_line)
{
	size_t nframes = profile__nframes(m->prof);

	if (!m->keys || m->keys_by_line != by_line) {
		profile__free(m->keys);
		m->keys = profile__new();
		if (!m->keys)
			return -ENOMEM;
		m->keys_by_line = by_line;
		m->nframe_key = 0;
	}
	if (grow((void **)&m->frame_key, &m->cap_frame_key, nframes,
		 sizeof(*m->frame_key)))
		return -ENOMEM;
	for (size_t i = m->nframe_key; i < nframes; i++) {
		const struct prof_frame *f = profile__frame(m->prof, (uint32_t)i);
		const char *file = f->file;

		if (m->sp && file && *file)
			file = py_sys_path__short(m->sp, file);
		m->frame_key[i] = profile__frame_id(m->keys, f->function, file,
						    by_line ? f->line : 0, f->cls);
		if (m->frame_key[i] == UINT32_MAX)
			return -ENOMEM;
	}
	m->nframe_key = nframes;
	return 0;
}

static int row_of(struct top_model *m, uint32_t thread, uint32_t key,
		  uint32_t *row)
{
	uint64_t k = u64map__pair(thread, key);
	const struct prof_frame *kf;

	if (u64map__get(&m->rowmap, k, row))
		return 0;
	if (grow((void **)&m->rows, &m->cap_rows, m->nrows + 1,
		 sizeof(*m->rows)))
		return -ENOMEM;
	/* row_stamp has the same capacity as rows. */
	{
		uint32_t *s = realloc(m->row_stamp,
				      m->cap_rows * sizeof(*m->row_stamp));

		if (!s)
			return -ENOMEM;
		m->row_stamp = s;
	}
	*row = (uint32_t)m->nrows;
	if (u64map__put(&m->rowmap, k, *row))
		return -ENOMEM;
	kf = profile__frame(m->keys, key);
	m->rows[*row] = (struct top_row){
		.function = kf->function,
		.file = kf->file,
		.line = kf->line,
		.label = kf->label,
		.thread = thread == NO_THREAD ? NULL
			  : profile__frame(m->prof, thread)->label,
	};
	m->row_stamp[*row] = UINT32_MAX;
	m->nrows++;
	return 0;
}

static void reset_rows(struct top_model *m)
{
	u64map__release(&m->rowmap);
	u64map__init(&m->rowmap);
	m->nrows = 0;
	m->samples = m->samples_cur = 0;
}

static int add_stack(struct top_model *m, uint32_t sid,
		     const struct top_model_opts *o)
{
	const uint32_t *fr;
	size_t n, first = 0;
	uint64_t count = profile__stack(m->prof, sid, &fr, &n);
	uint64_t cur = count - (sid < m->nmark ? m->mark[sid] : 0);
	uint32_t thread = NO_THREAD, row = 0;

	if (!count)
		return 0;
	while (first < n && profile__frame(m->prof, fr[first])->cls ==
				    PROF_PROCESS)
		first++;
	if (first < n && profile__frame(m->prof, fr[first])->cls == PROF_THREAD)
		thread = fr[first++];
	if (first >= n)
		return 0;
	if (o->thread && (thread == NO_THREAD ||
			  strcmp(profile__frame(m->prof, thread)->label, o->thread)))
		return 0;
	m->samples += count;
	m->samples_cur += cur;
	for (size_t i = first; i < n; i++) {
		if (row_of(m, o->per_thread ? thread : NO_THREAD,
			   m->frame_key[fr[i]], &row))
			return -ENOMEM;
		if (m->row_stamp[row] != sid) {
			m->row_stamp[row] = sid;
			m->rows[row].total += count;
			m->rows[row].total_cur += cur;
		}
	}
	m->rows[row].own += count;
	m->rows[row].own_cur += cur;
	return 0;
}

static uint64_t sort_key(const struct top_row *r, enum top_sort s, int rank)
{
	/* The chosen column first, then the others as tie-breakers. */
	static const enum top_sort order[4][4] = {
		{ TOP_SORT_OWN_PCT, TOP_SORT_OWN_TIME, TOP_SORT_TOTAL_PCT, TOP_SORT_TOTAL_TIME },
		{ TOP_SORT_TOTAL_PCT, TOP_SORT_TOTAL_TIME, TOP_SORT_OWN_PCT, TOP_SORT_OWN_TIME },
		{ TOP_SORT_OWN_TIME, TOP_SORT_OWN_PCT, TOP_SORT_TOTAL_TIME, TOP_SORT_TOTAL_PCT },
		{ TOP_SORT_TOTAL_TIME, TOP_SORT_TOTAL_PCT, TOP_SORT_OWN_TIME, TOP_SORT_OWN_PCT },
	};

	switch (order[s][rank]) {
	case TOP_SORT_OWN_PCT:
		return r->own_cur;
	case TOP_SORT_TOTAL_PCT:
		return r->total_cur;
	case TOP_SORT_OWN_TIME:
		return r->own;
	default:
		return r->total;
	}
}

static enum top_sort cmp_sort;

static int cmp_rows(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;
	int c;

	for (int rank = 0; rank < 4; rank++) {
		uint64_t kx = sort_key(x, cmp_sort, rank);
		uint64_t ky = sort_key(y, cmp_sort, rank);

		if (kx != ky)
			return kx > ky ? -1 : 1;
	}
	c = strcmp(x->function, y->function);
	if (!c)
		c = strcmp(x->file, y->file);
	if (!c)
		c = (x->line > y->line) - (x->line < y->line);
	if (!c && x->thread && y->thread)
		c = strcmp(x->thread, y->thread);
	return c;
}

int top_model__build(struct top_model *m, const struct top_model_opts *o)
{
	size_t nstacks = profile__nstacks(m->prof);

	if (update_keys(m, o->by_line))
		return -ENOMEM;
	reset_rows(m);
	for (size_t sid = 0; sid < nstacks; sid++)
		if (add_stack(m, (uint32_t)sid, o))
			return -ENOMEM;
	/* Rows move when sorted: the map from keys to rows is stale. */
	u64map__release(&m->rowmap);
	u64map__init(&m->rowmap);
	top_model__sort(m, o->sort);
	return 0;
}

void top_model__sort(struct top_model *m, enum top_sort sort)
{
	/* qsort has no context argument; the model is single-threaded. */
	cmp_sort = sort;
	if (m->nrows)
		qsort(m->rows, m->nrows, sizeof(*m->rows), cmp_rows);
}

const struct top_row *top_model__rows(const struct top_model *m, size_t *n)
{
	*n = m->nrows;
	return m->rows;
}

uint64_t top_model__samples(const struct top_model *m)
{
	return m->samples;
}

uint64_t top_model__samples_cur(const struct top_model *m)
{
	return m->samples_cur;
}

int top_model__mark(struct top_model *m)
{
	size_t nstacks = profile__nstacks(m->prof);
	uint64_t *mk;
	const uint32_t *fr;
	size_t n;

	mk = realloc(m->mark, (nstacks ? nstacks : 1) * sizeof(*mk));
	if (!mk)
		return -ENOMEM;
	m->mark = mk;
	for (size_t i = 0; i < nstacks; i++)
		mk[i] = profile__stack(m->prof, (uint32_t)i, &fr, &n);
	m->nmark = nstacks;
	return 0;
}

size_t top_model__threads(const struct top_model *m, const char **labels,
			  size_t cap)
{
	size_t nframes = profile__nframes(m->prof), n = 0;

	for (size_t i = 0; i < nframes && n < cap; i++) {
		const struct prof_frame *f = profile__frame(m->prof, (uint32_t)i);

		if (f->cls == PROF_THREAD)
			labels[n++] = f->label;
	}
	return n;
}
