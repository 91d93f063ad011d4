/* SPDX-License-Identifier: Apache-2.0 */
/* Sampling GIL ownership and GIL waits, per thread. */
#include "gil_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py_sample.h"

#define GIL_WATCH_MAX_THREADS 4096
#define GIL_WATCH_MAX_FDS 256    /* kept-open syscall files; others reopen */

struct gil_watch {
	struct py_proc *pp;
	struct py_gil gil;
	struct py_sampler *sampler;
	struct rec_collect *coll;
	struct gil_watch_thread *t;
	size_t nt, nfds;
	uint64_t stamp;
	bool held_now;
	struct gil_watch_totals tot;
};

struct gil_watch *gil_watch__new(struct py_proc *pp, const struct py_gil *g,
				 struct rec_collect *coll)
{
	struct gil_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->pp = pp;
	w->gil = *g;
	w->coll = coll;
	w->sampler = py_sampler__new(pp);
	w->t = calloc(GIL_WATCH_MAX_THREADS, sizeof(*w->t));
	if (!w->sampler || !w->t) {
		gil_watch__free(w);
		return NULL;
	}
	/* Only the holder's stack is wanted: the others are not walked. */
	py_sampler__set_skip(w->sampler, PY_SKIP_NOT_GIL);
	return w;
}

void gil_watch__free(struct gil_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; w->t && i < w->nt; i++)
		if (w->t[i].sc_fd >= 0)
			close(w->t[i].sc_fd);
	py_sampler__free(w->sampler);
	free(w->t);
	free(w);
}

static void close_fd(struct gil_watch *w, struct gil_watch_thread *t)
{
	if (t->sc_fd >= 0) {
		close(t->sc_fd);
		t->sc_fd = -1;
		w->nfds--;
	}
}

static struct gil_watch_thread *thread_of(struct gil_watch *w,
					  const struct py_sample_thread *s)
{
	struct gil_watch_thread *t;

	/* Latest entries first: a reused thread id is the newest one. */
	for (size_t i = w->nt; i-- > 0;) {
		t = &w->t[i];
		if (t->thread_id != s->thread_id)
			continue;
		if (s->native_id && t->native_id && s->native_id != t->native_id)
			break;  /* the same pthread_t, another thread */
		return t;
	}
	if (w->nt >= GIL_WATCH_MAX_THREADS)
		return NULL;
	t = &w->t[w->nt++];
	memset(t, 0, sizeof(*t));
	t->thread_id = s->thread_id;
	t->sc_fd = -1;
	return t;
}

/* The system call of @t: a kept-open file while there are few, else
 * opened for the read.  Returns 0 or -errno. */
static int read_syscall(struct gil_watch *w, struct gil_watch_thread *t,
			struct proc_syscall *sc)
{
	char buf[256];
	ssize_t n;

	if (t->sc_fd < 0 && w->nfds >= GIL_WATCH_MAX_FDS)
		return proc_task__syscall(w->pp->pid, t->native_id, sc);
	if (t->sc_fd < 0) {
		snprintf(buf, sizeof(buf), "/proc/%d/task/%d/syscall",
			 w->pp->pid, t->native_id);
		t->sc_fd = open(buf, O_RDONLY | O_CLOEXEC);
		if (t->sc_fd < 0)
			return -errno;
		w->nfds++;
	}
	n = pread(t->sc_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) {
		close_fd(w, t);
		return n < 0 ? -errno : -EIO;
	}
	buf[n] = '\0';
	return proc_task__parse_syscall(buf, sc);
}

static bool waits_for_gil(struct gil_watch *w, struct gil_watch_thread *t)
{
	struct proc_syscall sc;

	if (!t->native_id)
		return false;
	if (read_syscall(w, t, &sc)) {
		w->tot.syscall_unread++;
		return false;
	}
	return py_gil__waiting(&w->gil, &sc);
}

static int on_thread(void *ctx, const struct py_sample_thread *s)
{
	struct gil_watch *w = ctx;
	struct gil_watch_thread *t = thread_of(w, s);

	if (!t)
		return 0;
	if (s->native_id && !t->native_id)
		t->native_id = s->native_id;
	if (s->name) {
		snprintf(t->name, sizeof(t->name), "%s", s->name);
		t->has_name = true;
	}
	t->stamp = w->stamp;
	t->p_held = s->gil;
	t->p_waiting = !s->gil && waits_for_gil(w, t);
	if (s->gil) {
		w->held_now = true;
		if (w->coll)
			rec_collect__thread(w->coll, s);
	}
	return 0;
}

/* Count this sample's threads (it was read whole); close the files of
 * threads that are gone. */
static void commit(struct gil_watch *w)
{
	for (size_t i = 0; i < w->nt; i++) {
		struct gil_watch_thread *t = &w->t[i];

		if (t->stamp != w->stamp) {
			close_fd(w, t);
			continue;
		}
		t->seen++;
		t->held += t->p_held;
		t->waiting += t->p_waiting;
		w->tot.waiting_threads += t->p_waiting;
	}
}

int gil_watch__sample(struct gil_watch *w)
{
	int ret;

	w->held_now = false;
	w->stamp++;
	ret = py_sampler__take(w->sampler, on_thread, w);
	if (ret == -ESRCH)
		return ret;
	if (ret) {
		w->tot.failed++;
		return 0;
	}
	w->tot.samples++;
	w->tot.held += w->held_now;
	commit(w);
	return 0;
}

const struct gil_watch_thread *gil_watch__threads(const struct gil_watch *w,
						  size_t *n)
{
	*n = w->nt;
	return w->t;
}

const struct gil_watch_totals *gil_watch__totals(const struct gil_watch *w)
{
	return &w->tot;
}
