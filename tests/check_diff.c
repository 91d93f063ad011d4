/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka diff: on collapsed files with known counts (the three-column
 * output, normalisation, the summary's order and signs, the SVG's
 * colours and tooltips, bad input), and on two recordings of a fixture
 * whose hot function moves between runs, under every test interpreter.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diff.h"
#include "test_util.h"
#include "tests.h"

static char dir[] = "/tmp/peeka-diff-XXXXXX";

static void setup(void)
{
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	free(tu_run_expect(cmd, 0));
}

static void put(const char *name, const char *text)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tu_write_file(path, text);
}

/* Run peeka diff with @args in dir; return stdout (free it). */
static char *peeka_diff(const char *args, int want, char **err)
{
	char cmd[4096], *out, *e;
	int rc;

	snprintf(cmd, sizeof(cmd), "cd %s && %s diff %s", dir, tu_peeka(), args);
	rc = tu_run(cmd, 60, &out, &e);
	ck_assert_msg(rc == want, "'%s' exited %d (want %d):\n%s%s", cmd, rc,
		      want, out, e);
	if (err)
		*err = e;
	else
		free(e);
	return out;
}

static char *slurp(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return tu_read_file(path);
}

START_TEST(test_diff_collapsed_and_summary)
{
	char *out, *text;

	put("b.txt", "main;a 60\nmain;b 30\nmain;c 10\n");
	put("a.txt", "main;c 10\nmain;b 70\nmain;a 20\nmain 5\nmain;b 0\n");
	out = peeka_diff("b.txt a.txt --format collapsed -o d.txt", 0, NULL);
	text = slurp("d.txt");
	ck_assert_str_eq(text, "main 0 5\nmain;a 60 20\nmain;b 30 70\nmain;c 10 10\n");
	free(text);
	/* Shares: a 60 -> 19.05, b 30 -> 66.67: a first, falling; main is
	 * on every stack (100% both), so it does not change. */
	ck_assert_msg(strstr(out, "-40.95%") && strstr(out, "60.00%") &&
		      strstr(out, "19.05%  a\n") && strstr(out, "+36.67%") &&
		      strstr(out, "66.67%  b\n") &&
		      strstr(out, "-40.95%") < strstr(out, "+36.67%") &&
		      !strstr(out, "  main\n"), "%s", out);
	free(out);
	out = peeka_diff("--normalize b.txt a.txt -o d.txt", 0, NULL);
	text = slurp("d.txt");
	/* before x 105/100, rounded */
	ck_assert_str_eq(text, "main 0 5\nmain;a 63 20\nmain;b 32 70\nmain;c 11 10\n");
	free(text);
	free(out);
}
END_TEST

START_TEST(test_diff_svg_colours)
{
	char *out, *svg;

	put("b.txt", "main;grow 10\nmain;shrink 90\n");
	put("a.txt", "main;grow 90\nmain;shrink 10\nmain;same 5\n");
	put("same.txt", "main;same 5\n");
	out = peeka_diff("b.txt a.txt", 0, NULL);
	free(out);
	svg = slurp("peeka-diff.svg");
	/* The largest changes are fully red and fully blue. */
	ck_assert_msg(strstr(svg, "<title>grow (90 samples, 85.71%; own 10 before, 90 after, +76.19%)</title>"
			     "<rect") != NULL, "%s", svg);
	ck_assert_ptr_nonnull(strstr(svg, "fill=\"#ff6464\""));
	ck_assert_ptr_nonnull(strstr(svg, "fill=\"#6464ff\""));
	ck_assert_ptr_nonnull(strstr(svg, "<title>shrink (10 samples, 9.52%; own 90 before, 10 after, -76.19%)"));
	free(svg);
	{
		char cmd[PATH_MAX + 128];

		snprintf(cmd, sizeof(cmd),
			 "python3 tests/integration/check_record.py svg %s/peeka-diff.svg", dir);
		free(tu_run_expect(cmd, 0));
	}
}
END_TEST

START_TEST(test_diff_bad_input)
{
	char *out, *err;

	put("ok.txt", "main;a 1\n");
	put("bad.txt", "main;a 1\nno count here\n");
	put("empty.txt", "");
	out = peeka_diff("ok.txt bad.txt", 1, &err);
	ck_assert_int_eq(tu_count_prefix(err, "error: "), 1);
	ck_assert_msg(strstr(err, "'bad.txt' line 2: not collapsed stacks"), "%s", err);
	free(out);
	free(err);
	out = peeka_diff("ok.txt empty.txt", 1, &err);
	ck_assert_msg(strstr(err, "holds no samples"), "%s", err);
	free(out);
	free(err);
	out = peeka_diff("ok.txt missing.txt", 1, &err);
	ck_assert_msg(strstr(err, "cannot read 'missing.txt'"), "%s", err);
	free(out);
	free(err);
	out = peeka_diff("ok.txt", 2, &err);
	ck_assert_msg(strstr(err, "expected two inputs"), "%s", err);
	free(out);
	free(err);
	out = peeka_diff("ok.txt ok.txt --format speedscope", 2, &err);
	ck_assert_msg(strstr(err, "unknown format"), "%s", err);
	free(out);
	free(err);
	out = peeka_diff("ok.txt ok.txt -o /nonexistent/d.svg", 1, &err);
	ck_assert_msg(strstr(err, "cannot write '/nonexistent/d.svg'"), "%s", err);
	free(out);
	free(err);
}
END_TEST

/* Two recordings; the hot function moves from work_a to work_c. */
START_TEST(test_diff_recordings)
{
	const struct tu_interp *in = tu_interp_at(_i);
	char cmd[4096], *out, *a, *c;

	snprintf(cmd, sizeof(cmd),
		 "%s record --rate 250 -o %s/before.peeka -- '%s' fixtures/shift.py "
		 "--seconds 2 --shares 70,20,10 && "
		 "%s record --rate 250 -o %s/after.peeka -- '%s' fixtures/shift.py "
		 "--seconds 2 --shares 10,40,50",
		 tu_peeka(), dir, in->launcher, tu_peeka(), dir, in->launcher);
	free(tu_run_expect(cmd, 0));
	tu_record_exercised(in);
	out = peeka_diff("before.peeka after.peeka --function -o d.svg", 0, NULL);
	/* work_a falls by about 60 points and comes first; work_c rises by
	 * about 40 and comes second (spin, under all three, stays at 100). */
	a = strstr(out, "work_a (");
	c = strstr(out, "work_c (");
	ck_assert_msg(a && c && a < c, "%s", out);
	ck_assert_msg(strstr(out, "function\n  -") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\n  +") && strstr(strstr(out, "\n  +"), "work_c") ,
		      "%s", out);
	free(out);
}
END_TEST

Suite *diff_suite(void)
{
	const struct tu_interp *all;
	Suite *s = suite_create("diff");
	TCase *tc = tcase_create("collapsed"), *live = tcase_create("recordings");
	int n = getenv("PEEKA_SANITIZED") ? 0 : (int)tu_interps(&all);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_diff_collapsed_and_summary);
	tcase_add_test(tc, test_diff_svg_colours);
	tcase_add_test(tc, test_diff_bad_input);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(live, setup, teardown);
	tcase_set_tags(live, "integration");
	tcase_set_timeout(live, 120);
	tcase_add_loop_test(live, test_diff_recordings, 0, n);
	suite_add_tcase(s, live);
	return s;
}
