/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The recording reader: the header frame, then zstd frames decoded as a
 * stream into records.  Definitions are kept in tables indexed by id
 * (functions as heap py_code objects whose addresses stay put, so a
 * collector may key on them); each SAMPLE is delivered as a
 * py_sample_thread.  Prints nothing.
 */
#include "rec_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "errors.h"
#include "py_code.h"
#include "py_frame.h"
#include "rec_format.h"
#include "varint.h"

#define MAX_DEPTH PY_FRAME_MAX_DEPTH
#define HEADER_MAX (1u << 20)
#define MAX_PROCESSES 1024
#define MAX_ID 0xfffffff0u        /* ids are kept in 32 bits */
#define WINDOW_LOG_MAX 23         /* the writer uses 18 */

struct rframe {
	uint32_t func;
	int line;
};

struct rstack {
	uint32_t parent, frame;
};

struct rthread {
	int pid, native_id;
	uint64_t thread_id;
	uint32_t name;
};

struct rprocess {
	int pid;
	uint32_t label;       /* string id */
};

/* A growing array of fixed-size elements, indexed by id - 1. */
struct vec {
	void *v;
	size_t n, cap, size;
};

struct reader {
	rec_read_fn fn;
	void *ctx;
	struct rec_read_info *info;
	struct vec strs;      /* char * */
	struct vec codes;     /* struct py_code * */
	struct vec frames;    /* struct rframe */
	struct vec stacks;    /* struct rstack */
	struct vec threads;   /* struct rthread */
	struct vec procs;     /* struct rprocess */
	struct py_frame fbuf[MAX_DEPTH];
	uint64_t ts_us;
	bool stop, ended;
	const char *bad;      /* the first malformed record, if any */
};

static void *vec_push(struct vec *v)
{
	if (v->n >= MAX_ID)
		return NULL;
	if (v->n == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 64;
		void *nv = realloc(v->v, ncap * v->size);

		if (!nv)
			return NULL;
		v->v = nv;
		v->cap = ncap;
	}
	return (char *)v->v + v->size * v->n++;
}

static void *vec_at(const struct vec *v, uint64_t id)
{
	if (!id || id > v->n)
		return NULL;
	return (char *)v->v + v->size * (id - 1);
}

/* ---- payload fields ------------------------------------------------------ */

struct in {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t get_u(struct in *in)
{
	uint64_t v = 0;

	if (!in->bad && varint__get(&in->p, in->end, &v))
		in->bad = true;
	return in->bad ? 0 : v;
}

/* A string field, copied and NUL-terminated (NULL when malformed). */
static char *get_str(struct in *in)
{
	uint64_t n = get_u(in);
	char *s;

	if (in->bad || n > (uint64_t)(in->end - in->p)) {
		in->bad = true;
		return NULL;
	}
	s = malloc((size_t)n + 1);
	if (!s) {
		in->bad = true;
		return NULL;
	}
	memcpy(s, in->p, (size_t)n);
	s[n] = '\0';
	in->p += n;
	return s;
}

static const char *str_of(const struct reader *r, uint64_t id)
{
	char **s = vec_at(&r->strs, id);

	return s ? *s : NULL;
}

/* ---- records ------------------------------------------------------------ */

static void meta(struct reader *r, struct in *in)
{
	struct rec_read_info *info = r->info;
	char *k = get_str(in), *v = get_str(in);

	if (k && v) {
		if (!strcmp(k, "peeka"))
			snprintf(info->peeka, sizeof(info->peeka), "%s", v);
		else if (!strcmp(k, "python"))
			snprintf(info->python, sizeof(info->python), "%s", v);
		else if (!strcmp(k, "cmdline"))
			snprintf(info->cmdline, sizeof(info->cmdline), "%s", v);
		else if (!strcmp(k, "pid"))
			info->pid = (int)strtol(v, NULL, 10);
		else if (!strcmp(k, "rate")) {
			/* Unknown unless sensible: it divides times. */
			info->rate = atof(v);
			if (!(info->rate >= 0.01 && info->rate <= 1e6))
				info->rate = 0;
		}
		else if (!strcmp(k, "start_unix_ns"))
			info->start_unix_ns = strtoull(v, NULL, 10);
	}
	free(k);
	free(v);
}

static bool define_string(struct reader *r, struct in *in)
{
	uint64_t id = get_u(in);
	char *s = get_str(in), **slot;

	if (!s || id != r->strs.n + 1 || !(slot = vec_push(&r->strs))) {
		free(s);
		return false;
	}
	*slot = s;
	return true;
}

static bool define_func(struct reader *r, struct in *in)
{
	uint64_t id = get_u(in), name = get_u(in), file = get_u(in);
	uint64_t first = get_u(in);
	struct py_code *c, **slot;

	if (in->bad || id != r->codes.n + 1 || !str_of(r, name) ||
	    !str_of(r, file) || first > INT32_MAX)
		return false;
	c = calloc(1, sizeof(*c));
	if (!c || !(slot = vec_push(&r->codes))) {
		free(c);
		return false;
	}
	/* Borrowed strings: the reader frees them, never code_free. */
	c->addr = id;
	c->name = c->qualname = (char *)str_of(r, name);
	c->filename = (char *)str_of(r, file);
	c->firstlineno = (int)first;
	*slot = c;
	return true;
}

static bool define_frame(struct reader *r, struct in *in)
{
	uint64_t id = get_u(in), func = get_u(in), line1 = get_u(in);
	struct rframe *f;

	if (in->bad || id != r->frames.n + 1 || !vec_at(&r->codes, func) ||
	    line1 > INT32_MAX || !(f = vec_push(&r->frames)))
		return false;
	f->func = (uint32_t)func;
	f->line = line1 ? (int)line1 - 1 : -1;
	return true;
}

static bool define_stack(struct reader *r, struct in *in)
{
	uint64_t id = get_u(in), parent = get_u(in), frame = get_u(in);
	struct rstack *s;

	/* A parent is always defined first: no cycles. */
	if (in->bad || id != r->stacks.n + 1 || parent >= id ||
	    !vec_at(&r->frames, frame) || !(s = vec_push(&r->stacks)))
		return false;
	s->parent = (uint32_t)parent;
	s->frame = (uint32_t)frame;
	return true;
}

static bool define_thread(struct reader *r, struct in *in)
{
	uint64_t idx = get_u(in), pid = get_u(in), native = get_u(in);
	uint64_t tid = get_u(in), name = get_u(in);
	struct rthread *t = vec_at(&r->threads, idx);

	if (in->bad || pid > INT32_MAX || native > INT32_MAX ||
	    (name && !str_of(r, name)))
		return false;
	if (!t) {
		if (idx != r->threads.n + 1 || !(t = vec_push(&r->threads)))
			return false;
	}
	*t = (struct rthread){ (int)pid, (int)native, tid, (uint32_t)name };
	return true;
}

static bool define_process(struct reader *r, struct in *in)
{
	uint64_t pid = get_u(in), label = get_u(in);
	struct rprocess *p = NULL;

	if (in->bad || pid > INT32_MAX || !str_of(r, label))
		return false;
	for (size_t i = 0; i < r->procs.n && !p; i++)
		if (((struct rprocess *)r->procs.v)[i].pid == (int)pid)
			p = &((struct rprocess *)r->procs.v)[i];
	if (!p && (r->procs.n >= MAX_PROCESSES || !(p = vec_push(&r->procs))))
		return false;
	*p = (struct rprocess){ (int)pid, (uint32_t)label };
	return true;
}

static const char *process_label(const struct reader *r, int pid)
{
	for (size_t i = 0; i < r->procs.n; i++)
		if (((struct rprocess *)r->procs.v)[i].pid == pid)
			return str_of(r, ((struct rprocess *)r->procs.v)[i].label);
	return NULL;
}

static bool sys_path(struct reader *r, struct in *in)
{
	uint64_t lib = get_u(in), n = get_u(in);
	const char **dirs;
	int ret;

	if (in->bad || n > 4096 || (lib && !str_of(r, lib)))
		return false;
	dirs = calloc(n ? n : 1, sizeof(*dirs));
	if (!dirs)
		return false;
	for (uint64_t i = 0; i < n; i++)
		if (!(dirs[i] = str_of(r, get_u(in)))) {
			free(dirs);
			return false;
		}
	py_sys_path__release(&r->info->sys_path);
	ret = py_sys_path__set(&r->info->sys_path, dirs, n);
	free(dirs);
	/* The recorded standard-library entry wins over the guess. */
	for (size_t i = 0; !ret && lib && i < r->info->sys_path.n; i++)
		if (!strcmp(r->info->sys_path.dirs[i], str_of(r, lib)))
			r->info->sys_path.stdlib = r->info->sys_path.dirs[i];
	return !ret;
}

static bool sample(struct reader *r, struct in *in)
{
	uint64_t idx = get_u(in), dt = get_u(in), stack = get_u(in);
	uint64_t flags = get_u(in);
	const struct rthread *th = vec_at(&r->threads, idx);
	struct rec_read_sample s = { 0 };
	size_t n = 0;

	if (in->bad || !th || (stack && !vec_at(&r->stacks, stack)))
		return false;
	r->ts_us += dt;
	for (uint64_t id = stack; id && n < MAX_DEPTH;) {
		const struct rstack *st = vec_at(&r->stacks, id);
		const struct rframe *f = vec_at(&r->frames, st->frame);

		r->fbuf[n].code = *(struct py_code **)vec_at(&r->codes, f->func);
		r->fbuf[n].line = f->line;
		r->fbuf[n].addr = 0;
		r->fbuf[n].localsplus = 0;
		n++;
		id = st->parent;
	}
	s.ts_ns = r->ts_us * 1000;
	s.pid = th->pid;
	s.process = process_label(r, th->pid);
	s.t.thread_id = th->thread_id;
	s.t.native_id = th->native_id;
	s.t.name = th->name ? str_of(r, th->name) : NULL;
	s.t.gil = flags & REC_F_GIL;
	s.t.active = flags & REC_F_ACTIVE;
	s.t.os_state = '?';
	s.t.err = (flags & REC_F_ERROR) ? PE_TORN : 0;
	s.t.frames = r->fbuf;
	s.t.nframes = n;
	r->info->samples++;
	r->info->duration_ns = s.ts_ns;
	if (r->fn(r->ctx, &s))
		r->stop = true;
	return true;
}

static bool record(struct reader *r, unsigned tag, const unsigned char *p,
		   size_t len)
{
	struct in in = { p, p + len, false };
	bool ok = true;

	switch (tag) {
	case REC_META:
		meta(r, &in);
		break;
	case REC_STRING:
		ok = define_string(r, &in);
		break;
	case REC_FUNC:
		ok = define_func(r, &in);
		break;
	case REC_FRAME:
		ok = define_frame(r, &in);
		break;
	case REC_STACK:
		ok = define_stack(r, &in);
		break;
	case REC_THREAD:
		ok = define_thread(r, &in);
		break;
	case REC_PROCESS:
		ok = define_process(r, &in);
		break;
	case REC_SAMPLE:
		ok = sample(r, &in);
		break;
	case REC_SYS_PATH:
		ok = sys_path(r, &in);
		break;
	case REC_END:
		r->ended = true;
		break;
	default:
		break;   /* a newer record kind: skipped */
	}
	return ok && !in.bad;
}

/*
 * Parse the whole records in [buf, buf + len); returns the bytes used.
 * Sets r->bad on a malformed record (and stops there).
 */
static size_t records(struct reader *r, const unsigned char *buf, size_t len)
{
	const unsigned char *p = buf, *end = buf + len;

	while (p < end && !r->stop && !r->bad) {
		const unsigned char *q = p + 1;
		uint64_t n;

		if (varint__get(&q, end, &n)) {
			if (end - p > 1 + VARINT_MAX)
				r->bad = "a record length is malformed";
			break;
		}
		if (n > REC_RECORD_MAX) {
			r->bad = "a record is longer than any peeka writes";
			break;
		}
		if (n > (uint64_t)(end - q))
			break;   /* incomplete: wait for more */
		if (!record(r, *p, q, (size_t)n)) {
			r->bad = "a record is malformed";
			break;
		}
		p = q + n;
	}
	return (size_t)(p - buf);
}

/* ---- file ---------------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static int read_header(struct reader *r, FILE *f, char *err, size_t errlen)
{
	unsigned char head[20], *payload;
	uint32_t size;
	size_t got = fread(head, 1, sizeof(head), f);
	int ret = 0;

	if (got == 0) {
		snprintf(err, errlen, "the file is empty");
		return PE_NOT_RECORDING;
	}
	if (got < sizeof(head) || le32(head) != REC_SKIPPABLE_MAGIC ||
	    memcmp(head + 8, REC_FILE_MAGIC, 8)) {
		snprintf(err, errlen, "no peeka recording header");
		return PE_NOT_RECORDING;
	}
	size = le32(head + 4);
	r->info->version = (unsigned)head[16] | (unsigned)head[17] << 8;
	if (r->info->version > REC_FORMAT_VERSION || r->info->version == 0) {
		snprintf(err, errlen,
			 "recording format version %u; this peeka reads version %d",
			 r->info->version, REC_FORMAT_VERSION);
		return PE_FORMAT_VERSION;
	}
	if (size < 12 || size > HEADER_MAX) {
		snprintf(err, errlen, "the recording header is damaged");
		return PE_NOT_RECORDING;
	}
	payload = malloc(size - 12 ? size - 12 : 1);
	if (!payload)
		return -ENOMEM;
	if (fread(payload, 1, size - 12, f) != size - 12) {
		snprintf(err, errlen, "the recording header is truncated");
		ret = PE_NOT_RECORDING;
	} else if (records(r, payload, size - 12) != size - 12 || r->bad) {
		snprintf(err, errlen, "the recording header is damaged");
		ret = PE_NOT_RECORDING;
	}
	free(payload);
	return ret;
}

static void damage(struct rec_read_info *info, const char *what)
{
	if (info->damaged)
		return;
	info->damaged = true;
	snprintf(info->damage, sizeof(info->damage), "%s", what);
}

/* Decode the zstd frames after the header, feeding records(). */
static int body(struct reader *r, FILE *f)
{
	size_t inc = ZSTD_DStreamInSize(), outc = ZSTD_DStreamOutSize();
	unsigned char *in = malloc(inc), *rb = NULL;
	size_t rblen = 0, rbcap = 0, last = 0;
	ZSTD_DCtx *d = ZSTD_createDCtx();
	bool any = false;
	int ret = 0;

	if (!in || !d) {
		ret = -ENOMEM;
		goto out;
	}
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
	while (!r->stop && !r->bad) {
		size_t got = fread(in, 1, inc, f);
		ZSTD_inBuffer ib = { in, got, 0 };

		if (!got)
			break;
		any = true;
		for (bool full = false;
		     (ib.pos < ib.size || full) && !r->stop && !r->bad;) {
			ZSTD_outBuffer ob;
			size_t used;

			if (rbcap - rblen < outc) {
				unsigned char *nb = realloc(rb, rblen + outc);

				if (!nb) {
					ret = -ENOMEM;
					goto out;
				}
				rb = nb;
				rbcap = rblen + outc;
			}
			ob = (ZSTD_outBuffer){ rb + rblen, outc, 0 };
			last = ZSTD_decompressStream(d, &ob, &ib);
			if (ZSTD_isError(last)) {
				char what[160];

				snprintf(what, sizeof(what), "the data is corrupt (%s)",
					 ZSTD_getErrorName(last));
				records(r, rb, rblen + ob.pos);
				r->info->complete = r->ended;
				damage(r->info, what);
				goto out;
			}
			full = ob.pos == ob.size;   /* more may be pending */
			rblen += ob.pos;
			used = records(r, rb, rblen);
			memmove(rb, rb + used, rblen - used);
			rblen -= used;
		}
	}
	r->info->complete = r->ended;
	if (ferror(f))
		ret = -EIO;
	else if (r->bad)
		damage(r->info, r->bad);
	else if (!r->stop && (last != 0 || rblen))
		damage(r->info, "the file is truncated: its last records are lost");
	else if (!r->stop && !r->ended)
		damage(r->info, any ? "the recording was cut short (no end mark)"
				    : "the recording holds no data");
out:
	ZSTD_freeDCtx(d);
	free(in);
	free(rb);
	return ret;
}

static void reader_release(struct reader *r)
{
	for (size_t i = 0; i < r->strs.n; i++)
		free(((char **)r->strs.v)[i]);
	for (size_t i = 0; i < r->codes.n; i++)
		free(((struct py_code **)r->codes.v)[i]);
	free(r->strs.v);
	free(r->codes.v);
	free(r->frames.v);
	free(r->stacks.v);
	free(r->threads.v);
	free(r->procs.v);
}

int rec_read__file(const char *path, rec_read_fn fn, void *ctx,
		   struct rec_read_info *info, char *err, size_t errlen)
{
	struct reader *r = calloc(1, sizeof(*r));
	FILE *f;
	int ret;

	memset(info, 0, sizeof(*info));
	if (!r)
		return -ENOMEM;
	r->fn = fn;
	r->ctx = ctx;
	r->info = info;
	r->strs.size = sizeof(char *);
	r->codes.size = sizeof(struct py_code *);
	r->frames.size = sizeof(struct rframe);
	r->stacks.size = sizeof(struct rstack);
	r->threads.size = sizeof(struct rthread);
	r->procs.size = sizeof(struct rprocess);
	f = fopen(path, "rb");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		free(r);
		return ret;
	}
	ret = read_header(r, f, err, errlen);
	if (!ret)
		ret = body(r, f);
	if (ret == -EIO)
		snprintf(err, errlen, "read error");
	fclose(f);
	reader_release(r);
	free(r);
	return ret;
}

void rec_read_info__release(struct rec_read_info *info)
{
	py_sys_path__release(&info->sys_path);
}

bool rec_read__is_recording(const char *path)
{
	unsigned char head[16];
	FILE *f = fopen(path, "rb");
	bool yes;

	if (!f)
		return false;
	yes = fread(head, 1, sizeof(head), f) == sizeof(head) &&
	      le32(head) == REC_SKIPPABLE_MAGIC &&
	      !memcmp(head + 8, REC_FILE_MAGIC, 8);
	fclose(f);
	return yes;
}
