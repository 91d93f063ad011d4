/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sampler's view of a process: per sample, the thread states, each
 * thread's frames (one read of its data-stack chunk on 3.11+), a batched
 * check that cached code objects are still what they were, the GIL holder
 * and the OS state from a kept-open /proc stat file.
 */
#include "py_sample.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "native_stack.h"
#include "proc_replay.h"
#include "proc_stop.h"
#include "proc_task.h"
#include "py_code.h"
#include "py_thread.h"
#include "rec_clock.h"

#define MAX_TRACKED 1024
#define TSTATE_MAX 4096
#define CODESET 512             /* power of two */
#define FORGET_AFTER 200        /* samples a thread may be unseen */
#define REFRESH_NS 250000000ULL /* at most 4 name refreshes a second */
#define INTERPS_NS 100000000ULL /* re-read the interpreter list every 100 ms */
#define MAX_INTERPS_CACHED 64

struct tracked {
	uint64_t thread_id;
	int native_id;
	bool has_name;
	char name[PY_THREAD_NAME_MAX];
	int stat_fd;
	uint64_t seen;
};

struct py_sampler {
	struct py_proc *pp;
	struct py_frame_chunks fc;
	struct py_frame *frames;
	unsigned char tbuf[TSTATE_MAX];
	struct tracked *t;
	size_t nt;
	uint64_t codeset[CODESET];
	uint32_t codestamp[CODESET];     /* slot is live when == codegen */
	uint32_t codegen;
	uint64_t codes[PY_FRAME_MAX_DEPTH];
	uint64_t last_refresh;
	size_t nthreads;
	bool same_ns;
	bool blocking;
	enum py_sample_skip skip;
	struct proc_replay *rp;
	uint64_t interps[MAX_INTERPS_CACHED];
	size_t ninterps;
	uint64_t interps_at;
	uint64_t gil_interp, gil_addr;   /* cached GIL struct of one interp */
	bool gil_checked, gil_enabled;
	struct native_unwinder *native;
	uint64_t ips[NATIVE_MAX_DEPTH], sps[NATIVE_MAX_DEPTH];
	struct py_sample_stats st;
};

void py_sampler__set_native(struct py_sampler *s, struct native_unwinder *u)
{
	s->native = u;
}

void py_sampler__set_blocking(struct py_sampler *s, bool on)
{
	s->blocking = on;
}

void py_sampler__set_skip(struct py_sampler *s, enum py_sample_skip skip)
{
	s->skip = skip;
}

struct py_sampler *py_sampler__new(struct py_proc *pp)
{
	struct py_sampler *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pp = pp;
	s->frames = calloc(PY_FRAME_MAX_DEPTH, sizeof(*s->frames));
	s->t = calloc(MAX_TRACKED, sizeof(*s->t));
	s->rp = proc_replay__new();
	s->same_ns = proc_task__same_pidns(pp->pid);
	if (!s->frames || !s->t || !s->rp) {
		py_sampler__free(s);
		return NULL;
	}
	return s;
}

void py_sampler__free(struct py_sampler *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->t && i < s->nt; i++)
		if (s->t[i].stat_fd > 0)
			close(s->t[i].stat_fd);
	py_frame_chunks__release(&s->fc);
	proc_replay__free(s->rp);
	free(s->frames);
	free(s->t);
	free(s);
}

const struct py_sample_stats *py_sampler__stats(const struct py_sampler *s)
{
	return &s->st;
}

size_t py_sampler__nthreads(const struct py_sampler *s)
{
	return s->nthreads;
}

static struct tracked *find(struct py_sampler *s, uint64_t thread_id)
{
	for (size_t i = 0; i < s->nt; i++)
		if (s->t[i].thread_id == thread_id)
			return &s->t[i];
	return NULL;
}

static struct tracked *add(struct py_sampler *s, uint64_t thread_id)
{
	struct tracked *t;

	if (s->nt >= MAX_TRACKED)
		return NULL;
	t = &s->t[s->nt++];
	memset(t, 0, sizeof(*t));
	t->thread_id = thread_id;
	t->stat_fd = -1;
	return t;
}

/* Names and native ids of every thread, from one full snapshot. */
static void refresh_names(struct py_sampler *s)
{
	struct proc_replay *rp = s->pp->mem.replay;
	struct py_snapshot snap;
	int ret;

	s->last_refresh = rec_clock__now();
	s->st.name_refreshes++;
	/* A one-off read: live, and kept out of the next round's fetch. */
	s->pp->mem.replay = NULL;
	ret = py_snapshot__take(s->pp, &snap, PY_SNAP_NAMES);
	s->pp->mem.replay = rp;
	if (ret)
		return;
	for (size_t i = 0; i < snap.n; i++) {
		const struct py_thread *pt = &snap.threads[i];
		struct tracked *t = find(s, pt->thread_id);

		if (!t)
			t = add(s, pt->thread_id);
		if (!t)
			break;
		if (pt->native_id && pt->native_id != t->native_id) {
			if (t->stat_fd > 0)
				close(t->stat_fd);
			t->stat_fd = -1;
			t->native_id = pt->native_id;
		}
		if (pt->has_name) {
			memcpy(t->name, pt->name, sizeof(t->name));
			t->has_name = true;
		}
	}
	py_snapshot__release(&snap);
}

static struct tracked *lookup(struct py_sampler *s, uint64_t thread_id,
			      uint64_t native)
{
	struct tracked *t = find(s, thread_id);

	if (!t && rec_clock__now() - s->last_refresh > REFRESH_NS) {
		refresh_names(s);
		t = find(s, thread_id);
	}
	if (!t) {
		t = add(s, thread_id);
		if (t && s->same_ns && native > 0 && native < INT32_MAX &&
		    proc_task__exists(s->pp->pid, (int)native))
			t->native_id = (int)native;
	}
	return t;
}

static char os_state(struct py_sampler *s, struct tracked *t)
{
	char buf[512];
	ssize_t n;

	if (!t || !t->native_id)
		return '?';
	if (t->stat_fd < 0) {
		snprintf(buf, sizeof(buf), "/proc/%d/task/%d/stat", s->pp->pid,
			 t->native_id);
		t->stat_fd = open(buf, O_RDONLY | O_CLOEXEC);
		if (t->stat_fd < 0)
			return '?';
	}
	n = pread(t->stat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	return proc_task__parse_state(buf);
}

/* The distinct code objects of a walk, for one validation read. */
static size_t distinct_codes(struct py_sampler *s, size_t nframes)
{
	size_t n = 0;

	/* A new generation empties the set without touching its memory. */
	if (++s->codegen == 0) {
		memset(s->codestamp, 0, sizeof(s->codestamp));
		s->codegen = 1;
	}
	for (size_t i = 0; i < nframes; i++) {
		uint64_t a = s->frames[i].code->addr;
		size_t h = (size_t)((a >> 4) * 0x9e3779b97f4a7c15ULL) & (CODESET - 1);

		for (size_t k = 0; k < CODESET; k++, h = (h + 1) & (CODESET - 1)) {
			if (s->codestamp[h] != s->codegen) {
				s->codestamp[h] = s->codegen;
				s->codeset[h] = a;
				s->codes[n++] = a;
				break;
			}
			if (s->codeset[h] == a)
				break;
		}
	}
	return n;
}

static int walk_thread(struct py_sampler *s, size_t len,
		       struct py_sample_thread *out)
{
	struct py_proc *pp = s->pp;
	int ret = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		size_t ncodes;

		out->err = py_frame__walk_chunked(pp, s->tbuf, len, &s->fc,
						  s->frames, PY_FRAME_MAX_DEPTH,
						  &out->nframes);
		if (out->err == -ESRCH)
			return -ESRCH;
		ncodes = distinct_codes(s, out->nframes);
		ret = ncodes ? py_code__validate(pp, s->codes, ncodes) : 0;
		if (ret <= 0)
			break;
		s->st.stale_codes++;
	}
	out->frames = s->frames;
	return ret == -ESRCH ? ret : 0;
}

/*
 * A torn walk is usually a frame returning under us: read the thread
 * state again and walk once more before counting the stack as torn, so
 * that call-heavy code is not under-sampled.
 */
static int walk_with_retry(struct py_sampler *s, uint64_t ts, size_t len,
			   struct py_sample_thread *out)
{
	int ret = walk_thread(s, len, out);

	for (int i = 0; !ret && out->err == PE_TORN && i < 2; i++) {
		s->st.retries++;
		/* The fetched copy holds the torn state: read afresh. */
		if (s->pp->mem.replay)
			proc_replay__invalidate(s->pp->mem.replay);
		if (py_proc__read(s->pp, ts, s->tbuf, len))
			break;
		ret = walk_thread(s, len, out);
	}
	if (!ret && out->err)
		s->st.torn++;
	return ret;
}

/*
 * --blocking: stop the one thread, read its state and stack as they are
 * while it cannot move, release it.  A thread we may not stop is read
 * without stopping (and counted).
 */
static int walk_stopped(struct py_sampler *s, uint64_t ts, size_t len,
			struct py_sample_thread *out)
{
	int ret;

	if (proc_stop__stop(out->native_id)) {
		s->st.stop_failures++;
		return walk_with_retry(s, ts, len, out);
	}
	ret = py_proc__read(s->pp, ts, s->tbuf, len);
	if (!ret)
		ret = walk_thread(s, len, out);
	proc_stop__resume(out->native_id);
	if (!ret && out->err)
		s->st.torn++;
	return ret == -ESRCH ? ret : ret ? PE_TORN : 0;
}

/*
 * Native mode: the thread's native stack and Python frames from one stop
 * (native_stack__capture).  A thread that cannot be stopped or unwound
 * keeps its Python frames, with native_err set.
 */
static int walk_native(struct py_sampler *s, uint64_t ts,
		       struct py_sample_thread *out)
{
	int py_err = 0, ret;
	size_t ncodes;

	ret = native_stack__capture(s->pp, s->native, out->native_id, ts,
				    s->ips, s->sps, NATIVE_MAX_DEPTH,
				    &out->nnative, &s->fc, s->frames,
				    PY_FRAME_MAX_DEPTH, &out->nframes, &py_err);
	out->frames = s->frames;
	out->native_ips = s->ips;
	out->native_sps = s->sps;
	out->native_err = ret;
	out->err = py_err == -ESRCH ? PE_TORN : py_err;
	if (ret) {
		out->nnative = 0;
		s->st.native_failures++;
	}
	if (!out->err) {
		ncodes = distinct_codes(s, out->nframes);
		if (ncodes && py_code__validate(s->pp, s->codes, ncodes) > 0) {
			s->st.stale_codes++;
			out->err = PE_TORN;
		}
	}
	if (out->err)
		s->st.torn++;
	return 0;
}

static int skip_thread(struct py_sampler *s, struct py_sample_thread *out,
		       py_sample_fn fn, void *ctx)
{
	out->skipped = true;
	s->st.skipped++;
	s->nthreads++;
	return fn(ctx, out);
}

static int sample_thread(struct py_sampler *s, uint64_t ts, size_t len,
			 uint64_t holder, py_sample_fn fn, void *ctx)
{
	const struct py_layout *l = &s->pp->layout;
	struct py_sample_thread out = { 0 };
	struct tracked *t;
	int ret;

	out.tstate = ts;
	out.thread_id = py_get(l, s->tbuf, len, LF_tstate_thread_id);
	t = lookup(s, out.thread_id,
		   py_get(l, s->tbuf, len, LF_tstate_native_thread_id));
	if (t) {
		t->seen = s->st.samples;
		out.native_id = t->native_id;
		out.name = t->has_name ? t->name : NULL;
	}
	out.gil = py_thread__holds_gil(l, s->tbuf, len, ts, holder);
	out.os_state = '?';
	if (s->skip == PY_SKIP_NOT_GIL && !out.gil)
		return skip_thread(s, &out, fn, ctx);
	/* Before any stop: a stopped thread would read as 't'.  The GIL
	 * holder is active whatever its state, so skip the read then. */
	out.os_state = out.gil ? 'R' : os_state(s, t);
	out.active = out.gil || out.os_state == 'R';
	if (s->skip == PY_SKIP_IDLE && !out.active)
		return skip_thread(s, &out, fn, ctx);
	if (s->native)
		ret = walk_native(s, ts, &out);
	else if (s->blocking && out.native_id)
		ret = walk_stopped(s, ts, len, &out);
	else
		ret = walk_with_retry(s, ts, len, &out);
	if (ret)
		return ret;
	s->st.threads++;
	s->nthreads++;
	return fn(ctx, &out);
}

static int sample_interp(struct py_sampler *s, uint64_t interp,
			 py_sample_fn fn, void *ctx)
{
	struct py_proc *pp = s->pp;
	size_t len = (size_t)pp->layout.v[LF_tstate___size__];
	uint64_t ts = 0, holder = 0, first = 0;
	bool enabled;
	int ret;

	if (len > sizeof(s->tbuf))
		return PE_CORRUPT;
	if (!s->gil_checked || s->gil_interp != interp) {
		/* The GIL's address and whether it is enabled do not change
		 * for an interpreter's life: look them up once. */
		py_thread__gil_holder(pp, interp, &holder, &enabled);
		s->gil_enabled = enabled;
		s->gil_interp = interp;
		s->gil_checked = !py_thread__gil_struct(pp, interp, &s->gil_addr);
	} else {
		enabled = s->gil_enabled;
		if (enabled)
			py_thread__gil_read(pp, s->gil_addr, &holder);
	}
	ret = py_read_field(pp, interp, LF_interp_threads_head, &ts);
	for (size_t i = 0; !ret && ts; i++) {
		if (i >= PY_MAX_THREADS || !py_ptr_ok(ts) || ts == first)
			return PE_TORN;
		if (!i)
			first = ts;
		ret = py_proc__read(pp, ts, s->tbuf, len);
		if (ret)
			return ret == -ESRCH ? ret : PE_TORN;
		ret = sample_thread(s, ts, len, enabled ? holder : 0, fn, ctx);
		ts = py_get(&pp->layout, s->tbuf, len, LF_tstate_next);
	}
	return ret;
}

static void forget_gone(struct py_sampler *s)
{
	for (size_t i = 0; i < s->nt;) {
		if (s->st.samples - s->t[i].seen < FORGET_AFTER) {
			i++;
			continue;
		}
		if (s->t[i].stat_fd > 0)
			close(s->t[i].stat_fd);
		s->t[i] = s->t[--s->nt];
	}
}

/* The list of interpreters, re-read at most every INTERPS_NS. */
static int load_interps(struct py_sampler *s)
{
	struct py_proc *pp = s->pp;
	uint64_t interp = 0, now = rec_clock__now();
	int ret;

	if (s->ninterps && now - s->interps_at < INTERPS_NS)
		return 0;
	s->ninterps = 0;
	s->interps_at = now;
	ret = py_read_field(pp, pp->rt.runtime_addr,
			    LF_runtime_interpreters_head, &interp);
	while (!ret && interp && s->ninterps < MAX_INTERPS_CACHED) {
		if (!py_ptr_ok(interp))
			return PE_TORN;
		for (size_t i = 0; i < s->ninterps; i++)
			if (s->interps[i] == interp)
				return 0;  /* a cycle: keep what we have */
		s->interps[s->ninterps++] = interp;
		ret = py_read_field(pp, interp, LF_interp_next, &interp);
	}
	return ret;
}

/* Start a replay round, unless blocking or native (reads must follow
 * each stop). */
static int replay_begin(struct py_sampler *s)
{
	if (s->blocking || s->native)
		return 0;
	s->pp->mem.replay = s->rp;
	return proc_replay__begin(s->rp, s->pp->pid);
}

static void replay_end(struct py_sampler *s)
{
	const struct proc_replay_stats *rs = proc_replay__stats(s->rp);

	if (s->pp->mem.replay != s->rp)
		return;
	proc_replay__end(s->rp);
	s->pp->mem.replay = NULL;
	s->st.replay_hits = rs->hits;
	s->st.replay_misses = rs->misses;
}

int py_sampler__take(struct py_sampler *s, py_sample_fn fn, void *ctx)
{
	struct py_proc *pp = s->pp;
	int ret;

	s->st.samples++;
	s->nthreads = 0;
	ret = replay_begin(s);
	if (!ret)
		ret = load_interps(s);
	for (size_t i = 0; !ret && i < s->ninterps; i++) {
		ret = sample_interp(s, s->interps[i], fn, ctx);
		if (ret == PE_TORN) {
			/* Perhaps an interpreter went away: re-read the list. */
			s->st.torn++;
			s->ninterps = 0;
			ret = 0;
			break;
		}
	}
	replay_end(s);
	if ((s->st.samples & 63) == 0)
		forget_gone(s);
	if (ret && ret != -ESRCH && proc_task__is_dead(pp->pid))
		ret = -ESRCH;
	return ret;
}
