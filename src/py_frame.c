/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frame-chain walkers.  Every loop is bounded (depth) and cycle-checked
 * (Brent's algorithm), and each frame's code object is type-checked, so
 * a chain that changes mid-walk ends in PE_TORN instead of garbage.
 */
#include "py_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define FRAME_BUF_MAX 512

/* CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR, the same in 3.8-3.14. */
#define CO_GENERATOR_LIKE (0x20 | 0x80 | 0x200)

/*
 * A running generator always has a caller: a walk that ends at one was
 * cut short because the generator yielded (its frame's back link was
 * cleared) while we read the stack.
 */
static bool cut_at_generator(const struct py_frame *out, size_t n)
{
	return n && (out[n - 1].code->flags & CO_GENERATOR_LIKE);
}

struct cycle {
	uint64_t tortoise;
	unsigned power, lam;
};

static bool cycle_step(struct cycle *c, uint64_t addr)
{
	if (addr == c->tortoise)
		return true;
	if (++c->lam == c->power) {
		c->tortoise = addr;
		c->power *= 2;
		c->lam = 0;
	}
	return false;
}

/*
 * The bytes of a frame object the walk needs: up to the end of the last of
 * f_back, f_code and f_lasti (a fifth of the object on 3.8, which ends in
 * the block stack), not the whole object.
 */
static size_t frame_object_prefix(const struct py_layout *l)
{
	const enum layout_field need[] = { LF_frameobj_f_back,
					   LF_frameobj_f_code,
					   LF_frameobj_f_lasti };
	size_t end = 0;

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		size_t e;

		if (!layout_has(l, need[i]) || l->v[need[i]] < 0)
			continue;
		e = (size_t)l->v[need[i]] +
		    layout_kind_width(layout_field_kind(need[i]));
		if (e > end)
			end = e;
	}
	return end ? end : (size_t)l->v[LF_frameobj___size__];
}

static int walk_frame_objects(struct py_proc *pp, uint64_t addr,
			      struct py_frame *out, size_t cap, size_t *n)
{
	const struct py_layout *l = &pp->layout;
	size_t len = frame_object_prefix(l);
	struct cycle cy = { 0, 1, 0 };
	unsigned char buf[FRAME_BUF_MAX];

	if (len > sizeof(buf))
		return PE_CORRUPT;
	while (addr) {
		const struct py_code *code;
		int64_t lasti;
		int ret;

		if (*n >= cap)
			return PE_TOO_DEEP;
		if (!py_ptr_ok(addr) || cycle_step(&cy, addr))
			return PE_CORRUPT;
		ret = py_proc__read(pp, addr, buf, len);
		if (ret)
			return ret == -ESRCH ? ret : PE_TORN;
		ret = py_code__get(pp, py_get(l, buf, len, LF_frameobj_f_code),
				   &code);
		if (ret)
			return ret == -ESRCH ? ret : PE_TORN;
		lasti = (int32_t)py_get(l, buf, len, LF_frameobj_f_lasti);
		if (l->minor >= 10 && lasti >= 0)
			lasti *= 2;
		/* Before 3.11 every frame has its own evaluator call. */
		out[*n] = (struct py_frame){
			code, py_code__line(pp, code, lasti), addr,
			addr + (uint64_t)l->v[LF_frameobj_f_localsplus], true, 0
		};
		(*n)++;
		addr = py_get(l, buf, len, LF_frameobj_f_back);
	}
	return cut_at_generator(out, *n) ? PE_TORN : 0;
}

static bool is_shim(const struct py_layout *l, unsigned owner)
{
	if (layout_has(l, LF_const_owner_interpreter))
		return owner >= (unsigned)l->v[LF_const_owner_interpreter];
	if (layout_has(l, LF_const_owner_cstack))
		return owner == (unsigned)l->v[LF_const_owner_cstack];
	return false;
}

static uint64_t untag(const struct py_layout *l, uint64_t ref)
{
	if (layout_has(l, LF_const_stackref_tag_bits))
		return ref & ~(uint64_t)l->v[LF_const_stackref_tag_bits];
	return ref;
}

/*
 * Where the bytecode a frame executes starts: co_code_adaptive, or on
 * free-threaded 3.14 the thread's own copy, entries[tlbc_index] of the
 * code's _PyCodeArray {Py_ssize_t size; char *entries[]}.  Untested: no
 * free-threaded interpreter is available to run it against.
 */
static uint64_t bytecode_base(struct py_proc *pp, const struct py_code *code,
			      const unsigned char *buf, size_t len)
{
	const struct py_layout *l = &pp->layout;
	uint64_t base = code->addr + (uint64_t)l->v[LF_code_code_adaptive];
	int64_t idx = (int32_t)py_get(l, buf, len, LF_iframe_tlbc_index);
	uint64_t entry;

	if (!layout_has(l, LF_iframe_tlbc_index) || !code->tlbc || idx <= 0 ||
	    idx > 4096 ||
	    proc_mem__read_u64(&pp->mem, code->tlbc + 8 + 8 * (uint64_t)idx,
			       &entry) || !entry)
		return base;
	return entry;
}

/*
 * One interpreter frame.  Returns 1 to skip it (shim or incomplete), 0 to
 * keep it in @f, or an error.
 */
static int read_iframe(struct py_proc *pp, uint64_t addr,
		       const unsigned char *buf, size_t len,
		       struct py_frame *f)
{
	const struct py_layout *l = &pp->layout;
	unsigned owner = (unsigned)py_get(l, buf, len, LF_iframe_owner);
	uint64_t exe = untag(l, py_get(l, buf, len, LF_iframe_executable));
	uint64_t instr = py_get(l, buf, len, LF_iframe_instr_ptr);
	const struct py_code *code;
	int64_t addrq;
	int ret;

	if (is_shim(l, owner))
		return 1;
	ret = py_code__get(pp, exe, &code);
	if (ret)
		return ret == -ESRCH ? ret : PE_TORN;
	addrq = (int64_t)(instr - bytecode_base(pp, code, buf, len));
	if (addrq > 2 * code->ncodeunits || addrq < -2)
		return PE_TORN;
	if (owner != (unsigned)l->v[LF_const_owner_generator] &&
	    addrq < 2 * (int64_t)code->firsttraceable)
		return 1;
	f->code = code;
	f->line = py_code__line(pp, code, addrq);
	f->addr = addr;
	f->entry = false;
	f->shim = 0;
	f->localsplus = addr + (uint64_t)l->v[LF_iframe_localsplus];
	return 0;
}

void py_frame_chunks__release(struct py_frame_chunks *fc)
{
	for (size_t i = 0; i < PY_FRAME_MAX_CHUNKS; i++)
		free(fc->buf[i]);
	memset(fc, 0, sizeof(*fc));
}

/*
 * Copy [addr, addr + len) of the target into slot fc->n, of which the
 * first @used bytes hold frames (the rest, up to a page end, is read only
 * so that the range stays the same from sample to sample).
 */
static int load_chunk(struct py_proc *pp, struct py_frame_chunks *fc,
		      uint64_t addr, size_t len, size_t used)
{
	size_t i = fc->n;

	if (i >= PY_FRAME_MAX_CHUNKS || !len || len > PY_FRAME_CHUNK_MAX ||
	    used > len)
		return -E2BIG;
	if (fc->cap[i] < len) {
		unsigned char *nb = realloc(fc->buf[i], len);

		if (!nb)
			return -ENOMEM;
		fc->buf[i] = nb;
		fc->cap[i] = len;
	}
	if (py_proc__read(pp, addr, fc->buf[i], len))
		return PE_TORN;
	fc->addr[i] = addr;
	fc->len[i] = used;
	fc->n++;
	return 0;
}

/* The chunk before the newest loaded one, using its saved top index. */
static int load_previous_chunk(struct py_proc *pp, struct py_frame_chunks *fc)
{
	const struct py_layout *l = &pp->layout;
	unsigned char head[32];
	uint64_t prev, top;
	size_t data = (size_t)l->v[LF_stackchunk_data];

	if (!fc->n || fc->len[fc->n - 1] < data || data > sizeof(head))
		return -ENOENT;
	prev = py_get(l, fc->buf[fc->n - 1], data, LF_stackchunk_previous);
	if (!py_ptr_ok(prev) || py_proc__read(pp, prev, head, data))
		return -ENOENT;
	top = py_get(l, head, data, LF_stackchunk_top);
	if (top > PY_FRAME_CHUNK_MAX / 8)
		return -ENOENT;
	return load_chunk(pp, fc, prev, data + top * 8, data + top * 8);
}

/*
 * The frame's bytes: *out points into a chunk copy, else into @buf after
 * a read from the target.
 */
static int frame_bytes(struct py_proc *pp, struct py_frame_chunks *fc,
		       uint64_t addr, unsigned char *buf, size_t len,
		       const unsigned char **out)
{
	for (int pass = 0; fc && pass < 2; pass++) {
		for (size_t i = 0; i < fc->n; i++)
			if (addr >= fc->addr[i] &&
			    addr + len <= fc->addr[i] + fc->len[i]) {
				*out = fc->buf[i] + (addr - fc->addr[i]);
				fc->hits++;
				return 0;
			}
		/* Not in what we have: perhaps in an older chunk. */
		if (pass || load_previous_chunk(pp, fc))
			break;
	}
	if (fc)
		fc->misses++;
	*out = buf;
	return py_proc__read(pp, addr, buf, len);
}

static int walk_iframes(struct py_proc *pp, struct py_frame_chunks *fc,
			uint64_t addr, struct py_frame *out, size_t cap,
			size_t *n)
{
	const struct py_layout *l = &pp->layout;
	size_t len = (size_t)l->v[LF_iframe___size__];
	struct cycle cy = { 0, 1, 0 };
	unsigned char buf[FRAME_BUF_MAX];
	const unsigned char *fb;
	size_t steps = 0;
	bool shim = true;

	if (len > sizeof(buf))
		return PE_CORRUPT;
	while (addr) {
		int ret;

		if (*n >= cap || ++steps > 4 * PY_FRAME_MAX_DEPTH)
			return PE_TOO_DEEP;
		if (!py_ptr_ok(addr) || cycle_step(&cy, addr))
			return PE_CORRUPT;
		ret = frame_bytes(pp, fc, addr, buf, len, &fb);
		if (ret)
			return ret == -ESRCH ? ret : PE_TORN;
		shim = is_shim(l, (unsigned)py_get(l, fb, len, LF_iframe_owner));
		ret = read_iframe(pp, addr, fb, len, &out[*n]);
		if (ret < 0)
			return ret;
		if (ret == 0)
			(*n)++;
		/*
		 * Where C called the evaluator: the frame with is_entry (3.11)
		 * or the one whose previous is a shim (3.12+).  When that frame
		 * is itself skipped, the last kept one (inner) takes the mark.
		 */
		if (*n && (shim || (layout_has(l, LF_iframe_is_entry) &&
				    py_get(l, fb, len, LF_iframe_is_entry)))) {
			out[*n - 1].entry = true;
			if (shim)
				out[*n - 1].shim = addr;
		}
		addr = py_get(l, fb, len, LF_iframe_previous);
	}
	/*
	 * From 3.12 every chain C entered ends in an entry (shim) frame: a
	 * chain that ends elsewhere was cut by a frame that returned or a
	 * generator that yielded while we read it.
	 */
	if (!shim && layout_has(l, LF_const_owner_cstack))
		return PE_TORN;
	return cut_at_generator(out, *n) ? PE_TORN : 0;
}

/* The thread's innermost frame: in the thread state, or its cframe. */
static int top_frame(struct py_proc *pp, const void *tbuf, size_t tlen,
		     uint64_t *top)
{
	const struct py_layout *l = &pp->layout;
	uint64_t cframe;
	int ret;

	*top = 0;
	if (!layout_has(l, LF_tstate_cframe)) {
		*top = py_get(l, tbuf, tlen, layout_has(l, LF_tstate_frame)
						     ? LF_tstate_frame
						     : LF_tstate_current_frame);
		return 0;
	}
	cframe = py_get(l, tbuf, tlen, LF_tstate_cframe);
	if (!cframe)
		return 0;
	ret = py_read_field(pp, cframe, LF_cframe_current_frame, top);
	return ret == -ESRCH ? ret : ret ? PE_TORN : 0;
}

static int walk(struct py_proc *pp, const void *tbuf, size_t tlen,
		struct py_frame *out, size_t cap, size_t *n)
{
	const struct py_layout *l = &pp->layout;
	uint64_t top;
	int ret;

	*n = 0;
	ret = top_frame(pp, tbuf, tlen, &top);
	if (ret)
		return ret;
	if (layout_has(l, LF_tstate_frame))
		return walk_frame_objects(pp, top, out, cap, n);
	return walk_iframes(pp, NULL, top, out, cap, n);
}

int py_frame__walk(struct py_proc *pp, uint64_t tstate, const void *tbuf,
		   size_t tlen, struct py_frame *out, size_t cap, size_t *n)
{
	(void)tstate;
	return walk(pp, tbuf, tlen, out, cap, n);
}

int py_frame__walk_chunked(struct py_proc *pp, const void *tbuf, size_t tlen,
			   struct py_frame_chunks *fc, struct py_frame *out,
			   size_t cap, size_t *n)
{
	const struct py_layout *l = &pp->layout;
	uint64_t chunk = py_get(l, tbuf, tlen, LF_tstate_datastack_chunk);
	uint64_t top_ptr = py_get(l, tbuf, tlen, LF_tstate_datastack_top);
	uint64_t top, end;
	int ret;

	*n = 0;
	fc->n = 0;
	if (!layout_has(l, LF_tstate_datastack_chunk))
		return walk(pp, tbuf, tlen, out, cap, n);
	/* The innermost frame before the chunk it lies in: a pointer is
	 * read before what it points to. */
	ret = top_frame(pp, tbuf, tlen, &top);
	if (ret)
		return ret;
	/*
	 * Read up to the end of the page that holds the top: that page is
	 * mapped (its first bytes are in use), and a stack that grows or
	 * shrinks within it asks for the same range next sample, which a
	 * replay round then serves from its fetch.  Only the bytes below
	 * the top are used as frames.
	 */
	end = (top_ptr + 4095) & ~(uint64_t)4095;
	if (py_ptr_ok(chunk) && top_ptr > chunk &&
	    top_ptr - chunk <= PY_FRAME_CHUNK_MAX) {
		if (end - chunk > PY_FRAME_CHUNK_MAX)
			end = top_ptr;
		load_chunk(pp, fc, chunk, (size_t)(end - chunk),
			   (size_t)(top_ptr - chunk));
	}
	return walk_iframes(pp, fc, top, out, cap, n);
}
