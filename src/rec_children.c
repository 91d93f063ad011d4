/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tracks child processes: discovery by walking /proc children lists,
 * opening those that run CPython (quietly retrying young ones, which may
 * not have exec'd yet), and sampling them with their own sampler and
 * collector into the shared profile.
 */
#include "rec_children.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_task.h"
#include "py_proc.h"
#include "py_sample.h"

#define DISCOVER_NS 100000000ULL
#define GIVE_UP_NS 5000000000ULL   /* a child not Python after 5 s is not */

struct rec_children;

struct child {
	struct rec_children *k;
	int pid;
	bool python, dead, rejected;
	uint64_t first_seen;
	struct py_proc pp;
	struct py_sampler *smp;
	struct rec_collect *coll;
	char label[1100];
};

struct rec_children {
	int root;
	struct profile *prof;
	struct rec_collect_opts o;
	struct child c[REC_CHILDREN_MAX];
	size_t n;
	uint64_t last;
	struct rec_write *raw;
	rec_children_observe_fn observe;
	void *observe_ctx;
	uint64_t ts;
	int err;
};

void rec_children__set_outputs(struct rec_children *k, struct rec_write *raw,
			       rec_children_observe_fn observe, void *ctx)
{
	k->raw = raw;
	k->observe = observe;
	k->observe_ctx = ctx;
}

void rec_children__label(int pid, char *buf, size_t len)
{
	char cmd[1024] = "";

	if (proc_task__cmdline(pid, cmd, sizeof(cmd)))
		snprintf(cmd, sizeof(cmd), "?");
	for (char *p = cmd; *p; p++)
		if (*p == '"')
			*p = '\'';
	snprintf(buf, len, "process %d \"%s\"", pid, cmd);
}

struct rec_children *rec_children__new(int root_pid, struct profile *prof,
				       const struct rec_collect_opts *o)
{
	struct rec_children *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->root = root_pid;
	k->prof = prof;
	k->o = *o;
	return k;
}

static void close_child(struct child *c)
{
	if (c->python) {
		py_sampler__free(c->smp);
		py_proc__close(&c->pp);
	}
	c->python = false;
	c->smp = NULL;
}

void rec_children__free(struct rec_children *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++) {
		close_child(&k->c[i]);
		rec_collect__free(k->c[i].coll);
	}
	free(k);
}

static struct child *find(struct rec_children *k, int pid)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->c[i].pid == pid)
			return &k->c[i];
	return NULL;
}

static void try_open(struct rec_children *k, struct child *c, uint64_t now)
{
	struct py_proc_opts po = { { 0, 0 } };
	struct rec_collect_opts o = k->o;
	char err[256];

	if (c->python || c->dead || c->rejected)
		return;
	if (py_proc__open(&c->pp, c->pid, &po, err, sizeof(err))) {
		py_proc__close(&c->pp);
		if (now - c->first_seen > GIVE_UP_NS || proc_task__is_dead(c->pid))
			c->rejected = true;
		return;
	}
	rec_children__label(c->pid, c->label, sizeof(c->label));
	o.process_frame = c->label;
	c->smp = py_sampler__new(&c->pp);
	if (c->smp)
		py_sampler__set_skip(c->smp, k->raw ? PY_SKIP_NONE
					    : rec_collect__skip(&o));
	if (k->raw && !k->err)
		k->err = rec_write__process(k->raw, c->pid, c->label);
	if (!c->coll)
		c->coll = rec_collect__new(k->prof, &o);
	if (!c->smp || !c->coll) {
		py_proc__close(&c->pp);
		c->rejected = true;
		return;
	}
	c->python = true;
}

/* Add @pid's children (every thread's list) and recurse, breadth first. */
static void scan(struct rec_children *k, int pid, uint64_t now, int depth)
{
	char path[320], buf[4096];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d || depth > 8)
		goto out;
	while ((de = readdir(d)) != NULL) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", pid,
			 de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fscanf(f, "%4095s", buf) == 1) {
			int child = (int)strtol(buf, NULL, 10);

			if (child <= 0 || find(k, child) || k->n >= REC_CHILDREN_MAX)
				continue;
			k->c[k->n++] = (struct child){ .pid = child,
						       .first_seen = now };
		}
		fclose(f);
	}
out:
	if (d)
		closedir(d);
}

void rec_children__discover(struct rec_children *k, uint64_t now)
{
	if (k->last && now - k->last < DISCOVER_NS)
		return;
	k->last = now;
	scan(k, k->root, now, 0);
	for (size_t i = 0; i < k->n; i++) {
		if (!k->c[i].dead)
			scan(k, k->c[i].pid, now, 1);
		try_open(k, &k->c[i], now);
	}
}

/* The sampler's callback for child @ctx: profile, recording, observer. */
static int child_thread(void *ctx, const struct py_sample_thread *t)
{
	struct child *c = ctx;
	struct rec_children *k = c->k;
	int ret;

	if (k->raw && !k->err)
		k->err = rec_write__thread(k->raw, c->pid, k->ts, t);
	ret = rec_collect__thread(c->coll, t);
	if (!ret && k->observe && !k->err)
		k->err = k->observe(k->observe_ctx, k->ts, c->pid, t,
				    rec_collect__last_stack(c->coll));
	return ret ? ret : k->err;
}

int rec_children__sample(struct rec_children *k, uint64_t ts_ns)
{
	k->ts = ts_ns;
	for (size_t i = 0; i < k->n; i++) {
		struct child *c = &k->c[i];

		if (!c->python)
			continue;
		c->k = k;
		if (py_sampler__take(c->smp, child_thread, c) == -ESRCH) {
			c->dead = true;
			close_child(c);
			if (k->raw)
				rec_write__forget_codes(k->raw);
		}
	}
	return k->err;
}

void rec_children__totals(const struct rec_children *k, uint64_t *kept,
			  uint64_t *errors, unsigned *processes)
{
	*kept = *errors = 0;
	*processes = 0;
	for (size_t i = 0; i < k->n; i++) {
		const struct rec_collect_stats *st;

		if (!k->c[i].coll)
			continue;
		st = rec_collect__stats(k->c[i].coll);
		*kept += st->kept;
		*errors += st->torn;
		(*processes)++;
	}
}
