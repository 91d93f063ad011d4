/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The recording writer: records are built in a scratch buffer, appended to
 * an input buffer and compressed with zstd's streaming API to @fd.  Owns
 * its interning tables; prints nothing.
 */
#include "rec_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "errors.h"
#include "py_code.h"
#include "rec_format.h"
#include "strtab.h"
#include "u64map.h"
#include "varint.h"

#define IN_CHUNK (64u << 10)     /* compress when this much is buffered */
#define LEVEL 3
/* A 256 KiB window: samples repeat at short range, and a window touched
 * page by page as data flows would otherwise grow RSS for minutes. */
#define WINDOW_LOG 18

struct wthread {
	int pid;
	uint64_t thread_id;
	int native_id;
	uint32_t name;           /* string id last written */
};

struct rec_write {
	int fd;
	int err;                 /* sticky: the first failure */
	ZSTD_CCtx *cctx;
	unsigned char *in, *out, *scratch;
	size_t inlen, incap, outcap, slen, scap;
	uint64_t frame_input;    /* input bytes in the current zstd frame */
	uint64_t frame_max;      /* end a frame after this much input */
	uint64_t last_flush, last_us;
	bool flushed_once;
	struct strtab strs;      /* string id - 1 -> string */
	struct u64map funcs, frames, stacks;
	uint32_t nfunc, nframe, nstack;
	struct wthread *threads;
	size_t nthreads, threads_cap;
	struct u64map thread_ix;  /* (thread id, pid) hash -> index */
	char **sys_path;         /* last written, to write only changes */
	size_t nsys_path;
	uint64_t samples, bytes;
};

/* ---- output ------------------------------------------------------------ */

static int write_all(struct rec_write *w, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n) {
		ssize_t k = write(w->fd, b, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -(errno ? errno : EIO);
		b += k;
		n -= (size_t)k;
		w->bytes += (uint64_t)k;
	}
	return 0;
}

/* Compress what is buffered with @mode (continue, flush or end). */
static int compress(struct rec_write *w, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer inb = { w->in, w->inlen, 0 };
	size_t left;

	if (w->err)
		return w->err;
	w->frame_input += w->inlen;
	if (mode != ZSTD_e_end && w->frame_input >= w->frame_max)
		mode = ZSTD_e_end;
	do {
		ZSTD_outBuffer outb = { w->out, w->outcap, 0 };

		left = ZSTD_compressStream2(w->cctx, &outb, &inb, mode);
		if (ZSTD_isError(left))
			return w->err = -EIO;
		if (outb.pos && (w->err = write_all(w, w->out, outb.pos)))
			return w->err;
	} while (mode == ZSTD_e_continue ? inb.pos < inb.size : left != 0);
	if (mode == ZSTD_e_end)
		w->frame_input = 0;
	w->inlen = 0;
	return 0;
}

/* Append the scratch payload as a record of @tag. */
static int emit(struct rec_write *w, enum rec_tag tag)
{
	size_t need = 1 + VARINT_MAX + w->slen;

	if (w->err)
		return w->err;
	if (w->inlen + need > w->incap) {
		size_t ncap = w->incap * 2 > w->inlen + need ? w->incap * 2
							     : w->inlen + need;
		unsigned char *nb = realloc(w->in, ncap);

		if (!nb)
			return w->err = -ENOMEM;
		w->in = nb;
		w->incap = ncap;
	}
	w->in[w->inlen++] = (unsigned char)tag;
	w->inlen += varint__put(w->in + w->inlen, w->slen);
	memcpy(w->in + w->inlen, w->scratch, w->slen);
	w->inlen += w->slen;
	w->slen = 0;
	if (w->inlen >= IN_CHUNK)
		return compress(w, ZSTD_e_continue);
	return 0;
}

static int reserve(struct rec_write *w, size_t more)
{
	unsigned char *nb;
	size_t ncap;

	if (w->slen + more <= w->scap)
		return 0;
	ncap = (w->slen + more) * 2;
	nb = realloc(w->scratch, ncap);
	if (!nb)
		return w->err = -ENOMEM;
	w->scratch = nb;
	w->scap = ncap;
	return 0;
}

static void put_u(struct rec_write *w, uint64_t v)
{
	if (!reserve(w, VARINT_MAX))
		w->slen += varint__put(w->scratch + w->slen, v);
}

static void put_bytes(struct rec_write *w, const char *s, size_t n)
{
	put_u(w, n);
	if (!reserve(w, n)) {
		memcpy(w->scratch + w->slen, s, n);
		w->slen += n;
	}
}

/* ---- interning ---------------------------------------------------------- */

/* The id of string @s (its string-table index + 1), written first if new;
 * 0 on error. */
static uint32_t string_id(struct rec_write *w, const char *s)
{
	bool added;
	long i = strtab__intern(&w->strs, s, &added);

	if (i < 0)
		return 0;
	if (added) {
		put_u(w, (uint64_t)i + 1);
		put_bytes(w, s, strlen(s));
		if (emit(w, REC_STRING))
			return 0;
	}
	return (uint32_t)i + 1;
}

static uint32_t func_id(struct rec_write *w, const struct py_code *c)
{
	uint64_t key = (uint64_t)(uintptr_t)c;
	uint32_t id, name, file;

	if (u64map__get(&w->funcs, key, &id))
		return id;
	name = string_id(w, c->qualname ? c->qualname : "?");
	file = string_id(w, c->filename ? c->filename : "");
	if (!name || !file)
		return 0;
	id = ++w->nfunc;
	put_u(w, id);
	put_u(w, name);
	put_u(w, file);
	put_u(w, c->firstlineno > 0 ? (uint64_t)c->firstlineno : 0);
	if (emit(w, REC_FUNC) || u64map__put(&w->funcs, key, id))
		return 0;
	return id;
}

static uint32_t frame_id(struct rec_write *w, const struct py_frame *f)
{
	uint32_t func = func_id(w, f->code), id;
	/* line + 1 must stay a valid int for the reader. */
	uint32_t line1 = f->line > 0 && f->line < INT32_MAX ? (uint32_t)f->line + 1
							     : 0;
	uint64_t key;

	if (!func)
		return 0;
	key = u64map__pair(func, line1);
	if (u64map__get(&w->frames, key, &id))
		return id;
	id = ++w->nframe;
	put_u(w, id);
	put_u(w, func);
	put_u(w, line1);
	if (emit(w, REC_FRAME) || u64map__put(&w->frames, key, id))
		return 0;
	return id;
}

/* The stack id of @t's frames (innermost first), 0 on error. */
static uint32_t stack_id(struct rec_write *w, const struct py_sample_thread *t)
{
	uint32_t parent = 0;

	for (size_t i = t->nframes; i-- > 0;) {
		uint32_t frame = frame_id(w, &t->frames[i]), id;
		uint64_t key;

		if (!frame)
			return 0;
		key = u64map__pair(parent, frame);
		if (!u64map__get(&w->stacks, key, &id)) {
			id = ++w->nstack;
			put_u(w, id);
			put_u(w, parent);
			put_u(w, frame);
			if (emit(w, REC_STACK) ||
			    u64map__put(&w->stacks, key, id))
				return 0;
		}
		parent = id;
	}
	return parent;
}

/* The thread index of @t (1-based), written (again) when new or renamed. */
static uint32_t thread_index(struct rec_write *w, int pid,
			     const struct py_sample_thread *t)
{
	uint64_t key = (t->thread_id * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)(unsigned)pid;
	struct wthread *th = NULL;
	uint32_t ix, name;
	size_t i = 0;

	key = key ? key : 1;
	if (u64map__get(&w->thread_ix, key, &ix) &&
	    w->threads[ix].thread_id == t->thread_id && w->threads[ix].pid == pid) {
		th = &w->threads[ix];
		i = ix;
	}
	/* The common case, every sample: known and unchanged; no hashing. */
	if (th && th->native_id == t->native_id &&
	    (t->name ? th->name && !strcmp(w->strs.s[th->name - 1], t->name)
		     : !th->name))
		return (uint32_t)i + 1;
	name = t->name ? string_id(w, t->name) : 0;
	if (t->name && !name)
		return 0;
	if (!th) {
		if (w->nthreads == w->threads_cap) {
			size_t ncap = w->threads_cap ? w->threads_cap * 2 : 16;
			struct wthread *nt = realloc(w->threads,
						     ncap * sizeof(*nt));

			if (!nt)
				return 0;
			w->threads = nt;
			w->threads_cap = ncap;
		}
		th = &w->threads[w->nthreads++];
		i = w->nthreads - 1;
		if (u64map__put(&w->thread_ix, key, (uint32_t)i))
			return 0;
	}
	*th = (struct wthread){ pid, t->thread_id, t->native_id, name };
	put_u(w, i + 1);
	put_u(w, (uint64_t)pid);
	put_u(w, t->native_id > 0 ? (uint64_t)t->native_id : 0);
	put_u(w, t->thread_id);
	put_u(w, name);
	return emit(w, REC_THREAD) ? 0 : (uint32_t)i + 1;
}

/* ---- API ---------------------------------------------------------------- */

int rec_write__meta(struct rec_write *w, const char *key, const char *value)
{
	put_bytes(w, key, strlen(key));
	put_bytes(w, value, strlen(value));
	return emit(w, REC_META);
}

static int header(struct rec_write *w, const struct rec_write_info *info)
{
	char v[64];
	unsigned char head[16];
	uint32_t size;
	int ret;

	/* The header's META records are built in the input buffer, then
	 * moved out uncompressed into the skippable frame. */
	snprintf(v, sizeof(v), "%s", PEEKA_VERSION);
	ret = rec_write__meta(w, "peeka", v);
	snprintf(v, sizeof(v), "%d", info->pid);
	ret = ret ? ret : rec_write__meta(w, "pid", v);
	ret = ret ? ret : rec_write__meta(w, "cmdline", info->cmdline ? info->cmdline : "");
	ret = ret ? ret : rec_write__meta(w, "python", info->python ? info->python : "");
	snprintf(v, sizeof(v), "%.6g", info->rate);
	ret = ret ? ret : rec_write__meta(w, "rate", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)info->start_unix_ns);
	ret = ret ? ret : rec_write__meta(w, "start_unix_ns", v);
	if (ret)
		return ret;
	size = (uint32_t)(12 + w->inlen);
	for (int i = 0; i < 4; i++) {
		head[i] = (unsigned char)(REC_SKIPPABLE_MAGIC >> (8 * i));
		head[4 + i] = (unsigned char)(size >> (8 * i));
	}
	memcpy(head + 8, REC_FILE_MAGIC, 8);
	if ((ret = write_all(w, head, 16)))
		return ret;
	head[0] = REC_FORMAT_VERSION & 0xff;
	head[1] = REC_FORMAT_VERSION >> 8;
	head[2] = head[3] = 0;
	if ((ret = write_all(w, head, 4)) || (ret = write_all(w, w->in, w->inlen)))
		return ret;
	w->inlen = 0;
	return 0;
}

int rec_write__open(struct rec_write **out, int fd,
		    const struct rec_write_info *info)
{
	struct rec_write *w = calloc(1, sizeof(*w));
	int ret;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->frame_max = REC_FRAME_INPUT;
	strtab__init(&w->strs);
	u64map__init(&w->funcs);
	u64map__init(&w->frames);
	u64map__init(&w->stacks);
	u64map__init(&w->thread_ix);
	w->incap = IN_CHUNK * 2;
	w->outcap = ZSTD_CStreamOutSize();
	w->in = malloc(w->incap);
	w->out = malloc(w->outcap);
	w->cctx = ZSTD_createCCtx();
	if (!w->in || !w->out || !w->cctx ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel,
						LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_windowLog,
						WINDOW_LOG)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1))) {
		rec_write__free(w);
		return -ENOMEM;
	}
	ret = header(w, info);
	if (ret) {
		rec_write__free(w);
		return ret;
	}
	*out = w;
	return 0;
}

int rec_write__thread(struct rec_write *w, int pid, uint64_t ts_ns,
		      const struct py_sample_thread *t)
{
	uint64_t us = ts_ns / 1000;
	uint32_t th = thread_index(w, pid, t), stack = 0;
	unsigned flags = (t->active ? REC_F_ACTIVE : 0) | (t->gil ? REC_F_GIL : 0);

	if (!th)
		return w->err ? w->err : -ENOMEM;
	if (t->err)
		flags |= REC_F_ERROR;
	else if (t->nframes && !(stack = stack_id(w, t)))
		return w->err ? w->err : -ENOMEM;
	put_u(w, th);
	put_u(w, us >= w->last_us ? us - w->last_us : 0);
	put_u(w, stack);
	put_u(w, flags);
	if (us > w->last_us)
		w->last_us = us;
	w->samples++;
	return emit(w, REC_SAMPLE);
}

int rec_write__process(struct rec_write *w, int pid, const char *label)
{
	uint32_t id = string_id(w, label);

	if (!id)
		return w->err ? w->err : -ENOMEM;
	put_u(w, pid > 0 ? (uint64_t)pid : 0);
	put_u(w, id);
	return emit(w, REC_PROCESS);
}

static bool same_sys_path(const struct rec_write *w, const struct py_sys_path *sp)
{
	if (w->nsys_path != sp->n + 1)
		return false;
	for (size_t i = 0; i < sp->n; i++)
		if (strcmp(w->sys_path[i], sp->dirs[i]))
			return false;
	return !strcmp(w->sys_path[sp->n], sp->stdlib ? sp->stdlib : "");
}

int rec_write__sys_path(struct rec_write *w, const struct py_sys_path *sp)
{
	uint32_t *ids;
	uint32_t lib;

	if (same_sys_path(w, sp))
		return 0;
	for (size_t i = 0; i < w->nsys_path; i++)
		free(w->sys_path[i]);
	free(w->sys_path);
	w->nsys_path = 0;
	w->sys_path = calloc(sp->n + 1, sizeof(*w->sys_path));
	ids = calloc(sp->n + 1, sizeof(*ids));
	if (!w->sys_path || !ids) {
		free(ids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sp->n; i++) {
		w->sys_path[i] = strdup(sp->dirs[i]);
		ids[i] = string_id(w, sp->dirs[i]);
	}
	w->sys_path[sp->n] = strdup(sp->stdlib ? sp->stdlib : "");
	w->nsys_path = sp->n + 1;
	lib = sp->stdlib ? string_id(w, sp->stdlib) : 0;
	put_u(w, lib);
	put_u(w, sp->n);
	for (size_t i = 0; i < sp->n; i++)
		put_u(w, ids[i]);
	free(ids);
	return emit(w, REC_SYS_PATH);
}

int rec_write__tick(struct rec_write *w, uint64_t now_ns)
{
	if (w->flushed_once && now_ns - w->last_flush < REC_FLUSH_NS)
		return w->err;
	w->flushed_once = true;
	w->last_flush = now_ns;
	return compress(w, ZSTD_e_flush);
}

int rec_write__finish(struct rec_write *w)
{
	int ret;

	w->slen = 0;
	ret = emit(w, REC_END);
	return ret ? ret : compress(w, ZSTD_e_end);
}

void rec_write__forget_codes(struct rec_write *w)
{
	u64map__release(&w->funcs);
	u64map__init(&w->funcs);
}

void rec_write__set_frame_input(struct rec_write *w, uint64_t bytes)
{
	w->frame_max = bytes ? bytes : REC_FRAME_INPUT;
}

uint64_t rec_write__samples(const struct rec_write *w)
{
	return w->samples;
}

uint64_t rec_write__bytes(const struct rec_write *w)
{
	return w->bytes;
}

void rec_write__free(struct rec_write *w)
{
	if (!w)
		return;
	ZSTD_freeCCtx(w->cctx);
	free(w->in);
	free(w->out);
	free(w->scratch);
	for (size_t i = 0; i < w->nsys_path; i++)
		free(w->sys_path[i]);
	free(w->sys_path);
	free(w->threads);
	strtab__release(&w->strs);
	u64map__release(&w->funcs);
	u64map__release(&w->frames);
	u64map__release(&w->stacks);
	u64map__release(&w->thread_ix);
	free(w);
}
