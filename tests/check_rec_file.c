/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The .peeka recording: one synthetic sample source feeds a collector
 * directly and through rec_write -> file -> rec_read; the collapsed
 * outputs must be identical under every filter.  Then damage: a file cut
 * at a flush point keeps every sample before it; cut anywhere, corrupt,
 * empty, foreign or from a newer format, it never crashes and says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "profile.h"
#include "py_code.h"
#include "rec_collect.h"
#include "rec_format.h"
#include "rec_read.h"
#include "rec_write.h"
#include "strtab.h"
#include "tests.h"

#define NCODES 12
#define NTHREADS 4
#define NSAMPLES 3000

static struct py_code codes[NCODES];
static char names[NCODES][32], files[NCODES][48];
static char path[] = "/tmp/peeka-rec-XXXXXX";

static void setup(void)
{
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	for (int i = 0; i < NCODES; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d%s", i,
			 i == 3 ? " <x;y>" : "");
		snprintf(files[i], sizeof(files[i]), "/app/mod%d.py", i % 5);
		codes[i] = (struct py_code){ 0 };
		codes[i].name = codes[i].qualname = names[i];
		codes[i].filename = files[i];
		codes[i].firstlineno = 10 * i + 1;
	}
}

static void teardown(void)
{
	unlink(path);
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
}

/* A deterministic pseudo-random sample stream. */
struct source {
	uint64_t seed;
	struct py_frame frames[64];
	struct py_sample_thread t;
	const char *tnames[NTHREADS];
};

static uint32_t next(struct source *s)
{
	s->seed = s->seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(s->seed >> 33);
}

static void make_sample(struct source *s, int i)
{
	int th = (int)(next(s) % NTHREADS);
	size_t depth = 1 + next(s) % 40;

	for (size_t k = 0; k < depth; k++) {
		int c = (int)((k * 7 + next(s) % 3) % NCODES);

		s->frames[k].code = &codes[c];
		s->frames[k].line = (next(s) % 5 == 0) ? -1
						       : codes[c].firstlineno + (int)(next(s) % 4);
	}
	s->t = (struct py_sample_thread){ 0 };
	s->t.thread_id = 0x7f0000001000ULL + (uint64_t)th * 0x1000;
	s->t.native_id = 1000 + th;
	/* Thread 2 is renamed half-way; thread 3 has no name. */
	s->t.name = th == 3 ? NULL : (th == 2 && i > NSAMPLES / 2) ? "renamed"
								 : s->tnames[th];
	s->t.gil = next(s) % 3 == 0;
	s->t.active = s->t.gil || next(s) % 2;
	s->t.err = next(s) % 50 == 0 ? PE_TORN : 0;
	s->t.frames = s->frames;
	s->t.nframes = next(s) % 60 == 0 ? 0 : depth;
}

static void source_init(struct source *s)
{
	memset(s, 0, sizeof(*s));
	s->seed = 42;
	s->tnames[0] = "MainThread";
	s->tnames[1] = "worker \"1\"";
	s->tnames[2] = "pool";
}

static char *collapsed(struct rec_collect *c)
{
	struct profile *p = rec_collect__finish(c, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(profile__write_collapsed(p, f), 0);
	fclose(f);
	profile__free(p);
	return buf;
}

static uint64_t frame_input;   /* 0: the writer's default */

/* Write NSAMPLES samples; flush after sample @flush_at (0: never) and
 * return the file size at that flush in *flush_size. */
static void write_file(int flush_at, off_t *flush_size)
{
	struct rec_write_info info = { 4242, "python app.py", "3.12.1", 100,
				       1700000000000000000ULL };
	struct rec_write *w;
	struct source s;
	int fd = open(path, O_WRONLY | O_TRUNC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(rec_write__open(&w, fd, &info), 0);
	rec_write__set_frame_input(w, frame_input);
	source_init(&s);
	for (int i = 0; i < NSAMPLES; i++) {
		make_sample(&s, i);
		ck_assert_int_eq(rec_write__thread(w, 4242, (uint64_t)i * 10000000, &s.t), 0);
		if (i + 1 == flush_at) {
			ck_assert_int_eq(rec_write__tick(w, 1), 0);
			*flush_size = lseek(fd, 0, SEEK_CUR);
		}
	}
	ck_assert_uint_eq(rec_write__samples(w), NSAMPLES);
	ck_assert_int_eq(rec_write__finish(w), 0);
	rec_write__free(w);
	close(fd);
}

static int feed(void *ctx, const struct rec_read_sample *s)
{
	ck_assert_int_eq(s->pid, 4242);
	return rec_collect__thread(ctx, &s->t);
}

static const struct rec_collect_opts opt_cases[] = {
	{ .idle = false },
	{ .idle = true },
	{ .gil_only = true },
	{ .idle = true, .threads = true },
	{ .function = true, .threads = true },
	{ .nolineno = true },
};

START_TEST(test_round_trip_same_collapsed)
{
	const struct rec_collect_opts *o = &opt_cases[_i];
	struct profile *pa = profile__new(), *pb = profile__new();
	struct rec_collect *a = rec_collect__new(pa, o), *b = rec_collect__new(pb, o);
	struct rec_read_info info;
	struct source s;
	char err[256], *ta, *tb;
	off_t unused;

	source_init(&s);
	for (int i = 0; i < NSAMPLES; i++) {
		make_sample(&s, i);
		ck_assert_int_eq(rec_collect__thread(a, &s.t), 0);
	}
	write_file(0, &unused);
	ck_assert_int_eq(rec_read__file(path, feed, b, &info, err, sizeof(err)), 0);
	ck_assert_msg(!info.damaged, "%s", info.damage);
	ck_assert(info.complete);
	ck_assert_uint_eq(info.samples, NSAMPLES);
	ck_assert_int_eq(info.pid, 4242);
	ck_assert_str_eq(info.cmdline, "python app.py");
	ck_assert_str_eq(info.python, "3.12.1");
	ck_assert_uint_eq(info.duration_ns, (uint64_t)(NSAMPLES - 1) * 10000000);
	ta = collapsed(a);
	tb = collapsed(b);
	ck_assert_uint_gt(strlen(ta), 100);
	ck_assert_str_eq(ta, tb);
	ck_assert_uint_eq(rec_collect__stats(a)->kept, rec_collect__stats(b)->kept);
	ck_assert_uint_eq(rec_collect__stats(a)->torn, rec_collect__stats(b)->torn);
	free(ta);
	free(tb);
	rec_read_info__release(&info);
	rec_collect__free(a);
	rec_collect__free(b);
	profile__free(pa);
	profile__free(pb);
}
END_TEST

/* Small frames: many zstd frames (each with its checksum), read as one. */
START_TEST(test_many_frames)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	struct profile *pa = profile__new(), *pb = profile__new();
	struct rec_collect_opts o = { .idle = true };
	struct rec_collect *a = rec_collect__new(pa, &o), *b = rec_collect__new(pb, &o);
	struct rec_read_info info;
	struct source s;
	char err[256], *ta, *tb;
	unsigned char *all;
	size_t frames = 0;
	off_t unused;
	long size;
	FILE *f;

	frame_input = 4096;
	write_file(0, &unused);
	frame_input = 0;
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	all = malloc((size_t)size);
	ck_assert_uint_eq(fread(all, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	for (long i = 0; i + 4 <= size; i++)
		frames += !memcmp(all + i, magic, 4);
	ck_assert_msg(frames >= 5, "%zu zstd frames", frames);
	free(all);
	source_init(&s);
	for (int i = 0; i < NSAMPLES; i++) {
		make_sample(&s, i);
		rec_collect__thread(a, &s.t);
	}
	ck_assert_int_eq(rec_read__file(path, feed, b, &info, err, sizeof(err)), 0);
	ck_assert_msg(info.complete && !info.damaged, "%s", info.damage);
	ta = collapsed(a);
	tb = collapsed(b);
	ck_assert_str_eq(ta, tb);
	free(ta);
	free(tb);
	rec_read_info__release(&info);
	rec_collect__free(a);
	rec_collect__free(b);
	profile__free(pa);
	profile__free(pb);
}
END_TEST

static int count(void *ctx, const struct rec_read_sample *s)
{
	(void)s;
	++*(uint64_t *)ctx;
	return 0;
}

/* Cut exactly at a flush: every sample written before it is readable. */
START_TEST(test_cut_at_flush_keeps_everything_before)
{
	struct rec_read_info info;
	uint64_t n = 0;
	off_t at = 0;
	char err[256];

	write_file(1234, &at);
	ck_assert_int_gt(at, 0);
	ck_assert_int_eq(truncate(path, at), 0);
	ck_assert_int_eq(rec_read__file(path, count, &n, &info, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1234);
	ck_assert(info.damaged);
	ck_assert_msg(strstr(info.damage, "cut short") || strstr(info.damage, "truncated"),
		      "%s", info.damage);
	rec_read_info__release(&info);
}
END_TEST

/* Cut anywhere, or with a byte flipped anywhere: no crash, fewer samples. */
START_TEST(test_cut_or_corrupt_anywhere)
{
	struct rec_read_info info;
	char err[256];
	off_t unused, size;
	unsigned char *all;
	FILE *f;

	write_file(0, &unused);
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	all = malloc((size_t)size);
	ck_assert_uint_eq(fread(all, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	for (int k = 1; k < 40; k++) {
		off_t cut = size * k / 40;
		uint64_t n = 0;
		int ret;

		f = fopen(path, "wb");
		fwrite(all, 1, (size_t)cut, f);
		fclose(f);
		ret = rec_read__file(path, count, &n, &info, err, sizeof(err));
		ck_assert(ret == 0 || ret == PE_NOT_RECORDING);
		ck_assert(ret || info.damaged);
		ck_assert_uint_lt(n, NSAMPLES);
		rec_read_info__release(&info);

		all[cut] ^= 0x5a;
		f = fopen(path, "wb");
		fwrite(all, 1, (size_t)size, f);
		fclose(f);
		n = 0;
		ret = rec_read__file(path, count, &n, &info, err, sizeof(err));
		ck_assert(ret == 0 || ret == PE_NOT_RECORDING);
		ck_assert_uint_le(n, NSAMPLES);
		rec_read_info__release(&info);
		all[cut] ^= 0x5a;
	}
	free(all);
}
END_TEST

static void write_bytes(const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	fwrite(p, 1, n, f);
	fclose(f);
}

START_TEST(test_not_a_recording)
{
	struct rec_read_info info;
	uint64_t n = 0;
	char err[256];
	unsigned char newer[20] = { 0x50, 0x2a, 0x4d, 0x18, 12, 0, 0, 0,
				    'P', 'E', 'E', 'K', 'A', 'R', 'E', 'C',
				    REC_FORMAT_VERSION + 1, 0, 0, 0 };

	write_bytes("", 0);
	ck_assert_int_eq(rec_read__file(path, count, &n, &info, err, sizeof(err)),
			 PE_NOT_RECORDING);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	write_bytes("a;b;c 12\n", 9);
	ck_assert_int_eq(rec_read__file(path, count, &n, &info, err, sizeof(err)),
			 PE_NOT_RECORDING);
	ck_assert(!rec_read__is_recording(path));
	write_bytes(newer, sizeof(newer));
	ck_assert_int_eq(rec_read__file(path, count, &n, &info, err, sizeof(err)),
			 PE_FORMAT_VERSION);
	ck_assert_ptr_nonnull(strstr(err, "version 2"));
	ck_assert_int_eq(rec_read__file("/nonexistent/x.peeka", count, &n, &info,
					err, sizeof(err)), -ENOENT);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* Dense indices in first-seen order; a repeat finds its index. */
START_TEST(test_strtab)
{
	struct strtab t;
	char buf[32];
	bool added;

	strtab__init(&t);
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		ck_assert_int_eq(strtab__intern(&t, buf, &added), i);
		ck_assert(added);
	}
	for (int i = 4999; i >= 0; i--) {
		snprintf(buf, sizeof(buf), "s%d", i);
		ck_assert_int_eq(strtab__intern(&t, buf, &added), i);
		ck_assert(!added);
		ck_assert_str_eq(t.s[i], buf);
	}
	ck_assert_int_eq(strtab__intern(&t, "", &added), 5000);
	ck_assert_uint_eq(t.n, 5001);
	strtab__release(&t);
}
END_TEST

Suite *rec_file_suite(void)
{
	Suite *s = suite_create("rec_file");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_round_trip_same_collapsed, 0,
			    sizeof(opt_cases) / sizeof(opt_cases[0]));
	tcase_add_test(tc, test_many_frames);
	tcase_add_test(tc, test_cut_at_flush_keeps_everything_before);
	tcase_add_test(tc, test_cut_or_corrupt_anywhere);
	tcase_add_test(tc, test_not_a_recording);
	tcase_add_test(tc, test_strtab);
	suite_add_tcase(s, tc);
	return s;
}
