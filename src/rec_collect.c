/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maps (code object, line) pairs to profile frame ids through a cache, so
 * a steady-state sample costs a few hash lookups per frame and no
 * allocation, then interns the whole stack.
 */
#include "rec_collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_stack.h"
#include "py_code.h"
#include "py_thread.h"

#define MAX_STACK (PY_FRAME_MAX_DEPTH + NATIVE_MAX_DEPTH + 4)

struct frame_key {
	const struct py_code *code;
	int line;
	uint32_t id;   /* id + 1; 0 = empty slot */
};

struct rec_collect {
	struct profile *prof;
	struct rec_collect_opts o;
	struct frame_key *slots;
	size_t cap, n;
	uint32_t ids[MAX_STACK];
	struct native_entry *ent;   /* --native: the merged stack */
	struct rec_collect_stats st;
	uint32_t last_stack;
};

struct rec_collect *rec_collect__new(struct profile *prof,
				     const struct rec_collect_opts *o)
{
	struct rec_collect *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->prof = prof;
	c->o = *o;
	c->cap = 4096;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	if (o->native_sym)
		c->ent = calloc(MAX_STACK, sizeof(*c->ent));
	if (!c->slots || (o->native_sym && !c->ent)) {
		free(c->slots);
		free(c->ent);
		free(c);
		return NULL;
	}
	return c;
}

void rec_collect__free(struct rec_collect *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c->ent);
	free(c);
}

const struct rec_collect_stats *rec_collect__stats(const struct rec_collect *c)
{
	return &c->st;
}

enum py_sample_skip rec_collect__skip(const struct rec_collect_opts *o)
{
	if (o->gil_only)
		return PY_SKIP_NOT_GIL;
	return o->idle ? PY_SKIP_NONE : PY_SKIP_IDLE;
}

enum prof_class rec_collect__classify(const struct py_sys_path *sp,
				      const char *file)
{
	size_t len;

	if (!strncmp(file, "<frozen ", 8))
		return PROF_STDLIB;
	if (file[0] == '<' || !file[0])
		return PROF_OTHER;
	if (strstr(file, "/site-packages/") || strstr(file, "/dist-packages/"))
		return PROF_SITE;
	if (sp && sp->stdlib) {
		len = strlen(sp->stdlib);
		if (!strncmp(file, sp->stdlib, len) && file[len] == '/')
			return PROF_STDLIB;
	}
	return PROF_APP;
}

static size_t hash_key(const struct py_code *code, int line, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)code * 0x9e3779b97f4a7c15ULL;

	h ^= (uint64_t)(unsigned)line * 0xc2b2ae3d27d4eb4fULL;
	return (size_t)(h >> 17) & (cap - 1);
}

static int grow(struct rec_collect *c)
{
	size_t ncap = c->cap * 2;
	struct frame_key *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -1;
	for (size_t i = 0; i < c->cap; i++) {
		size_t s;

		if (!c->slots[i].id)
			continue;
		s = hash_key(c->slots[i].code, c->slots[i].line, ncap);
		while (ns[s].id)
			s = (s + 1) & (ncap - 1);
		ns[s] = c->slots[i];
	}
	free(c->slots);
	c->slots = ns;
	c->cap = ncap;
	return 0;
}

static uint32_t new_frame(struct rec_collect *c, const struct py_code *code,
			  int line)
{
	return profile__frame_id(c->prof, code->qualname, code->filename, line,
				 PROF_APP);
}

static uint32_t frame_id(struct rec_collect *c, const struct py_frame *f)
{
	int line = c->o.nolineno ? 0
		 : c->o.function ? f->code->firstlineno
				 : (f->line > 0 ? f->line : 0);
	size_t s = hash_key(f->code, line, c->cap);
	uint32_t id;

	for (; c->slots[s].id; s = (s + 1) & (c->cap - 1))
		if (c->slots[s].code == f->code && c->slots[s].line == line)
			return c->slots[s].id - 1;
	id = new_frame(c, f->code, line);
	if (id == UINT32_MAX)
		return id;
	c->slots[s] = (struct frame_key){ f->code, line, id + 1 };
	if (2 * ++c->n > c->cap && grow(c))
		return UINT32_MAX;
	return id;
}

static size_t root_frames(struct rec_collect *c,
			  const struct py_sample_thread *t)
{
	size_t n = 0;

	if (c->o.process_frame)
		c->ids[n++] = profile__frame_id(c->prof, c->o.process_frame, "",
						0, PROF_PROCESS);
	if (c->o.threads) {
		char name[PY_THREAD_NAME_MAX + 48];

		snprintf(name, sizeof(name), "thread %d \"%s\"", t->native_id,
			 t->name ? t->name : "?");
		c->ids[n++] = profile__frame_id(c->prof, name, "", 0,
						PROF_THREAD);
	}
	return n;
}

/* Filters first: a thread the sampler skipped has no frames to judge. */
static bool keep(struct rec_collect *c, const struct py_sample_thread *t)
{
	if (c->o.gil_only && !t->gil) {
		c->st.not_gil++;
		return false;
	}
	if (!c->o.idle && !c->o.gil_only && !t->active) {
		c->st.idle++;
		return false;
	}
	if (t->err) {
		c->st.torn++;
		return false;
	}
	if (!t->nframes) {
		c->st.empty++;
		return false;
	}
	return true;
}

/* A native frame: "function [module]" (or the address in the module). */
static uint32_t native_frame_id(struct rec_collect *c,
				const struct native_entry *e)
{
	const struct native_sym_info *si = e->sym;
	char addr[32];

	if (si->function)
		return profile__frame_id(c->prof, si->function,
					 si->module ? si->module : "?", 0,
					 PROF_NATIVE);
	snprintf(addr, sizeof(addr), "0x%llx",
		 (unsigned long long)(si->module ? si->module_offset : e->ip));
	return profile__frame_id(c->prof, addr, si->module ? si->module : "?",
				 0, PROF_NATIVE);
}

/*
 * --native: the merged stack after the root frames at ids[0..n); the
 * Python frames alone when there is no native stack or it does not
 * match.  Returns the new length.
 */
static size_t native_frames(struct rec_collect *c,
			    const struct py_sample_thread *t, size_t n)
{
	size_t ne = 0;
	int ret;

	if (t->native_err || !t->nnative) {
		c->st.native_missing++;
		for (size_t i = 0; i < t->nframes; i++)
			c->ent[ne++] = (struct native_entry){ &t->frames[i], NULL, 0 };
	} else {
		ret = native_stack__merge(c->o.native_sym, t->native_ips,
					  t->native_sps, t->nnative, t->frames,
					  t->nframes, c->o.native_all, c->ent,
					  MAX_STACK, &ne);
		if (ret)
			c->st.native_failed++;
		else
			c->st.native_merged++;
	}
	for (size_t i = ne; i-- > 0 && n < MAX_STACK;) {
		uint32_t id = c->ent[i].py ? frame_id(c, c->ent[i].py)
					   : native_frame_id(c, &c->ent[i]);

		if (id == UINT32_MAX)
			break;
		c->ids[n++] = id;
	}
	return n;
}

int rec_collect__thread(void *ctx, const struct py_sample_thread *t)
{
	struct rec_collect *c = ctx;
	size_t n;
	uint32_t stack;

	c->last_stack = UINT32_MAX;
	if (!keep(c, t))
		return 0;
	n = root_frames(c, t);
	/* Frames arrive innermost first; stacks are stored root first. */
	for (size_t i = c->o.native_sym ? 0 : t->nframes; i-- > 0 &&
	     n < MAX_STACK;) {
		uint32_t id = frame_id(c, &t->frames[i]);

		if (id == UINT32_MAX)
			return -1;
		c->ids[n++] = id;
	}
	if (c->o.native_sym)
		n = native_frames(c, t, n);
	stack = profile__stack_id(c->prof, c->ids, n);
	if (stack == UINT32_MAX)
		return -1;
	profile__add(c->prof, stack, 1);
	c->st.kept++;
	c->last_stack = stack;
	return 0;
}

void rec_collect__set_process(struct rec_collect *c, const char *label)
{
	c->o.process_frame = label;
}

uint32_t rec_collect__last_stack(const struct rec_collect *c)
{
	return c->last_stack;
}

struct profile *rec_collect__profile(const struct rec_collect *c)
{
	return c->prof;
}

struct finish_ctx {
	const struct rec_collect *c;
	const struct py_sys_path *sp;
};

static void finish_frame(void *ctx, const struct prof_frame *f,
			 const char **file, enum prof_class *cls)
{
	const struct finish_ctx *fc = ctx;

	if (f->cls != PROF_APP)
		return;
	*cls = rec_collect__classify(fc->sp, f->file);
	if (!fc->c->o.full_filenames && fc->sp)
		*file = py_sys_path__short(fc->sp, f->file);
}

struct profile *rec_collect__finish(const struct rec_collect *c,
				    const struct py_sys_path *sp)
{
	struct finish_ctx fc = { c, sp };

	return profile__remap(c->prof, finish_frame, &fc);
}
