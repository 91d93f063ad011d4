/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interning tables for frames and stacks (open addressing, FNV-1a), the
 * per-stack counts, and the collapsed-format writer.
 */
#include "profile.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct frame_rec {
	struct prof_frame f;
	uint64_t hash;
};

struct stack_rec {
	uint32_t off;      /* into ids[] */
	uint32_t n;
	uint64_t hash;
	uint64_t count;
};

struct profile {
	struct frame_rec *frames;
	size_t nframes, frames_cap;
	uint32_t *frame_slots;  /* id + 1, 0 = empty */
	size_t frame_slots_cap;

	struct stack_rec *stacks;
	size_t nstacks, stacks_cap;
	uint32_t *stack_slots;
	size_t stack_slots_cap;

	uint32_t *ids;         /* concatenated stack frame ids */
	size_t nids, ids_cap;

	uint64_t total;
	struct prof_meta meta;
};

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_SEED 0xcbf29ce484222325ULL

struct profile *profile__new(void)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->frame_slots_cap = 1024;
	p->stack_slots_cap = 1024;
	p->frame_slots = calloc(p->frame_slots_cap, sizeof(uint32_t));
	p->stack_slots = calloc(p->stack_slots_cap, sizeof(uint32_t));
	if (!p->frame_slots || !p->stack_slots) {
		profile__free(p);
		return NULL;
	}
	return p;
}

void profile__free(struct profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nframes; i++) {
		free((char *)p->frames[i].f.label);
		free((char *)p->frames[i].f.function);
		free((char *)p->frames[i].f.file);
	}
	free(p->frames);
	free(p->frame_slots);
	free(p->stacks);
	free(p->stack_slots);
	free(p->ids);
	free(p->meta.title);
	free(p->meta.subtitle);
	free(p);
}

static bool grow(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

/* Rebuild a slot table at twice the size from the records' hashes. */
static bool rehash(uint32_t **slots, size_t *cap, size_t n,
		   uint64_t (*hash_of)(const struct profile *, size_t),
		   const struct profile *p)
{
	size_t ncap = *cap * 2;
	uint32_t *ns = calloc(ncap, sizeof(uint32_t));

	if (!ns)
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t s = hash_of(p, i) & (ncap - 1);

		while (ns[s])
			s = (s + 1) & (ncap - 1);
		ns[s] = (uint32_t)i + 1;
	}
	free(*slots);
	*slots = ns;
	*cap = ncap;
	return true;
}

static uint64_t frame_hash_of(const struct profile *p, size_t i)
{
	return p->frames[i].hash;
}

static uint64_t stack_hash_of(const struct profile *p, size_t i)
{
	return p->stacks[i].hash;
}

static bool ends_in_count(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	return i < len && i > 0 && s[i - 1] == ' ';
}

void profile__sanitize_label(char *s)
{
	for (char *c = s; *c; c++) {
		if (*c == ';')
			*c = ':';
		else if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	}
}

static char *make_label(const char *function, const char *file, int line,
			enum prof_class cls)
{
	size_t need = strlen(function) + strlen(file) + 32;
	char *s = malloc(need + 2);
	size_t len;

	if (!s)
		return NULL;
	if (cls == PROF_NATIVE)
		/* Native frames: "function [module]", told apart by the
		 * brackets (Python frames use parentheses). */
		snprintf(s, need, "%s [%s]", *function ? function : "?",
			 *file ? file : "?");
	else if (*file && line > 0)
		snprintf(s, need, "%s (%s:%d)", function, file, line);
	else if (*file)
		snprintf(s, need, "%s (%s)", function, file);
	else
		snprintf(s, need, "%s", *function ? function : "?");
	profile__sanitize_label(s);
	len = strlen(s);
	if (!len || ends_in_count(s, len) || !strcmp(s, "-") || !strcmp(s, "--")) {
		/* "name 123" at a line's end would read as a differential
		 * count, "-" as a separator: wrap in brackets. */
		memmove(s + 1, s, len + 1);
		s[0] = '[';
		s[len + 1] = ']';
		s[len + 2] = '\0';
	}
	return s;
}

uint32_t profile__frame_id(struct profile *p, const char *function,
			   const char *file, int line, enum prof_class cls)
{
	uint64_t h = FNV_SEED;
	size_t s;
	struct frame_rec *r;

	function = function ? function : "";
	file = file ? file : "";
	h = fnv(h, function, strlen(function) + 1);
	h = fnv(h, file, strlen(file) + 1);
	h = fnv(h, &line, sizeof(line));
	h = fnv(h, &cls, sizeof(cls));
	for (s = h & (p->frame_slots_cap - 1); p->frame_slots[s];
	     s = (s + 1) & (p->frame_slots_cap - 1)) {
		r = &p->frames[p->frame_slots[s] - 1];
		if (r->hash == h && r->f.line == line && r->f.cls == cls &&
		    !strcmp(r->f.function, function) && !strcmp(r->f.file, file))
			return p->frame_slots[s] - 1;
	}
	if (!grow((void **)&p->frames, &p->frames_cap, p->nframes + 1,
		  sizeof(*p->frames)))
		return UINT32_MAX;
	r = &p->frames[p->nframes];
	r->hash = h;
	r->f.function = strdup(function);
	r->f.file = strdup(file);
	r->f.label = make_label(function, file, line, cls);
	r->f.line = line;
	r->f.cls = cls;
	if (!r->f.function || !r->f.file || !r->f.label) {
		free((char *)r->f.function);
		free((char *)r->f.file);
		free((char *)r->f.label);
		return UINT32_MAX;
	}
	p->frame_slots[s] = (uint32_t)++p->nframes;
	if (2 * p->nframes > p->frame_slots_cap &&
	    !rehash(&p->frame_slots, &p->frame_slots_cap, p->nframes,
		    frame_hash_of, p))
		return UINT32_MAX;
	return (uint32_t)p->nframes - 1;
}

uint32_t profile__stack_find(const struct profile *p, const uint32_t *frames,
			     size_t n)
{
	uint64_t h = fnv(FNV_SEED, frames, n * sizeof(*frames));

	for (size_t s = h & (p->stack_slots_cap - 1); p->stack_slots[s];
	     s = (s + 1) & (p->stack_slots_cap - 1)) {
		const struct stack_rec *r = &p->stacks[p->stack_slots[s] - 1];

		if (r->hash == h && r->n == n &&
		    !memcmp(p->ids + r->off, frames, n * sizeof(*frames)))
			return p->stack_slots[s] - 1;
	}
	return UINT32_MAX;
}

uint32_t profile__stack_id(struct profile *p, const uint32_t *frames,
			   size_t n)
{
	uint64_t h = fnv(FNV_SEED, frames, n * sizeof(*frames));
	struct stack_rec *r;
	size_t s;

	for (s = h & (p->stack_slots_cap - 1); p->stack_slots[s];
	     s = (s + 1) & (p->stack_slots_cap - 1)) {
		r = &p->stacks[p->stack_slots[s] - 1];
		if (r->hash == h && r->n == n &&
		    !memcmp(p->ids + r->off, frames, n * sizeof(*frames)))
			return p->stack_slots[s] - 1;
	}
	if (!grow((void **)&p->stacks, &p->stacks_cap, p->nstacks + 1,
		  sizeof(*p->stacks)) ||
	    !grow((void **)&p->ids, &p->ids_cap, p->nids + n + 1,
		  sizeof(*p->ids)))
		return UINT32_MAX;
	r = &p->stacks[p->nstacks];
	r->off = (uint32_t)p->nids;
	r->n = (uint32_t)n;
	r->hash = h;
	r->count = 0;
	memcpy(p->ids + p->nids, frames, n * sizeof(*frames));
	p->nids += n;
	p->stack_slots[s] = (uint32_t)++p->nstacks;
	if (2 * p->nstacks > p->stack_slots_cap &&
	    !rehash(&p->stack_slots, &p->stack_slots_cap, p->nstacks,
		    stack_hash_of, p))
		return UINT32_MAX;
	return (uint32_t)p->nstacks - 1;
}

void profile__add(struct profile *p, uint32_t stack, uint64_t count)
{
	if (stack >= p->nstacks)
		return;
	p->stacks[stack].count += count;
	p->total += count;
}

uint64_t profile__total(const struct profile *p)
{
	return p->total;
}

size_t profile__nframes(const struct profile *p)
{
	return p->nframes;
}

size_t profile__nstacks(const struct profile *p)
{
	return p->nstacks;
}

const struct prof_frame *profile__frame(const struct profile *p, uint32_t id)
{
	return id < p->nframes ? &p->frames[id].f : NULL;
}

uint64_t profile__stack(const struct profile *p, uint32_t id,
			const uint32_t **frames, size_t *n)
{
	if (id >= p->nstacks) {
		*frames = NULL;
		*n = 0;
		return 0;
	}
	*frames = p->ids + p->stacks[id].off;
	*n = p->stacks[id].n;
	return p->stacks[id].count;
}

struct line_ref {
	char *text;
	uint64_t count;
};

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(((const struct line_ref *)a)->text,
		      ((const struct line_ref *)b)->text);
}

static char *join_stack(const struct profile *p, const uint32_t *ids,
			size_t n)
{
	size_t len = 1;
	char *s, *w;

	for (size_t i = 0; i < n; i++)
		len += strlen(p->frames[ids[i]].f.label) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	w = s;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(p->frames[ids[i]].f.label);

		if (i)
			*w++ = ';';
		memcpy(w, p->frames[ids[i]].f.label, l);
		w += l;
	}
	*w = '\0';
	return s;
}

int profile__write_collapsed(const struct profile *p, FILE *f)
{
	struct line_ref *lines = calloc(p->nstacks + 1, sizeof(*lines));
	size_t n = 0;
	int ret = 0;

	if (!lines)
		return -ENOMEM;
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct stack_rec *r = &p->stacks[i];

		if (!r->count || !r->n)
			continue;
		lines[n].text = join_stack(p, p->ids + r->off, r->n);
		lines[n].count = r->count;
		if (!lines[n].text) {
			ret = -ENOMEM;
			goto out_free;
		}
		n++;
	}
	qsort(lines, n, sizeof(*lines), cmp_lines);
	for (size_t i = 0; i < n; i++)
		if (fprintf(f, "%s %llu\n", lines[i].text,
			    (unsigned long long)lines[i].count) < 0) {
			ret = -errno;
			break;
		}
out_free:
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	return ret;
}

void profile__set_meta(struct profile *p, const char *title,
		       const char *subtitle)
{
	free(p->meta.title);
	free(p->meta.subtitle);
	p->meta.title = title ? strdup(title) : NULL;
	p->meta.subtitle = subtitle ? strdup(subtitle) : NULL;
}

const struct prof_meta *profile__meta(const struct profile *p)
{
	return &p->meta;
}

struct profile *profile__remap(const struct profile *p, profile_remap_fn fn,
			       void *ctx)
{
	struct profile *q = profile__new();
	uint32_t *map = calloc(p->nframes + 1, sizeof(*map));
	uint32_t *ids = NULL;
	size_t cap = 0;

	if (!q || !map)
		goto out_fail;
	for (size_t i = 0; i < p->nframes; i++) {
		const struct prof_frame *f = &p->frames[i].f;
		const char *file = f->file;
		enum prof_class cls = f->cls;

		fn(ctx, f, &file, &cls);
		map[i] = profile__frame_id(q, f->function, file, f->line, cls);
		if (map[i] == UINT32_MAX)
			goto out_fail;
	}
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct stack_rec *r = &p->stacks[i];
		uint32_t sid;

		if (!r->count)
			continue;
		if (!grow((void **)&ids, &cap, r->n + 1, sizeof(*ids)))
			goto out_fail;
		for (size_t k = 0; k < r->n; k++)
			ids[k] = map[p->ids[r->off + k]];
		sid = profile__stack_id(q, ids, r->n);
		if (sid == UINT32_MAX)
			goto out_fail;
		profile__add(q, sid, r->count);
	}
	profile__set_meta(q, p->meta.title, p->meta.subtitle);
	free(ids);
	free(map);
	return q;
out_fail:
	free(ids);
	free(map);
	profile__free(q);
	return NULL;
}
