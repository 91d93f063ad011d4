/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Chrome trace writer: per thread, the open frames (profile frame
 * ids, root first); a new sample closes ('E') the frames past the common
 * prefix, innermost first, and opens ('B') its own, outermost first, at
 * its time.  Events are built in a memory stream and written to the
 * descriptor only whole.
 */
#include "out_chrome.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_out.h"

#define FLUSH_NS 1000000000ULL
#define FLUSH_BYTES (256u << 10)

struct cthread {
	int pid, tid;
	uint64_t thread_id;
	char *name;
	uint32_t *open;           /* frame ids, root first */
	const char **file;        /* the file each B showed, for its E */
	size_t nopen, cap;
};

struct out_chrome {
	int fd, err;
	FILE *mem;
	char *buf;
	size_t len;
	struct out_chrome_opts o;
	struct cthread *t;
	size_t nt, tcap;
	uint64_t last_flush, last_us;
	bool any;
};

/* Write what the memory stream holds and start it over. */
static int drain(struct out_chrome *c)
{
	size_t off = 0;

	if (c->err)
		return c->err;
	if (fflush(c->mem))
		return c->err = -ENOMEM;
	while (off < c->len) {
		ssize_t k = write(c->fd, c->buf + off, c->len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return c->err = -(errno ? errno : EIO);
		off += (size_t)k;
	}
	fseeko(c->mem, 0, SEEK_SET);
	return 0;
}

static const char *display_file(const struct out_chrome *c, const char *file)
{
	if (!file || !*file || c->o.full_filenames || !c->o.sp || !c->o.sp->n)
		return file;
	return py_sys_path__short(c->o.sp, file);
}

/* Events are separated, not terminated, by ",\n": the file is always a
 * valid array but for its closing bracket. */
static void separate(struct out_chrome *c)
{
	if (c->any)
		fputs(",\n", c->mem);
	c->any = true;
}

static void meta_event(struct out_chrome *c, const char *what, int pid,
		       int tid, const char *key, const char *sval, long ival)
{
	struct json_out j;

	separate(c);
	json_out__init(&j, c->mem);
	json_out__begin_object(&j);
	json_out__key(&j, "name");
	json_out__string(&j, what);
	json_out__key(&j, "ph");
	json_out__string(&j, "M");
	json_out__key(&j, "pid");
	json_out__int(&j, pid);
	json_out__key(&j, "tid");
	json_out__int(&j, tid);
	json_out__key(&j, "args");
	json_out__begin_object(&j);
	json_out__key(&j, key);
	if (sval)
		json_out__string(&j, sval);
	else
		json_out__int(&j, ival);
	json_out__end_object(&j);
	json_out__end_object(&j);
}

/* A 'B' (open) or 'E' (close) event of @frame on @th's track at @us; the
 * close repeats the name and args, as speedscope matches them. */
static const char *frame_event(struct out_chrome *c, const struct profile *prof,
			       const struct cthread *th, uint32_t frame,
			       const char *ph, uint64_t us, const char *file)
{
	const struct prof_frame *f = profile__frame(prof, frame);
	struct json_out j;

	/* An E repeats its B's file even if sys.path changed since. */
	if (!file)
		file = display_file(c, f->file);

	separate(c);
	json_out__init(&j, c->mem);
	json_out__begin_object(&j);
	json_out__key(&j, "name");
	json_out__string(&j, f->function);
	json_out__key(&j, "cat");
	json_out__string(&j, "python");
	json_out__key(&j, "ph");
	json_out__string(&j, ph);
	json_out__key(&j, "ts");
	json_out__uint(&j, us);
	json_out__key(&j, "pid");
	json_out__int(&j, th->pid);
	json_out__key(&j, "tid");
	json_out__int(&j, th->tid);
	if (file && *file) {
		json_out__key(&j, "args");
		json_out__begin_object(&j);
		json_out__key(&j, "file");
		json_out__string(&j, file);
		if (f->line > 0) {
			json_out__key(&j, "line");
			json_out__int(&j, f->line);
		}
		json_out__end_object(&j);
	}
	json_out__end_object(&j);
	return file;
}

int out_chrome__open(struct out_chrome **out, int fd,
		     const struct out_chrome_opts *o)
{
	struct out_chrome *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->o = *o;
	c->mem = open_memstream(&c->buf, &c->len);
	if (!c->mem) {
		free(c);
		return -ENOMEM;
	}
	fputs("[\n", c->mem);
	*out = c;
	return drain(c);
}

static bool known_pid(const struct out_chrome *c, int pid)
{
	for (size_t i = 0; i < c->nt; i++)
		if (c->t[i].pid == pid)
			return true;
	return false;
}

static struct cthread *thread_of(struct out_chrome *c, int pid,
				 const struct py_sample_thread *t)
{
	struct cthread *th = NULL;

	for (size_t i = 0; i < c->nt && !th; i++)
		if (c->t[i].pid == pid && c->t[i].thread_id == t->thread_id)
			th = &c->t[i];
	if (!th) {
		if (c->nt == c->tcap) {
			size_t ncap = c->tcap ? 2 * c->tcap : 8;
			struct cthread *nt = realloc(c->t, ncap * sizeof(*nt));

			if (!nt)
				return NULL;
			c->t = nt;
			c->tcap = ncap;
		}
		if (!known_pid(c, pid))
			meta_event(c, "process_name", pid, pid, "name",
				   (c->o.pid ? pid == c->o.pid : !c->nt) &&
				   c->o.process_name &&
				   *c->o.process_name ? c->o.process_name
						      : "python", 0);
		th = &c->t[c->nt++];
		memset(th, 0, sizeof(*th));
		th->pid = pid;
		th->thread_id = t->thread_id;
		/* OS thread ids: small, and what other tools show. */
		th->tid = t->native_id > 0 ? t->native_id : (int)c->nt;
		meta_event(c, "thread_sort_index", pid, th->tid, "sort_index",
			   NULL, (long)c->nt);
	}
	if (t->name && (!th->name || strcmp(th->name, t->name))) {
		free(th->name);
		th->name = strdup(t->name);
		meta_event(c, "thread_name", pid, th->tid, "name", t->name, 0);
	}
	return th;
}

/* Close th's frames from depth @keep up, at @us. */
static void close_from(struct out_chrome *c, const struct profile *prof,
		       struct cthread *th, size_t keep, uint64_t us)
{
	while (th->nopen > keep) {
		th->nopen--;
		frame_event(c, prof, th, th->open[th->nopen], "E", us,
			    th->file[th->nopen]);
	}
}

int out_chrome__sample(struct out_chrome *c, const struct profile *prof,
		       uint64_t ts_ns, int pid, const struct py_sample_thread *t,
		       uint32_t stack)
{
	uint64_t us = ts_ns / 1000;
	struct cthread *th;
	const uint32_t *ids;
	size_t n, same = 0;

	if (c->err)
		return c->err;
	if (t->err)
		return 0;
	th = thread_of(c, pid, t);
	if (!th)
		return c->err = -ENOMEM;
	if (us > c->last_us)
		c->last_us = us;
	if (stack == UINT32_MAX) {
		close_from(c, prof, th, 0, us);
		return 0;
	}
	profile__stack(prof, stack, &ids, &n);
	while (same < n && same < th->nopen && th->open[same] == ids[same])
		same++;
	close_from(c, prof, th, same, us);
	if (n > th->cap) {
		uint32_t *no = realloc(th->open, n * sizeof(*no));
		const char **nf = no ? realloc(th->file, n * sizeof(*nf)) : NULL;

		if (no)
			th->open = no;
		if (!nf)
			return c->err = -ENOMEM;
		th->file = nf;
		th->cap = n;
	}
	for (size_t d = same; d < n; d++) {
		th->open[d] = ids[d];
		th->file[d] = frame_event(c, prof, th, ids[d], "B", us, NULL);
	}
	th->nopen = n;
	if (ftello(c->mem) >= (off_t)FLUSH_BYTES)
		return drain(c);
	return 0;
}

int out_chrome__tick(struct out_chrome *c, uint64_t now_ns)
{
	if (now_ns - c->last_flush < FLUSH_NS)
		return c->err;
	c->last_flush = now_ns;
	return drain(c);
}

int out_chrome__finish(struct out_chrome *c, const struct profile *prof,
		       uint64_t end_ns)
{
	uint64_t us = end_ns / 1000 > c->last_us ? end_ns / 1000 : c->last_us;

	for (size_t i = 0; i < c->nt; i++)
		close_from(c, prof, &c->t[i], 0, us);
	fputs("\n]\n", c->mem);
	return drain(c);
}

void out_chrome__free(struct out_chrome *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nt; i++) {
		free(c->t[i].name);
		free(c->t[i].open);
		free(c->t[i].file);
	}
	free(c->t);
	if (c->mem)
		fclose(c->mem);
	free(c->buf);
	free(c);
}
