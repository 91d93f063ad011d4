/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pprof writer: counts per (thread, stack) while samples come in; at
 * the end the string table, functions, locations and samples encoded as
 * profile.proto fields, then gzip.
 */
#include "out_pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gzip_enc.h"
#include "pb_enc.h"
#include "strtab.h"
#include "u64map.h"

/* profile.proto field numbers. */
enum {
	P_SAMPLE_TYPE = 1, P_SAMPLE = 2, P_LOCATION = 4, P_FUNCTION = 5,
	P_STRING_TABLE = 6, P_TIME_NANOS = 9, P_DURATION_NANOS = 10,
	P_PERIOD_TYPE = 11, P_PERIOD = 12,
	VT_TYPE = 1, VT_UNIT = 2,
	S_LOCATION_ID = 1, S_VALUE = 2, S_LABEL = 3,
	L_KEY = 1, L_STR = 2, L_NUM = 3,
	LOC_ID = 1, LOC_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	F_ID = 1, F_NAME = 2, F_FILENAME = 4,
};

struct pthread_ {
	int pid, native_id;
	uint64_t thread_id;
	char *name;
};

struct agg {
	uint32_t thread, stack;
	uint64_t count;
};

struct out_pprof {
	struct pthread_ *t;
	size_t nt, tcap;
	struct agg *a;
	size_t na, acap;
	struct u64map index;       /* (thread + 1, stack) -> a[] */
};

/* The string table, interned, and its encoded string_table fields. */
struct pstrings {
	struct strtab tab;
	struct pb out;
};

struct out_pprof *out_pprof__new(void)
{
	struct out_pprof *p = calloc(1, sizeof(*p));

	if (p)
		u64map__init(&p->index);
	return p;
}

void out_pprof__free(struct out_pprof *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nt; i++)
		free(p->t[i].name);
	free(p->t);
	free(p->a);
	u64map__release(&p->index);
	free(p);
}

static int thread_index(struct out_pprof *p, int pid,
			const struct py_sample_thread *t, uint32_t *idx)
{
	struct pthread_ *th;

	for (size_t i = 0; i < p->nt; i++)
		if (p->t[i].pid == pid && p->t[i].thread_id == t->thread_id) {
			th = &p->t[i];
			*idx = (uint32_t)i;
			goto name;
		}
	if (p->nt == p->tcap) {
		size_t ncap = p->tcap ? 2 * p->tcap : 8;
		struct pthread_ *nt = realloc(p->t, ncap * sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		p->t = nt;
		p->tcap = ncap;
	}
	th = &p->t[p->nt];
	memset(th, 0, sizeof(*th));
	th->pid = pid;
	th->thread_id = t->thread_id;
	*idx = (uint32_t)p->nt++;
name:
	th->native_id = t->native_id;
	if (t->name && (!th->name || strcmp(th->name, t->name))) {
		free(th->name);
		th->name = strdup(t->name);
	}
	return 0;
}

int out_pprof__sample(struct out_pprof *p, int pid,
		      const struct py_sample_thread *t, uint32_t stack)
{
	uint32_t th, i;
	uint64_t key;

	if (thread_index(p, pid, t, &th))
		return -ENOMEM;
	key = u64map__pair(th + 1, stack);
	if (u64map__get(&p->index, key, &i)) {
		p->a[i].count++;
		return 0;
	}
	if (p->na == p->acap) {
		size_t ncap = p->acap ? 2 * p->acap : 256;
		struct agg *na = realloc(p->a, ncap * sizeof(*na));

		if (!na)
			return -ENOMEM;
		p->a = na;
		p->acap = ncap;
	}
	p->a[p->na] = (struct agg){ th, stack, 1 };
	if (u64map__put(&p->index, key, (uint32_t)p->na))
		return -ENOMEM;
	p->na++;
	return 0;
}

/* The index of @s in the string table, added when new. */
static uint64_t str_id(struct pstrings *st, const char *s)
{
	bool added;
	long i = strtab__intern(&st->tab, s, &added);

	if (i < 0) {
		st->out.oom = true;
		return 0;
	}
	if (added)
		pb__string(&st->out, P_STRING_TABLE, s);
	return (uint64_t)i;
}

static void value_type(struct pb *out, unsigned field, struct pstrings *st,
		       const char *type, const char *unit)
{
	struct pb vt;

	pb__init(&vt);
	pb__uint(&vt, VT_TYPE, str_id(st, type));
	pb__uint(&vt, VT_UNIT, str_id(st, unit));
	pb__message(out, field, &vt);
	pb__release(&vt);
}

/* Functions (one per name and file) and locations (one per frame). */
static void functions_and_locations(struct pb *out, struct pstrings *st,
				    const struct profile *prof,
				    const struct out_pprof_meta *m)
{
	struct u64map funcs;
	struct pb msg, line;
	uint32_t nfunc = 0;

	u64map__init(&funcs);
	pb__init(&msg);
	pb__init(&line);
	for (uint32_t id = 0; id < profile__nframes(prof); id++) {
		const struct prof_frame *f = profile__frame(prof, id);
		const char *file = f->file ? f->file : "";
		uint64_t name_id, file_id;
		uint32_t fid;

		if (*file && !m->full_filenames && m->sp)
			file = py_sys_path__short(m->sp, file);
		name_id = str_id(st, f->function);
		file_id = str_id(st, file);
		if (!u64map__get(&funcs, u64map__pair((uint32_t)name_id, (uint32_t)file_id), &fid)) {
			fid = ++nfunc;
			if (u64map__put(&funcs, u64map__pair((uint32_t)name_id, (uint32_t)file_id), fid))
				out->oom = true;
			/* No system_name: pprof's demangler would empty "<module>". */
			pb__reset(&msg);
			pb__uint(&msg, F_ID, fid);
			pb__uint(&msg, F_NAME, name_id);
			pb__uint(&msg, F_FILENAME, file_id);
			pb__message(out, P_FUNCTION, &msg);
		}
		pb__reset(&line);
		pb__uint(&line, LINE_FUNCTION_ID, fid);
		pb__uint(&line, LINE_LINE, f->line > 0 ? (uint64_t)f->line : 0);
		pb__reset(&msg);
		pb__uint(&msg, LOC_ID, (uint64_t)id + 1);
		pb__message(&msg, LOC_LINE, &line);
		pb__message(out, P_LOCATION, &msg);
	}
	u64map__release(&funcs);
	pb__release(&msg);
	pb__release(&line);
}

static void samples(struct pb *out, struct pstrings *st, const struct out_pprof *p,
		    const struct profile *prof, uint64_t period)
{
	uint64_t *locs = NULL, key_tid = str_id(st, "thread_id");
	uint64_t key_name = str_id(st, "thread_name");
	struct pb msg, label;
	size_t cap = 0;

	pb__init(&msg);
	pb__init(&label);
	for (size_t i = 0; i < p->na; i++) {
		const struct agg *a = &p->a[i];
		const struct pthread_ *th = &p->t[a->thread];
		uint64_t values[2] = { a->count, a->count * period };
		const uint32_t *ids;
		size_t n;

		profile__stack(prof, a->stack, &ids, &n);
		if (n > cap) {
			uint64_t *nl = realloc(locs, n * sizeof(*nl));

			if (!nl) {
				out->oom = true;
				break;
			}
			locs = nl;
			cap = n;
		}
		for (size_t k = 0; k < n; k++)   /* leaf first */
			locs[k] = (uint64_t)ids[n - 1 - k] + 1;
		pb__reset(&msg);
		pb__packed(&msg, S_LOCATION_ID, locs, n);
		pb__packed(&msg, S_VALUE, values, 2);
		pb__reset(&label);
		pb__uint(&label, L_KEY, key_tid);
		pb__uint(&label, L_NUM, th->native_id > 0 ? (uint64_t)th->native_id
							  : th->thread_id);
		pb__message(&msg, S_LABEL, &label);
		pb__reset(&label);
		pb__uint(&label, L_KEY, key_name);
		pb__uint(&label, L_STR, str_id(st, th->name ? th->name : "?"));
		pb__message(&msg, S_LABEL, &label);
		pb__message(out, P_SAMPLE, &msg);
	}
	free(locs);
	pb__release(&msg);
	pb__release(&label);
}

int out_pprof__write(struct out_pprof *p, const struct profile *prof,
		     FILE *f, const struct out_pprof_meta *m)
{
	uint64_t period = (uint64_t)(1e9 / (m->rate >= 0.01 && m->rate <= 1e9
					     ? m->rate : 100));
	struct pstrings st;
	struct pb body;
	unsigned char *gz = NULL;
	size_t gzlen = 0;
	int ret = 0;

	pb__init(&st.out);
	strtab__init(&st.tab);
	pb__init(&body);
	str_id(&st, "");   /* string_table[0] must be "" */
	value_type(&body, P_SAMPLE_TYPE, &st, "samples", "count");
	value_type(&body, P_SAMPLE_TYPE, &st, "cpu", "nanoseconds");
	samples(&body, &st, p, prof, period);
	functions_and_locations(&body, &st, prof, m);
	pb__uint(&body, P_TIME_NANOS, m->start_unix_ns);
	pb__uint(&body, P_DURATION_NANOS, m->duration_ns);
	value_type(&body, P_PERIOD_TYPE, &st, "cpu", "nanoseconds");
	pb__uint(&body, P_PERIOD, period);
	/* The string table goes last: it is complete only now (protobuf
	 * fields may come in any order). */
	pb__raw(&body, st.out.b, st.out.n);
	if (pb__failed(&body) || pb__failed(&st.out))
		ret = -ENOMEM;
	if (!ret)
		ret = gzip__compress(body.b, body.n, &gz, &gzlen);
	if (!ret && fwrite(gz, 1, gzlen, f) != gzlen)
		ret = -EIO;
	free(gz);
	pb__release(&body);
	pb__release(&st.out);
	strtab__release(&st.tab);
	return ret;
}
