/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads code objects (type-checked against PyCode_Type) and keeps them in
 * an open-addressing table keyed by remote address.
 */
#include "py_code.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "errors.h"
#include "py_linetable.h"
#include "py_str.h"

#define CACHE_MAX 65536
#define LINETABLE_MAX (1u << 20)
#define CODE_HEADER_MAX 512

struct py_code_cache {
	size_t cap, n;
	struct py_code **slots;
	struct py_code **retired;   /* dropped entries, freed with the cache */
	size_t nretired, retired_cap;
};

struct py_code_cache *py_code_cache__new(void)
{
	struct py_code_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cap = 1024;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return NULL;
	}
	return c;
}

static void code_free(struct py_code *pc)
{
	if (pc->qualname != pc->name)
		free(pc->qualname);
	free(pc->name);
	free(pc->filename);
	free(pc->linetable);
	free(pc);
}

void py_code_cache__free(struct py_code_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i])
			code_free(c->slots[i]);
	for (size_t i = 0; i < c->nretired; i++)
		code_free(c->retired[i]);
	free(c->slots);
	free(c->retired);
	free(c);
}

static size_t slot_of(const struct py_code_cache *c, uint64_t addr)
{
	size_t h = (size_t)((addr >> 3) * 0x9e3779b97f4a7c15ULL);

	for (size_t i = 0; i < c->cap; i++) {
		size_t s = (h + i) & (c->cap - 1);

		if (!c->slots[s] || c->slots[s]->addr == addr)
			return s;
	}
	return c->cap;
}

static int grow(struct py_code_cache *c)
{
	struct py_code_cache bigger = { .cap = c->cap * 2 };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i])
			bigger.slots[slot_of(&bigger, c->slots[i]->addr)] =
				c->slots[i];
	free(c->slots);
	c->slots = bigger.slots;
	c->cap = bigger.cap;
	return 0;
}

static int insert(struct py_code_cache *c, struct py_code *pc)
{
	if (c->n >= CACHE_MAX)
		return -ENOSPC;
	if (2 * (c->n + 1) > c->cap && grow(c))
		return -ENOMEM;
	c->slots[slot_of(c, pc->addr)] = pc;
	c->n++;
	return 0;
}

static int read_strings(struct py_proc *pp, struct py_code *pc,
			const void *buf, size_t len)
{
	const struct py_layout *l = &pp->layout;
	uint64_t qual = py_get(l, buf, len, LF_code_qualname);
	int ret;

	ret = py_str__dup(pp, py_get(l, buf, len, LF_code_name), &pc->name);
	if (!ret)
		ret = py_str__dup(pp, py_get(l, buf, len, LF_code_filename),
				  &pc->filename);
	if (ret)
		return ret;
	if (qual && py_str__dup(pp, qual, &pc->qualname) == 0)
		return 0;
	pc->qualname = pc->name;
	return 0;
}

static void read_scalars(const struct py_layout *l, struct py_code *pc,
			 const void *buf, size_t len)
{
	pc->firstlineno = (int)py_get(l, buf, len, LF_code_firstlineno);
	pc->firsttraceable = (int)py_get(l, buf, len, LF_code_firsttraceable);
	pc->argcount = (int)py_get(l, buf, len, LF_code_argcount);
	pc->posonlyargcount = (int)py_get(l, buf, len, LF_code_posonlyargcount);
	pc->kwonlyargcount = (int)py_get(l, buf, len, LF_code_kwonlyargcount);
	pc->flags = (int)py_get(l, buf, len, LF_code_flags);
	pc->nlocals = (int)py_get(l, buf, len,
				  layout_has(l, LF_code_nlocalsplus)
					  ? LF_code_nlocalsplus
					  : LF_code_nlocals);
	pc->varnames = py_get(l, buf, len, LF_code_varnames);
	pc->cellvars = py_get(l, buf, len, LF_code_cellvars);
	pc->freevars = py_get(l, buf, len, LF_code_freevars);
	pc->localsplusnames = py_get(l, buf, len, LF_code_localsplusnames);
	pc->localspluskinds = py_get(l, buf, len, LF_code_localspluskinds);
	pc->tlbc = py_get(l, buf, len, LF_code_tlbc);
	pc->ncodeunits = (int64_t)py_get(l, buf, len, LF_varobject_ob_size);
	if (pc->ncodeunits < 0 || pc->ncodeunits > (1 << 28))
		pc->ncodeunits = 0;
}

static int read_code(struct py_proc *pp, uint64_t addr, struct py_code *pc)
{
	const struct py_layout *l = &pp->layout;
	unsigned char buf[CODE_HEADER_MAX];
	size_t len = (size_t)l->v[LF_code___size__];
	int ret;

	if (len > sizeof(buf))
		return PE_CORRUPT;
	ret = py_proc__read(pp, addr, buf, len);
	if (ret)
		return ret;
	if (pp->rt.sym[PY_SYM_code_type] &&
	    py_get(l, buf, len, LF_object_ob_type) != pp->rt.sym[PY_SYM_code_type])
		return PE_CORRUPT;
	pc->addr = addr;
	pc->raw[0] = py_get(l, buf, len, LF_code_filename);
	pc->raw[1] = py_get(l, buf, len, LF_code_name);
	pc->raw[2] = py_get(l, buf, len, LF_code_qualname);
	pc->raw[3] = py_get(l, buf, len, LF_code_linetable);
	read_scalars(l, pc, buf, len);
	ret = read_strings(pp, pc, buf, len);
	if (ret)
		return ret;
	ret = py_bytes__read(pp, py_get(l, buf, len, LF_code_linetable),
			     LINETABLE_MAX, &pc->linetable, &pc->linetable_len);
	if (ret)
		return ret;
	if (layout_has(l, LF_code_code)) {
		uint64_t co_code = py_get(l, buf, len, LF_code_code);
		uint64_t n = 0;

		if (!py_read_field(pp, co_code, LF_varobject_ob_size, &n) &&
		    n < (1u << 29))
			pc->ncodeunits = (int64_t)n / 2;
	}
	return 0;
}

int py_code__get(struct py_proc *pp, uint64_t addr,
		 const struct py_code **out)
{
	struct py_code_cache *c = pp->codes;
	struct py_code *pc;
	size_t s;
	int ret;

	if (!py_ptr_ok(addr))
		return PE_CORRUPT;
	s = slot_of(c, addr);
	if (s < c->cap && c->slots[s]) {
		*out = c->slots[s];
		return 0;
	}
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	ret = read_code(pp, addr, pc);
	if (!ret)
		ret = insert(c, pc);
	if (ret) {
		code_free(pc);
		return ret;
	}
	*out = pc;
	return 0;
}

/* Remove the entry at slot @s, keeping the table's probe chains intact. */
static int retire(struct py_code_cache *c, size_t s)
{
	struct py_code *pc = c->slots[s];

	if (c->nretired == c->retired_cap) {
		size_t ncap = c->retired_cap ? 2 * c->retired_cap : 16;
		struct py_code **nr = realloc(c->retired, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		c->retired = nr;
		c->retired_cap = ncap;
	}
	c->retired[c->nretired++] = pc;
	c->slots[s] = NULL;
	c->n--;
	/* Re-insert the rest of the cluster so lookups still find them. */
	for (size_t i = (s + 1) & (c->cap - 1); c->slots[i];
	     i = (i + 1) & (c->cap - 1)) {
		struct py_code *moved = c->slots[i];

		c->slots[i] = NULL;
		c->slots[slot_of(c, moved->addr)] = moved;
	}
	return 0;
}

#define VALIDATE_BATCH 256

static bool still_same(const struct py_layout *l, const struct py_code *pc,
		       const unsigned char *buf, size_t len, uint64_t code_type)
{
	enum layout_field f[4] = { LF_code_filename, LF_code_name,
				   LF_code_qualname, LF_code_linetable };

	if (code_type && py_get(l, buf, len, LF_object_ob_type) != code_type)
		return false;
	for (int i = 0; i < 4; i++)
		if (layout_has(l, f[i]) && py_get(l, buf, len, f[i]) != pc->raw[i])
			return false;
	return true;
}

static int validate_batch(struct py_proc *pp, const uint64_t *addrs,
			  size_t n, unsigned char (*bufs)[CODE_HEADER_MAX])
{
	const struct py_layout *l = &pp->layout;
	size_t len = (size_t)l->v[LF_code___size__];
	struct iovec local[VALIDATE_BATCH];
	bool ok[VALIDATE_BATCH];
	struct py_code_cache *c = pp->codes;
	int stale = 0, ret;

	if (!n || n > VALIDATE_BATCH)
		return 0;
	for (size_t i = 0; i < n; i++)
		local[i] = (struct iovec){ bufs[i], len };
	ret = proc_mem__read_each(&pp->mem, local, addrs, n, ok);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		size_t s = slot_of(c, addrs[i]);

		if (s >= c->cap || !c->slots[s])
			continue;
		if (ok[i] && still_same(l, c->slots[s], bufs[i], len,
					pp->rt.sym[PY_SYM_code_type]))
			continue;
		if (retire(c, s))
			return -ENOMEM;
		stale = 1;
	}
	return stale;
}

int py_code__validate(struct py_proc *pp, const uint64_t *addrs, size_t n)
{
	static unsigned char bufs[VALIDATE_BATCH][CODE_HEADER_MAX];
	int stale = 0;

	if ((size_t)pp->layout.v[LF_code___size__] > CODE_HEADER_MAX)
		return PE_CORRUPT;
	for (size_t i = 0; i < n; i += VALIDATE_BATCH) {
		size_t k = n - i < VALIDATE_BATCH ? n - i : VALIDATE_BATCH;
		int ret = validate_batch(pp, addrs + i, k, bufs);

		if (ret < 0)
			return ret;
		stale |= ret;
	}
	return stale;
}

int py_code__line(const struct py_proc *pp, const struct py_code *c,
		  int64_t addrq)
{
	struct py_code *m = (struct py_code *)c;   /* the memo only */
	size_t k = (size_t)(addrq >> 1) & (PY_CODE_LINE_MEMO - 1);

	if (addrq < -2)   /* not memoised: the key would collide with empty */
		return py_linetable__line(pp->layout.minor, c->linetable,
					  c->linetable_len, c->firstlineno,
					  addrq);
	if (m->memo_q[k] == addrq + 3)
		return m->memo_line[k];
	m->memo_line[k] = py_linetable__line(pp->layout.minor, c->linetable,
					     c->linetable_len, c->firstlineno,
					     addrq);
	m->memo_q[k] = addrq + 3;
	return m->memo_line[k];
}
