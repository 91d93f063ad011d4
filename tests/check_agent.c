/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Python side of the agent, under every test interpreter: its
 * condition language (tests/agent/test_expr.py: what it allows, what it
 * refuses before running, and the bounds it keeps when it runs).
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"
#include "tests.h"

START_TEST(test_expr_language)
{
	const struct tu_interp *in = tu_interp_at(_i);
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "'%s' tests/agent/test_expr.py",
		 in->launcher);
	free(tu_run_expect(cmd, 0));
	tu_record_exercised(in);
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
	suite_add_tcase(s, tc);
	return s;
}
