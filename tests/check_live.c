/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The live views, top, threads and gil: the table model on hand-made
 * profiles, then each command against live_fixture.py under every test
 * interpreter (checked by tests/integration/check_{top,threads,gil}.py,
 * top driven in tmux), and bad input for all three.  Also --native for
 * dump, record and top against native_fixture.py (check_native.py).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "profile.h"
#include "test_util.h"
#include "tests.h"
#include "top_model.h"

/* thread A: main>work>hot x6, main>work x2; thread B: main>rec>rec x4 */
static struct profile *sample_profile(void)
{
	struct profile *p = profile__new();
	uint32_t ta = profile__frame_id(p, "thread 1 \"A\"", "", 0, PROF_THREAD);
	uint32_t tb = profile__frame_id(p, "thread 2 \"B\"", "", 0, PROF_THREAD);
	uint32_t m = profile__frame_id(p, "main", "app.py", 1, PROF_APP);
	uint32_t w = profile__frame_id(p, "work", "app.py", 5, PROF_APP);
	uint32_t h = profile__frame_id(p, "hot", "app.py", 9, PROF_APP);
	uint32_t r = profile__frame_id(p, "rec", "app.py", 20, PROF_APP);
	uint32_t s1[] = { ta, m, w, h }, s2[] = { ta, m, w }, s3[] = { tb, m, r, r };

	profile__add(p, profile__stack_id(p, s1, 4), 6);
	profile__add(p, profile__stack_id(p, s2, 4 - 1), 2);
	profile__add(p, profile__stack_id(p, s3, 4), 4);
	return p;
}

static const struct top_row *row(const struct top_row *rows, size_t n,
				 const char *fn, const char *thread)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].function, fn) &&
		    (!thread || (rows[i].thread && strstr(rows[i].thread, thread))))
			return &rows[i];
	ck_abort_msg("no row %s", fn);
	return NULL;
}

START_TEST(test_model_counts)
{
	struct profile *p = sample_profile();
	struct top_model *m = top_model__new(p, NULL);
	struct top_model_opts o = { .by_line = true, .sort = TOP_SORT_OWN_TIME };
	const struct top_row *rows;
	size_t n;

	ck_assert_int_eq(top_model__build(m, &o), 0);
	rows = top_model__rows(m, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(rows[0].function, "hot");       /* own 6 */
	ck_assert_uint_eq(rows[0].own, 6);
	ck_assert_uint_eq(row(rows, n, "main", NULL)->total, 12);
	ck_assert_uint_eq(row(rows, n, "main", NULL)->own, 0);
	ck_assert_uint_eq(row(rows, n, "work", NULL)->total, 8);
	ck_assert_uint_eq(row(rows, n, "work", NULL)->own, 2);
	/* Recursion counts once in total. */
	ck_assert_uint_eq(row(rows, n, "rec", NULL)->total, 4);
	ck_assert_uint_eq(row(rows, n, "rec", NULL)->own, 4);
	ck_assert_uint_eq(top_model__samples(m), 12);
	/* TotalTime order: main first. */
	top_model__sort(m, TOP_SORT_TOTAL_TIME);
	rows = top_model__rows(m, &n);
	ck_assert_str_eq(rows[0].function, "main");
	ck_assert_str_eq(rows[1].function, "work");
	top_model__free(m);
	profile__free(p);
}
END_TEST

START_TEST(test_model_threads_and_interval)
{
	struct profile *p = sample_profile();
	struct top_model *m = top_model__new(p, NULL);
	struct top_model_opts o = { .by_line = true, .sort = TOP_SORT_OWN_PCT };
	const char *labels[4];
	const struct top_row *rows;
	size_t n;
	uint32_t ta, h, s1[4];

	ck_assert_uint_eq(top_model__threads(m, labels, 4), 2);
	o.thread = labels[1];
	ck_assert_int_eq(top_model__build(m, &o), 0);
	rows = top_model__rows(m, &n);
	ck_assert_uint_eq(n, 2);                 /* main, rec of thread B */
	ck_assert_uint_eq(top_model__samples(m), 4);
	o.thread = NULL;
	o.per_thread = true;
	ck_assert_int_eq(top_model__build(m, &o), 0);
	rows = top_model__rows(m, &n);
	ck_assert_uint_eq(n, 5);                 /* main twice */
	ck_assert_uint_eq(row(rows, n, "main", "\"A\"")->total, 8);
	ck_assert_uint_eq(row(rows, n, "main", "\"B\"")->total, 4);
	/* After a mark, only new samples count in the interval. */
	ck_assert_int_eq(top_model__mark(m), 0);
	ta = profile__frame_id(p, "thread 1 \"A\"", "", 0, PROF_THREAD);
	h = profile__frame_id(p, "hot", "app.py", 9, PROF_APP);
	s1[0] = ta;
	s1[1] = profile__frame_id(p, "main", "app.py", 1, PROF_APP);
	s1[2] = profile__frame_id(p, "work", "app.py", 5, PROF_APP);
	s1[3] = h;
	profile__add(p, profile__stack_id(p, s1, 4), 3);
	o.per_thread = false;
	ck_assert_int_eq(top_model__build(m, &o), 0);
	rows = top_model__rows(m, &n);
	ck_assert_str_eq(rows[0].function, "hot");
	ck_assert_uint_eq(rows[0].own_cur, 3);
	ck_assert_uint_eq(rows[0].own, 9);
	ck_assert_uint_eq(row(rows, n, "rec", NULL)->own_cur, 0);
	ck_assert_uint_eq(top_model__samples_cur(m), 3);
	top_model__free(m);
	profile__free(p);
}
END_TEST

static void script(const char *name, const struct tu_interp *in)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 tests/integration/check_%s.py '%s' '%s' %s",
		 name, tu_peeka(), in->launcher,
		 !strcmp(name, "threads") ? in->minor
		 : !strcmp(name, "native") ? in->kind : "");
	free(tu_run_expect(cmd, 0));
	tu_record_exercised(in);
}

START_TEST(test_threads)
{
	script("threads", tu_interp_at(_i));
}
END_TEST

START_TEST(test_gil)
{
	script("gil", tu_interp_at(_i));
}
END_TEST

START_TEST(test_top)
{
	script("top", tu_interp_at(_i));
}
END_TEST

/* --native for dump, record and top (check_native.py, gdb included). */
START_TEST(test_native)
{
	script("native", tu_interp_at(_i));
}
END_TEST

static const char *const views[] = {
	"top --once --delay 0.2",
	"threads",
	"gil --duration 0.2",
};

START_TEST(test_bad_targets)
{
	char *sh[] = { "/bin/sh", "-c", "echo READY; exec sleep 60", NULL };
	const struct tu_interp *old;
	char args[256];
	struct tu_child c;
	pid_t dead = fork();

	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	snprintf(args, sizeof(args), "%s --pid %d", views[_i], (int)dead);
	tu_expect_error(args, 1, "no process with pid");
	ck_assert_int_eq(tu_spawn_ready(&c, sh, 10), 0);
	snprintf(args, sizeof(args), "%s --pid %d", views[_i], c.pid);
	tu_expect_error(args, 1, "is not a CPython process");
	if (tu_old_interps(&old) > 0) {
		char *py[] = { (char *)old[0].launcher, "-c",
			       "import sys, time; print('READY'); sys.stdout.flush(); "
			       "time.sleep(60)", NULL };
		struct tu_child oc;
		char want[96];

		ck_assert_int_eq(tu_spawn_ready(&oc, py, 60), 0);
		snprintf(args, sizeof(args), "%s --pid %d", views[_i], oc.pid);
		snprintf(want, sizeof(want), "unsupported Python version %s",
			 old[0].full);
		tu_expect_error(args, 1, want);
		tu_child_kill(&oc);
	}
	if (geteuid() == 0) {
		char cmd[4096], *out, *err;
		int rc;

		snprintf(cmd, sizeof(cmd),
			 "cp '%s' '%s/peeka' && chmod 755 '%s' '%s/peeka' && "
			 "setpriv --reuid=65534 --regid=65534 --clear-groups "
			 "'%s/peeka' %s --pid %d", tu_peeka(), c.dir, c.dir,
			 c.dir, c.dir, views[_i], c.pid);
		rc = tu_run(cmd, 30, &out, &err);
		ck_assert_msg(rc == 1, "exit %d: %s", rc, err);
		ck_assert_int_eq(tu_count_prefix(err, "error: "), 1);
		ck_assert_ptr_nonnull(strstr(err, "permission denied"));
		ck_assert_ptr_nonnull(strstr(err, "CAP_SYS_PTRACE"));
		free(out);
		free(err);
	}
	tu_child_kill(&c);
}
END_TEST

static const struct {
	const char *args, *needle;
} usage_cases[] = {
	{ "top", "missing --pid" },
	{ "top --pid 1 --rate 0", "invalid rate '0'" },
	{ "top --pid 1 --delay 0.01", "invalid delay '0.01'" },
	{ "top --pid 1 extra", "unexpected argument 'extra'" },
	{ "threads", "missing --pid" },
	{ "threads --pid 1 --watch x", "invalid --watch 'x'" },
	{ "gil", "missing --pid" },
	{ "gil --pid 1 --duration -1", "invalid duration '-1'" },
	{ "gil --pid 1 --rate 1e9", "invalid rate '1e9'" },
	{ "gil --pid 1 -o out.pdf", "cannot tell the format of 'out.pdf'" },
};

START_TEST(test_usage)
{
	tu_expect_error(usage_cases[_i].args, 2, usage_cases[_i].needle);
}
END_TEST

Suite *live_suite(void)
{
	Suite *s = suite_create("live");
	TCase *unit = tcase_create("model");
	TCase *tc = tcase_create("views");
	int n = getenv("PEEKA_SANITIZED") ? 0 : (int)tu_interps(&(const struct tu_interp *){ NULL });

	tcase_add_test(unit, test_model_counts);
	tcase_add_test(unit, test_model_threads_and_interval);
	suite_add_tcase(s, unit);
	tcase_set_tags(tc, "integration");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_threads, 0, n);
	tcase_add_loop_test(tc, test_gil, 0, n);
	tcase_add_loop_test(tc, test_top, 0, n);
	tcase_add_loop_test(tc, test_native, 0, n);
	tcase_add_loop_test(tc, test_bad_targets, 0,
			    (int)(sizeof(views) / sizeof(views[0])));
	tcase_add_loop_test(tc, test_usage, 0,
			    (int)(sizeof(usage_cases) / sizeof(usage_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}
