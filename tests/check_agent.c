/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Python side of the agent, under every test interpreter: its
 * condition language (tests/agent/test_expr.py: what it allows, what it
 * refuses before running, and the bounds it keeps when it runs) and its
 * channel (tests/agent/test_proto.py: framing, private socket, and
 * another user turned away).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "tests.h"

/* Run a unittest file under interpreter @i; as root, nothing in it may
 * be skipped (the other-user test needs root). */
static void run_python_tests(int i, const char *file)
{
	const struct tu_interp *in = tu_interp_at(i);
	char cmd[4096], *out = NULL, *err = NULL;
	int rc;

	snprintf(cmd, sizeof(cmd), "'%s' %s", in->launcher, file);
	rc = tu_run(cmd, 120, &out, &err);
	ck_assert_msg(rc == 0, "%s under %s: exit %d\n%s", file, in->label, rc,
		      err ? err : "");
	if (geteuid() == 0)
		ck_assert_msg(!strstr(err ? err : "", "skipped"),
			      "%s under %s skipped tests:\n%s", file, in->label,
			      err);
	free(out);
	free(err);
	tu_record_exercised(in);
}

START_TEST(test_expr_language)
{
	run_python_tests(_i, "tests/agent/test_expr.py");
}
END_TEST

START_TEST(test_channel)
{
	run_python_tests(_i, "tests/agent/test_proto.py");
}
END_TEST

Suite *agent_suite(void)
{
	Suite *s = suite_create("agent");
	TCase *tc = tcase_create("python");
	const struct tu_interp *all;
	int n = getenv("PEEKA_SANITIZED") ? 0 : (int)tu_interps(&all);

	tcase_set_tags(tc, "integration");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_expr_language, 0, n);
	tcase_add_loop_test(tc, test_channel, 0, n);
	suite_add_tcase(s, tc);
	return s;
}
