/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The speedscope writer: per-thread vectors of stack ids while samples
 * come in; at the end the frame table (profile frames renamed for
 * display and de-duplicated), then one sampled profile per thread.
 */
#include "out_speedscope.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "strtab.h"

struct sthread {
	int pid, native_id;
	uint64_t thread_id;
	char *name;
	uint32_t *stacks;
	size_t n, cap;
};

struct out_speedscope {
	struct sthread *t;
	size_t nt, cap;
	int first_pid;
};

struct out_speedscope *out_speedscope__new(void)
{
	return calloc(1, sizeof(struct out_speedscope));
}

void out_speedscope__free(struct out_speedscope *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nt; i++) {
		free(s->t[i].name);
		free(s->t[i].stacks);
	}
	free(s->t);
	free(s);
}

static struct sthread *thread_of(struct out_speedscope *s, int pid,
				 const struct py_sample_thread *t)
{
	struct sthread *th;

	for (size_t i = 0; i < s->nt; i++)
		if (s->t[i].pid == pid && s->t[i].thread_id == t->thread_id)
			return &s->t[i];
	if (s->nt == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 8;
		struct sthread *nt = realloc(s->t, ncap * sizeof(*nt));

		if (!nt)
			return NULL;
		s->t = nt;
		s->cap = ncap;
	}
	if (!s->nt)
		s->first_pid = pid;
	th = &s->t[s->nt++];
	memset(th, 0, sizeof(*th));
	th->pid = pid;
	th->thread_id = t->thread_id;
	return th;
}

int out_speedscope__sample(struct out_speedscope *s, int pid,
			   const struct py_sample_thread *t, uint32_t stack)
{
	struct sthread *th = thread_of(s, pid, t);

	if (!th)
		return -ENOMEM;
	th->native_id = t->native_id;
	if (t->name && (!th->name || strcmp(th->name, t->name))) {
		free(th->name);
		th->name = strdup(t->name);   /* the latest name wins */
	}
	if (th->n == th->cap) {
		size_t ncap = th->cap ? 2 * th->cap : 256;
		uint32_t *ns = realloc(th->stacks, ncap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		th->stacks = ns;
		th->cap = ncap;
	}
	th->stacks[th->n++] = stack;
	return 0;
}

static const char *display_file(const struct out_speedscope_meta *m,
				const char *file)
{
	if (!file || !*file || m->full_filenames || !m->sp)
		return file;
	return py_sys_path__short(m->sp, file);
}

/*
 * Map every profile frame to a speedscope frame index, writing the
 * frame table; frames equal once renamed share an index.
 */
static int frame_table(struct json_out *j, const struct profile *prof,
		       const struct out_speedscope_meta *m, uint32_t *map)
{
	struct strtab seen;   /* "name\x1ffile\x1fline" -> speedscope index */
	char *key = NULL;
	size_t cap = 0;
	int ret = 0;

	strtab__init(&seen);
	json_out__begin_array(j);
	for (uint32_t id = 0; id < profile__nframes(prof); id++) {
		const struct prof_frame *f = profile__frame(prof, id);
		const char *file = display_file(m, f->file);
		size_t need = strlen(f->function) + (file ? strlen(file) : 0) + 16;
		bool added;
		long idx;

		if (need > cap) {
			char *nk = realloc(key, need);

			if (!nk) {
				ret = -ENOMEM;
				break;
			}
			key = nk;
			cap = need;
		}
		snprintf(key, cap, "%s\x1f%s\x1f%d", f->function, file ? file : "",
			 f->line);
		idx = strtab__intern(&seen, key, &added);
		if (idx < 0) {
			ret = -ENOMEM;
			break;
		}
		map[id] = (uint32_t)idx;
		if (!added)
			continue;
		json_out__begin_object(j);
		json_out__key(j, "name");
		json_out__string(j, f->function);
		if (file && *file) {
			json_out__key(j, "file");
			json_out__string(j, file);
		}
		if (f->line > 0) {
			json_out__key(j, "line");
			json_out__uint(j, (uint64_t)f->line);
		}
		json_out__end_object(j);
	}
	json_out__end_array(j);
	free(key);
	strtab__release(&seen);
	return ret;
}

static void profile_of(struct json_out *j, const struct profile *prof,
		       const struct sthread *th, const uint32_t *map,
		       const struct out_speedscope_meta *m, bool multi)
{
	double w = m->rate > 0 ? 1.0 / m->rate : 0.01;
	char name[512];

	if (multi)
		snprintf(name, sizeof(name), "Process %d Thread %d \"%s\"",
			 th->pid, th->native_id, th->name ? th->name : "?");
	else
		snprintf(name, sizeof(name), "Thread %d \"%s\"", th->native_id,
			 th->name ? th->name : "?");
	json_out__begin_object(j);
	json_out__key(j, "type");
	json_out__string(j, "sampled");
	json_out__key(j, "name");
	json_out__string(j, name);
	json_out__key(j, "unit");
	json_out__string(j, "seconds");
	json_out__key(j, "startValue");
	json_out__uint(j, 0);
	json_out__key(j, "endValue");
	json_out__double(j, (double)th->n * w);
	json_out__key(j, "samples");
	json_out__begin_array(j);
	for (size_t i = 0; i < th->n; i++) {
		const uint32_t *ids;
		size_t n;

		profile__stack(prof, th->stacks[i], &ids, &n);
		json_out__begin_array(j);
		for (size_t k = 0; k < n; k++)
			json_out__uint(j, map[ids[k]]);
		json_out__end_array(j);
	}
	json_out__end_array(j);
	json_out__key(j, "weights");
	json_out__begin_array(j);
	for (size_t i = 0; i < th->n; i++)
		json_out__double(j, w);
	json_out__end_array(j);
	json_out__end_object(j);
}

int out_speedscope__write(struct out_speedscope *s, const struct profile *prof,
			  FILE *f, const struct out_speedscope_meta *m)
{
	uint32_t *map = calloc(profile__nframes(prof) + 1, sizeof(*map));
	bool multi = false;
	struct json_out j;
	int ret;

	if (!map)
		return -ENOMEM;
	for (size_t i = 0; i < s->nt; i++)
		multi |= s->t[i].pid != s->first_pid;
	json_out__init(&j, f);
	json_out__begin_object(&j);
	json_out__key(&j, "$schema");
	json_out__string(&j, SPEEDSCOPE_SCHEMA);
	json_out__key(&j, "exporter");
	json_out__string(&j, "peeka@" PEEKA_VERSION);
	json_out__key(&j, "name");
	json_out__string(&j, m->name && *m->name ? m->name : "peeka");
	json_out__key(&j, "activeProfileIndex");
	json_out__uint(&j, 0);
	json_out__key(&j, "shared");
	json_out__begin_object(&j);
	json_out__key(&j, "frames");
	ret = frame_table(&j, prof, m, map);
	json_out__end_object(&j);
	json_out__key(&j, "profiles");
	json_out__begin_array(&j);
	for (size_t i = 0; !ret && i < s->nt; i++)
		if (s->t[i].n)
			profile_of(&j, prof, &s->t[i], map, m, multi);
	json_out__end_array(&j);
	json_out__end_object(&j);
	fputc('\n', f);
	free(map);
	if (!ret && ferror(f))
		ret = -EIO;
	return ret;
}
