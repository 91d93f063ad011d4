/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every command in the table answers --help (exit 0, usage on stdout) and
 * rejects a bad option (exit 2, one error line); main's own usage paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands/commands.h"
#include "test_util.h"
#include "tests.h"

START_TEST(test_help_and_bad_option)
{
	const struct command *c = &commands[_i];
	char cmd[512], *out, *err, want[64];
	int rc;

	snprintf(cmd, sizeof(cmd), "%s %s --help", tu_peeka(), c->name);
	rc = tu_run(cmd, 10, &out, &err);
	ck_assert_int_eq(rc, 0);
	snprintf(want, sizeof(want), "usage: peeka %s ", c->name);
	ck_assert_msg(!strncmp(out, want, strlen(want)), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "-h, --help"));
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
	snprintf(cmd, sizeof(cmd), "%s %s --no-such-option", tu_peeka(), c->name);
	rc = tu_run(cmd, 10, &out, &err);
	ck_assert_int_eq(rc, 2);
	ck_assert_int_eq(tu_count_prefix(err, "error: "), 1);
	ck_assert_str_eq(out, "");
	free(out);
	free(err);
	snprintf(cmd, sizeof(cmd), "%s help %s", tu_peeka(), c->name);
	rc = tu_run(cmd, 10, &out, &err);
	ck_assert_int_eq(rc, 0);
	ck_assert(!strncmp(out, want, strlen(want)));
	free(out);
	free(err);
}
END_TEST

static const struct {
	const char *args;
	int rc;
	const char *needle;  /* in stdout for 0, stderr otherwise */
} main_cases[] = {
	{ "--help", 0, "commands:" },
	{ "--version", 0, "peeka " },
	{ "", 2, "usage: peeka" },
	{ "dumb --pid 1", 2, "did you mean 'dump'?" },
	{ "--bogus", 2, "error: unknown option" },
};

START_TEST(test_main_usage)
{
	char cmd[512], *out, *err;
	int rc;

	snprintf(cmd, sizeof(cmd), "%s %s", tu_peeka(), main_cases[_i].args);
	rc = tu_run(cmd, 10, &out, &err);
	ck_assert_int_eq(rc, main_cases[_i].rc);
	ck_assert_msg(strstr(main_cases[_i].rc ? err : out, main_cases[_i].needle),
		      "'%s' -> out '%s' err '%s'", cmd, out, err);
	free(out);
	free(err);
}
END_TEST

Suite *commands_suite(void)
{
	Suite *s = suite_create("commands");
	TCase *tc = tcase_create("help");

	tcase_add_loop_test(tc, test_help_and_bad_option, 0, (int)commands_count);
	tcase_add_loop_test(tc, test_main_usage, 0,
			    sizeof(main_cases) / sizeof(main_cases[0]));
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
