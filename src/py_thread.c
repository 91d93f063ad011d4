/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds py_snapshot: walks interpreters and thread states (bounded,
 * cycle-checked), asks py_frame for stacks, and joins them with thread
 * names and native ids from threading._active and /proc.
 */
#include "py_thread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "proc_task.h"
#include "py_dict.h"
#include "py_str.h"

/* glibc x86_64: struct pthread's tid field, at pthread_self() + 0x2d0. */
#define GLIBC_PTHREAD_TID_OFFSET 0x2d0
#define TSTATE_BUF_MAX 4096

static int gil_struct(struct py_proc *pp, uint64_t interp, uint64_t *gil)
{
	const struct py_layout *l = &pp->layout;

	if (layout_has(l, LF_runtime_gil)) {
		*gil = pp->rt.runtime_addr + (uint64_t)l->v[LF_runtime_gil];
		return 0;
	}
	return py_read_field(pp, interp, LF_interp_ceval_gil, gil);
}

int py_thread__gil_holder(struct py_proc *pp, uint64_t interp,
			  uint64_t *tstate, bool *enabled)
{
	uint64_t gil, enab = 1;
	int ret;

	*tstate = 0;
	*enabled = true;
	ret = gil_struct(pp, interp, &gil);
	if (ret || !py_ptr_ok(gil))
		return ret ? ret : PE_CORRUPT;
	if (layout_has(&pp->layout, LF_gil_enabled) &&
	    !py_read_field(pp, gil, LF_gil_enabled, &enab) && !enab) {
		*enabled = false;
		return 0;
	}
	return py_thread__gil_read(pp, gil, tstate);
}

int py_thread__gil_read(struct py_proc *pp, uint64_t gil, uint64_t *tstate)
{
	const struct py_layout *l = &pp->layout;
	unsigned char buf[64];
	size_t len = (size_t)(l->v[LF_gil_switch_number] > l->v[LF_gil_locked]
				      ? l->v[LF_gil_switch_number]
				      : l->v[LF_gil_locked] + 4);
	int ret;

	*tstate = 0;
	if (len > sizeof(buf) || len < 8)
		return PE_CORRUPT;
	/* locked and last_holder in one read. */
	ret = py_proc__read(pp, gil, buf, len);
	if (ret)
		return ret;
	if ((int)py_get(l, buf, len, LF_gil_locked) == 1)
		*tstate = py_get(l, buf, len, LF_gil_last_holder);
	return 0;
}

int py_thread__gil_struct(struct py_proc *pp, uint64_t interp, uint64_t *gil)
{
	return gil_struct(pp, interp, gil);
}

static bool holds_gil_flag(const struct py_layout *l, const void *buf,
			   size_t len, bool *known)
{
	*known = true;
	if (layout_has(l, LF_tstate_holds_gil))
		return py_get(l, buf, len, LF_tstate_holds_gil) != 0;
	if (layout_has(l, LF_const_holds_gil_bit) &&
	    layout_has(l, LF_tstate_status))
		return (py_get(l, buf, len, LF_tstate_status) >>
			l->v[LF_const_holds_gil_bit]) & 1;
	*known = false;
	return false;
}

bool py_thread__holds_gil(const struct py_layout *l, const void *buf,
			  size_t len, uint64_t tstate, uint64_t holder)
{
	bool known, gil = holds_gil_flag(l, buf, len, &known);

	return known ? gil : holder && holder == tstate;
}

static int push_thread(struct py_snapshot *s, size_t *cap)
{
	if (s->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct py_thread *nt = realloc(s->threads, ncap * sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		s->threads = nt;
		*cap = ncap;
	}
	memset(&s->threads[s->n], 0, sizeof(s->threads[0]));
	s->n++;
	return 0;
}

static int read_thread(struct py_proc *pp, struct py_thread *t,
		       unsigned char *buf, size_t len, unsigned flags,
		       uint64_t holder, struct py_frame *scratch)
{
	const struct py_layout *l = &pp->layout;
	int ret;

	t->thread_id = py_get(l, buf, len, LF_tstate_thread_id);
	t->native_id = (int)py_get(l, buf, len, LF_tstate_native_thread_id);
	t->gil = py_thread__holds_gil(l, buf, len, t->tstate, holder);
	t->os_state = '?';
	if (!(flags & PY_SNAP_FRAMES))
		return 0;
	ret = py_frame__walk(pp, t->tstate, buf, len, scratch,
			     PY_FRAME_MAX_DEPTH, &t->nframes);
	t->err = ret;
	if (ret == -ESRCH)
		return ret;
	/* Keep only what the walk filled: memory follows the real depth. */
	t->frames = malloc((t->nframes ? t->nframes : 1) * sizeof(*t->frames));
	if (!t->frames)
		return -ENOMEM;
	memcpy(t->frames, scratch, t->nframes * sizeof(*t->frames));
	return 0;
}

static int walk_threads(struct py_proc *pp, struct py_snapshot *s,
			size_t *cap, uint64_t interp, int64_t interp_id,
			unsigned flags, struct py_frame *scratch)
{
	const struct py_layout *l = &pp->layout;
	size_t len = (size_t)l->v[LF_tstate___size__];
	unsigned char buf[TSTATE_BUF_MAX];
	uint64_t ts = 0, holder = 0, tortoise = 0;
	unsigned power = 1, lam = 0;
	bool enabled;
	int ret;

	if (len > sizeof(buf))
		return PE_CORRUPT;
	py_thread__gil_holder(pp, interp, &holder, &enabled);
	s->gil_enabled = enabled;
	ret = py_read_field(pp, interp, LF_interp_threads_head, &ts);
	if (!ret && !ts && interp_id == 0)
		return PE_CORRUPT;  /* a live main interpreter has threads */
	for (size_t i = 0; !ret && ts; i++) {
		struct py_thread *t;

		if (i >= PY_MAX_THREADS) {
			s->truncated = true;
			break;
		}
		if (!py_ptr_ok(ts) || ts == tortoise)
			return PE_CORRUPT;
		if (++lam == power) {  /* Brent's cycle detection */
			tortoise = ts;
			power *= 2;
			lam = 0;
		}
		ret = py_proc__read(pp, ts, buf, len);
		if (ret)
			return ret == -ESRCH ? ret : PE_TORN;
		ret = push_thread(s, cap);
		if (ret)
			return ret;
		t = &s->threads[s->n - 1];
		t->tstate = ts;
		t->interp = interp;
		t->interp_id = interp_id;
		ret = read_thread(pp, t, buf, len, flags, enabled ? holder : 0,
				  scratch);
		ts = py_get(l, buf, len, LF_tstate_next);
	}
	return ret;
}

/*
 * A thread id the target recorded about itself, as we see it: the same
 * number unless the target is in another PID namespace.  0 when unknown.
 */
static int host_tid(struct py_proc *pp, const struct py_snapshot *s,
		    int64_t tid)
{
	if (tid <= 0 || tid >= INT32_MAX)
		return 0;
	if (!s->nns)
		return proc_task__exists(pp->pid, (int)tid) ? (int)tid : 0;
	for (size_t i = 0; i < s->nns; i++)
		if (s->ns_tid[i] == tid)
			return s->ns_host[i];
	return 0;
}

static int load_ns_map(struct py_proc *pp, struct py_snapshot *s)
{
	int n;

	if (proc_task__same_pidns(pp->pid))
		return 0;
	s->ns_host = calloc(PY_MAX_THREADS, sizeof(int));
	s->ns_tid = calloc(PY_MAX_THREADS, sizeof(int));
	if (!s->ns_host || !s->ns_tid)
		return -ENOMEM;
	n = proc_task__ns_tids(pp->pid, s->ns_host, s->ns_tid, PY_MAX_THREADS);
	if (n < 0)
		return n;
	s->nns = (size_t)n;
	return 0;
}

/* The glibc pthread mapping, trusted only when /proc confirms it. */
static void native_ids_from_glibc(struct py_proc *pp, struct py_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct py_thread *t = &s->threads[i];
		uint32_t tid;

		if (t->native_id || !py_ptr_ok(t->thread_id))
			continue;
		if (py_proc__read(pp, t->thread_id + GLIBC_PTHREAD_TID_OFFSET,
				  &tid, sizeof(tid)))
			continue;
		t->native_id = host_tid(pp, s, tid);
	}
}

struct active_ctx {
	struct py_proc *pp;
	struct py_snapshot *s;
	int64_t interp_id;
};

static void thread_attrs(struct py_proc *pp, const struct py_snapshot *s,
			 struct py_thread *t, uint64_t obj)
{
	uint64_t v;
	int64_t nid;

	if (!py_obj__getattr(pp, obj, "_name", &v) &&
	    !py_str__read(pp, v, t->name, sizeof(t->name), NULL))
		t->has_name = true;
	if (!t->native_id && !py_obj__getattr(pp, obj, "_native_id", &v) &&
	    !py_long__read(pp, v, &nid, NULL))
		t->native_id = host_tid(pp, s, nid);
}

static int on_active(void *ctx, uint64_t key, uint64_t value)
{
	struct active_ctx *a = ctx;
	int64_t ident;

	if (py_long__read(a->pp, key, &ident, NULL))
		return 0;
	for (size_t i = 0; i < a->s->n; i++) {
		struct py_thread *t = &a->s->threads[i];

		if (t->interp_id == a->interp_id &&
		    t->thread_id == (uint64_t)ident && !t->has_name)
			thread_attrs(a->pp, a->s, t, value);
	}
	return 0;
}

static void names_for_interp(struct py_proc *pp, struct py_snapshot *s,
			     uint64_t interp, int64_t interp_id)
{
	struct active_ctx a = { pp, s, interp_id };
	uint64_t modules, mod, md, active;

	if (py_read_field(pp, interp, LF_interp_modules, &modules) ||
	    py_dict__get_str(pp, modules, "threading", &mod) ||
	    py_read_field(pp, mod, LF_module_md_dict, &md) ||
	    py_dict__get_str(pp, md, "_active", &active))
		return;
	py_dict__foreach(pp, active, on_active, &a);
}

static void reverse(struct py_snapshot *s, size_t from, size_t to)
{
	while (from + 1 < to) {
		struct py_thread tmp = s->threads[from];

		s->threads[from++] = s->threads[--to];
		s->threads[to] = tmp;
	}
}

static void os_states(struct py_proc *pp, struct py_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct py_thread *t = &s->threads[i];

		if (t->native_id)
			t->os_state = proc_task__state(pp->pid, t->native_id);
		t->active = t->gil || t->os_state == 'R';
	}
}

int py_snapshot__take(struct py_proc *pp, struct py_snapshot *s,
		      unsigned flags)
{
	uint64_t interp = 0, first = 0;
	struct py_frame *scratch = NULL;
	int ret;

	memset(s, 0, sizeof(*s));
	s->gil_enabled = true;
	if (flags & PY_SNAP_FRAMES) {
		scratch = malloc(PY_FRAME_MAX_DEPTH * sizeof(*scratch));
		if (!scratch)
			return -ENOMEM;
	}
	ret = load_ns_map(pp, s);
	if (!ret)
		ret = py_read_field(pp, pp->rt.runtime_addr,
				    LF_runtime_interpreters_head, &interp);
	if (!ret && !interp)
		ret = PE_NOT_INITIALIZED;
	for (size_t cap = 0; !ret && interp; s->ninterps++) {
		uint64_t id = 0;
		size_t before = s->n;

		if (s->ninterps >= PY_MAX_INTERPS || !py_ptr_ok(interp) ||
		    interp == first) {
			ret = PE_CORRUPT;
			break;
		}
		if (!s->ninterps)
			first = interp;
		py_read_field(pp, interp, LF_interp_id, &id);
		ret = walk_threads(pp, s, &cap, interp, (int64_t)id, flags,
				   scratch);
		reverse(s, before, s->n);
		for (size_t k = before; k < s->n; k++)
			s->threads[k].native_id =
				host_tid(pp, s, s->threads[k].native_id);
		if (!layout_has(&pp->layout, LF_tstate_native_thread_id))
			native_ids_from_glibc(pp, s);
		if (!ret && (flags & PY_SNAP_NAMES))
			names_for_interp(pp, s, interp, (int64_t)id);
		if (!ret)
			ret = py_read_field(pp, interp, LF_interp_next, &interp);
	}
	free(scratch);
	if (ret) {
		py_snapshot__release(s);
		return ret;
	}
	os_states(pp, s);
	return 0;
}

void py_snapshot__release(struct py_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->threads[i].frames);
	free(s->threads);
	free(s->ns_host);
	free(s->ns_tid);
	memset(s, 0, sizeof(*s));
}

static bool any_torn(const struct py_snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->threads[i].err == PE_TORN)
			return true;
	return false;
}

int py_snapshot__take_settled(struct py_proc *pp, struct py_snapshot *s,
			      unsigned flags, int attempts)
{
	int ret = 0;

	for (int attempt = 0; attempt < attempts; attempt++) {
		ret = py_snapshot__take(pp, s, flags);
		if (ret != PE_TORN && ret != PE_CORRUPT && (ret || !any_torn(s)))
			break;
		if (attempt + 1 < attempts && !ret)
			py_snapshot__release(s);
	}
	return ret;
}
