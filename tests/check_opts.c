/* SPDX-License-Identifier: Apache-2.0 */
/* opts: typed conversions and table-driven parsing. */
#include "opts.h"
#include "tests.h"

static const struct {
	const char *s;
	int ok, pid;
} pid_cases[] = {
	{ "1", 1, 1 }, { "4194304", 1, 4194304 }, { "0", 0, 0 },
	{ "-5", 0, 0 }, { "12x", 0, 0 }, { "", 0, 0 }, { "99999999999", 0, 0 },
};

START_TEST(test_pid_cases)
{
	int pid = 0;
	int ret = opts_parse_pid(pid_cases[_i].s, &pid);

	ck_assert_int_eq(ret == 0, pid_cases[_i].ok);
	if (pid_cases[_i].ok)
		ck_assert_int_eq(pid, pid_cases[_i].pid);
}
END_TEST

START_TEST(test_pyversion)
{
	unsigned v[2];

	ck_assert_int_eq(opts_parse_pyversion("3.12", v), 0);
	ck_assert_uint_eq(v[1], 12);
	ck_assert_int_ne(opts_parse_pyversion("3", v), 0);
	ck_assert_int_ne(opts_parse_pyversion("3.12.1", v), 0);
	ck_assert_int_ne(opts_parse_pyversion("x.y", v), 0);
}
END_TEST

/* Operands among options: collected in order, options after them applied. */
START_TEST(test_parse_operands)
{
	static const struct opt_usage u = { "t", "A B", "test", NULL };
	const char *out = NULL, *ops[2];
	bool flag = false;
	const struct opt_spec specs[] = {
		{ "output", 'o', OPT_STRING, "FILE", "out", &out },
		{ "flag", 0, OPT_FLAG, NULL, "a flag", &flag },
		{ 0 },
	};
	char *argv[] = { "t", "one", "--flag", "two", "-o", "x", NULL };
	char *too_many[] = { "t", "a", "b", "c", NULL };
	char *dashes[] = { "t", "a", "--", "-o", NULL };
	char *dashes3[] = { "t", "a", "--", "-o", "b", NULL };
	int n;

	ck_assert_int_eq(opts_parse_operands(&u, specs, 6, argv, ops, 2, &n), OPTS_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(ops[0], "one");
	ck_assert_str_eq(ops[1], "two");
	ck_assert(flag);
	ck_assert_str_eq(out, "x");
	ck_assert_int_eq(opts_parse_operands(&u, specs, 4, too_many, ops, 2, &n),
			 OPTS_USAGE);
	/* After "--" nothing is an option; a third operand is refused. */
	out = NULL;
	ck_assert_int_eq(opts_parse_operands(&u, specs, 4, dashes, ops, 2, &n), OPTS_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(ops[1], "-o");
	ck_assert_ptr_null(out);
	ck_assert_int_eq(opts_parse_operands(&u, specs, 5, dashes3, ops, 2, &n),
			 OPTS_USAGE);
}
END_TEST

START_TEST(test_parse_table)
{
	int pid = 0;
	bool json = false;
	const char *s = NULL;
	struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "pid", &pid },
		{ "json", 0, OPT_FLAG, NULL, "json", &json },
		{ "out", 'o', OPT_STRING, "FILE", "out", &s },
		{ 0 },
	};
	struct opt_usage u = { "t", "", NULL, NULL };
	char *argv[] = { "t", "-p", "42", "--json", "--out=x", "rest", NULL };
	int first = 0;

	ck_assert_int_eq(opts_parse(&u, specs, 6, argv, &first), OPTS_OK);
	ck_assert_int_eq(pid, 42);
	ck_assert(json);
	ck_assert_str_eq(s, "x");
	ck_assert_int_eq(first, 5);
}
END_TEST

START_TEST(test_parse_errors)
{
	int pid = 0;
	struct opt_spec specs[] = { { "pid", 'p', OPT_PID, "PID", "pid", &pid }, { 0 } };
	struct opt_usage u = { "t", "", NULL, NULL };
	char *bad_pid[] = { "t", "--pid", "abc", NULL };
	char *unknown[] = { "t", "--bogus", NULL };
	char *missing[] = { "t", "-p", NULL };
	int first;

	ck_assert_int_eq(opts_parse(&u, specs, 3, bad_pid, &first), OPTS_USAGE);
	ck_assert_int_eq(opts_parse(&u, specs, 2, unknown, &first), OPTS_USAGE);
	ck_assert_int_eq(opts_parse(&u, specs, 2, missing, &first), OPTS_USAGE);
}
END_TEST

Suite *opts_suite(void)
{
	Suite *s = suite_create("opts");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_pid_cases, 0,
			    sizeof(pid_cases) / sizeof(pid_cases[0]));
	tcase_add_test(tc, test_pyversion);
	tcase_add_test(tc, test_parse_table);
	tcase_add_test(tc, test_parse_operands);
	tcase_add_test(tc, test_parse_errors);
	suite_add_tcase(s, tc);
	return s;
}
