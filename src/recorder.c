/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sampling loop: absolute-deadline clock, one py_sampler__take per
 * tick into the collector, periodic sys.path reads, end conditions.
 */
#include "recorder.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "launch.h"
#include "proc_task.h"
#include "py_sample.h"
#include "rec_children.h"
#include "rec_clock.h"

#define PROGRESS_NS 250000000ULL
#define SYS_PATH_RETRY_NS 500000000ULL
#define SYS_PATH_EARLY_NS 5000000000ULL
#define SYS_PATH_LATER_NS 10000000000ULL

struct run {
	struct py_proc *pp;
	struct py_sampler *smp;
	struct rec_collect *coll;
	struct rec_clock clk;
	struct py_sys_path *sp;
	uint64_t last_sp, last_progress;
	uint64_t failed;
	uint64_t busy_ns, max_ns;
	struct rec_children *kids;
	char root_label[1100];
	struct rec_write *raw;
	const struct recorder_opts *o;
	uint64_t ts;          /* of the sample being taken, since the start */
	int raw_err;
};

/* The sampler's callback: the profile, and the recording if any. */
static int on_thread(void *ctx, const struct py_sample_thread *t)
{
	struct run *r = ctx;
	int ret;

	if (r->raw && !r->raw_err)
		r->raw_err = rec_write__thread(r->raw, r->pp->pid, r->ts, t);
	ret = rec_collect__thread(r->coll, t);
	if (!ret && r->o->observe && !r->raw_err)
		r->raw_err = r->o->observe(r->o->observe_ctx, r->ts, r->pp->pid, t,
					   rec_collect__last_stack(r->coll));
	return ret ? ret : r->raw_err;
}

static void fill_progress(const struct run *r, struct recorder_progress *p)
{
	const struct py_sample_stats *st = py_sampler__stats(r->smp);
	const struct rec_collect_stats *cs = rec_collect__stats(r->coll);

	p->elapsed = rec_clock__elapsed(&r->clk);
	p->samples = st->samples;
	p->kept = cs->kept;
	p->errors = r->failed + cs->torn;
	p->skipped = r->clk.skipped;
	p->threads = py_sampler__nthreads(r->smp);
	p->mean_us = st->samples ? (double)r->busy_ns / (double)st->samples / 1e3
				 : 0;
	p->max_us = (double)r->max_ns / 1e3;
	p->processes = 0;
	if (r->kids) {
		uint64_t kept, errors;

		rec_children__totals(r->kids, &kept, &errors, &p->processes);
		p->kept += kept;
		p->errors += errors;
	}
}

/*
 * sys.path changes while a program starts (the script's directory goes in
 * front just before the script runs): read it every half second for the
 * first seconds, then now and then.
 */
static void maybe_read_sys_path(struct run *r, uint64_t now)
{
	struct py_sys_path fresh;
	uint64_t every = now - r->clk.start_ns < SYS_PATH_EARLY_NS
			 ? SYS_PATH_RETRY_NS : SYS_PATH_LATER_NS;

	if (now - r->last_sp < every && r->last_sp)
		return;
	r->last_sp = now;
	if (py_sys__path(r->pp, &fresh))
		return;
	py_sys_path__release(r->sp);
	*r->sp = fresh;
	if (r->raw && !r->raw_err)
		r->raw_err = rec_write__sys_path(r->raw, r->sp);
}

static int loop(struct run *r, pid_t child, const struct recorder_opts *o,
		volatile sig_atomic_t *stop, recorder_progress_fn progress,
		void *ctx, int *child_status)
{
	struct recorder_progress p;

	for (;;) {
		uint64_t now, t0 = rec_clock__now();
		int ret;
		uint64_t spent;

		r->ts = t0 - r->clk.start_ns;
		ret = py_sampler__take(r->smp, on_thread, r);
		spent = rec_clock__now() - t0;

		r->busy_ns += spent;
		if (spent > r->max_ns)
			r->max_ns = spent;
		if (r->kids) {
			rec_children__discover(r->kids, t0 + spent);
			if (!r->raw_err)
				r->raw_err = rec_children__sample(r->kids, r->ts);
		}

		if (r->raw && !r->raw_err)
			r->raw_err = rec_write__tick(r->raw, t0 + spent);
		if (r->raw_err)
			return r->raw_err;
		if (ret == -ESRCH || (child && launch__poll(child, child_status) == 1))
			return RECORDER_EXITED;
		if (ret)
			r->failed++;
		if (*stop)
			return RECORDER_STOPPED;
		now = t0 + spent;
		if (o->duration > 0 &&
		    now - r->clk.start_ns >= (uint64_t)(o->duration * 1e9))
			return RECORDER_DURATION;
		maybe_read_sys_path(r, now);
		if (progress && now - r->last_progress >= PROGRESS_NS) {
			r->last_progress = now;
			fill_progress(r, &p);
			progress(ctx, &p);
		}
		while (rec_clock__wait(&r->clk) == -EINTR)
			if (*stop)
				return RECORDER_STOPPED;
	}
}

int recorder__run(struct py_proc *pp, pid_t child, struct profile *prof,
		  const struct recorder_opts *o, volatile sig_atomic_t *stop,
		  struct py_sys_path *sp, struct rec_collect **collect_out,
		  recorder_progress_fn progress, void *ctx,
		  struct recorder_progress *final, int *child_status)
{
	struct run r = { .pp = pp, .sp = sp, .raw = o->raw, .o = o };
	struct rec_collect_opts co = o->collect;
	int ret;

	if (o->subprocesses) {
		rec_children__label(pp->pid, r.root_label, sizeof(r.root_label));
		co.process_frame = r.root_label;
		r.kids = rec_children__new(pp->pid, prof, &o->collect);
		if (r.kids)
			rec_children__set_outputs(r.kids, o->raw, o->observe,
						  o->observe_ctx);
		if (r.kids && o->raw)
			r.raw_err = rec_write__process(o->raw, pp->pid, r.root_label);
	}
	r.smp = py_sampler__new(pp);
	if (r.smp) {
		py_sampler__set_blocking(r.smp, o->blocking);
		py_sampler__set_native(r.smp, o->native);
		py_sampler__set_skip(r.smp, o->raw ? PY_SKIP_NONE
					    : rec_collect__skip(&o->collect));
	}
	r.coll = rec_collect__new(prof, &co);
	if (!r.smp || !r.coll || (o->subprocesses && !r.kids)) {
		py_sampler__free(r.smp);
		rec_collect__free(r.coll);
		rec_children__free(r.kids);
		return -ENOMEM;
	}
	memset(sp, 0, sizeof(*sp));
	rec_clock__start(&r.clk, o->rate);
	maybe_read_sys_path(&r, rec_clock__now());
	ret = loop(&r, child, o, stop, progress, ctx, child_status);
	fill_progress(&r, final);
	py_sampler__free(r.smp);
	rec_children__free(r.kids);
	*collect_out = r.coll;
	return ret;
}

int recorder__wait_python(pid_t child, struct py_proc *pp,
			  volatile sig_atomic_t *stop, int *child_status,
			  char *err, size_t errlen)
{
	const struct timespec ms = { 0, 1000000 };
	struct py_proc_opts o = { { 0, 0 } };

	for (;;) {
		int ret;

		if (*stop)
			return -EINTR;
		if (launch__poll(child, child_status) == 1)
			return -ESRCH;
		ret = py_proc__open(pp, child, &o, err, errlen);
		if (!ret)
			return 0;
		py_proc__close(pp);
		if (ret == PE_UNSUPPORTED || ret == -EPERM || ret == -EACCES)
			return ret;
		nanosleep(&ms, NULL);
	}
}
