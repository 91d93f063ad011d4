/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bad input never crashes or hangs peeka: each case gives exit status 1
 * (2 for usage) and exactly one "error:" line, with hints where useful:
 * missing pid, non-Python process, permission denied, unsupported
 * version, interpreter not initialized, and a process whose stacks churn
 * and which exits while being read.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "tests.h"

START_TEST(test_no_such_process)
{
	char args[64];

	snprintf(args, sizeof(args), "dump --pid %d", tu_dead_pid());
	tu_expect_error(args, 1, "no process with pid");
	snprintf(args, sizeof(args), "info --pid %d", tu_dead_pid());
	tu_expect_error(args, 1, "no process with pid");
}
END_TEST

START_TEST(test_not_python)
{
	char *argv[] = { "/bin/sh", "-c", "echo READY; exec sleep 60", NULL };
	struct tu_child c;
	char args[64];

	ck_assert_int_eq(tu_spawn_ready(&c, argv, 10), 0);
	snprintf(args, sizeof(args), "dump --pid %d", c.pid);
	tu_expect_error(args, 1, "is not a CPython process");
	tu_child_kill(&c);
}
END_TEST

static const struct {
	const char *args, *needle;
} usage_cases[] = {
	{ "dump", "missing --pid" },
	{ "dump --pid", "needs a value" },
	{ "dump --pid abc", "invalid pid 'abc'" },
	{ "dump --pid 0", "invalid pid '0'" },
	{ "dump --pid 12 extra", "unexpected argument 'extra'" },
	{ "dump --pid 12 --python-version three", "invalid version" },
	{ "info", "missing --pid" },
};

START_TEST(test_usage_errors)
{
	tu_expect_error(usage_cases[_i].args, 2, usage_cases[_i].needle);
}
END_TEST

START_TEST(test_permission_denied)
{
	char *argv[] = { "/bin/sh", "-c", "echo READY; exec sleep 60", NULL };
	static char cmd[6 * PATH_MAX + 256];
	static const char *const verbs[] = { "dump --pid", "attach" };
	char *out, *err;
	struct tu_child c;
	int rc, target;
	const char *verb = verbs[_i];

	if (geteuid() == 0) {
		ck_assert_int_eq(tu_spawn_ready(&c, argv, 10), 0);
		target = c.pid;
		/* Copy the binary where an unprivileged user may run it. */
		snprintf(cmd, sizeof(cmd),
			 "cp '%s' '%s/peeka' && chmod 755 '%s' '%s/peeka' && "
			 "setpriv --reuid=65534 --regid=65534 --clear-groups "
			 "'%s/peeka' %s %d",
			 tu_peeka(), c.dir, c.dir, c.dir, c.dir, verb, target);
	} else {
		c.pid = 0;
		c.dir[0] = '\0';
		target = 1;
		snprintf(cmd, sizeof(cmd), "%s %s 1", tu_peeka(), verb);
	}
	rc = tu_run(cmd, 30, &out, &err);
	ck_assert_msg(rc == 1, "exit %d: %s", rc, err);
	ck_assert_int_eq(tu_count_prefix(err, "error: "), 1);
	ck_assert_ptr_nonnull(strstr(err, "permission denied"));
	ck_assert_int_ge(tu_count_prefix(err, "hint: "), 1);
	ck_assert_ptr_nonnull(strstr(err, "CAP_SYS_PTRACE"));
	(void)target;
	free(out);
	free(err);
	if (c.pid)
		tu_child_kill(&c);
}
END_TEST

static void spawn_python(struct tu_child *c, const char *launcher)
{
	char *argv[] = { (char *)launcher, "-c",
			 "import sys, time; print('READY'); sys.stdout.flush(); "
			 "time.sleep(60)", NULL };

	ck_assert_msg(tu_spawn_ready(c, argv, 60) == 0, "%s did not start",
		      launcher);
}

START_TEST(test_unsupported_forced_version)
{
	const struct tu_interp *all;
	struct tu_child c;
	char args[128];

	ck_assert_uint_gt(tu_interps(&all), 0);
	spawn_python(&c, all[0].launcher);
	snprintf(args, sizeof(args), "dump --pid %d --python-version 3.99", c.pid);
	tu_expect_error(args, 1, "unsupported Python version 3.99");
	tu_child_kill(&c);
}
END_TEST

START_TEST(test_unsupported_real_version)
{
	const struct tu_interp *old;
	struct tu_child c;
	char args[64], want[64];

	tu_old_interps(&old);
	spawn_python(&c, old[_i].launcher);
	snprintf(args, sizeof(args), "dump --pid %d", c.pid);
	snprintf(want, sizeof(want), "unsupported Python version %s", old[_i].full);
	tu_expect_error(args, 1, want);
	tu_child_kill(&c);
}
END_TEST

/* Interpreters with a libpython to load (static builds have none). */
static int shared_idx[64];
static int nshared;

/* libpython mapped, Py_Initialize never called. */
START_TEST(test_not_initialized)
{
	const struct tu_interp *all;
	char lib[PATH_MAX + 64], *slash, args[64];
	struct tu_child c;
	char *argv[] = { "build/uninit_host", lib, NULL };

	tu_interps(&all);
	_i = shared_idx[_i];
	snprintf(lib, sizeof(lib), "%s", all[_i].launcher);
	slash = strrchr(lib, '/');
	ck_assert_ptr_nonnull(slash);
	snprintf(slash, sizeof(lib) - (size_t)(slash - lib),
		 "/../lib/libpython%s.so.1.0", all[_i].minor);
	ck_assert_int_eq(tu_spawn_ready(&c, argv, 10), 0);
	snprintf(args, sizeof(args), "dump --pid %d", c.pid);
	tu_expect_error(args, 1, "is not initialized");
	tu_child_kill(&c);
}
END_TEST

/*
 * Reading a process with the wrong layout (every other version's table,
 * forced with --python-version) is reading garbage: it must end in a
 * clean error or a bounded, well-formed output, never a crash or a hang.
 */
START_TEST(test_wrong_layout_is_harmless)
{
	const struct tu_interp *all;
	struct tu_child c;
	char cmd[512], *out, *err;

	tu_interps(&all);
	spawn_python(&c, all[_i].launcher);
	for (unsigned m = 8; m <= 14; m++) {
		int rc;

		snprintf(cmd, sizeof(cmd),
			 "%s dump --json --locals --pid %d --python-version 3.%u",
			 tu_peeka(), c.pid, m);
		rc = tu_run(cmd, 30, &out, &err);
		ck_assert_msg(rc == 0 || rc == 1, "%s read as 3.%u: exit %d: %s",
			      all[_i].label, m, rc, err);
		if (rc == 1)
			ck_assert_int_eq(tu_count_prefix(err, "error: "), 1);
		else
			ck_assert_msg(out[0] == '{' && strstr(out, "\"threads\":"),
				      "%s", out);
		free(out);
		free(err);
	}
	tu_child_kill(&c);
}
END_TEST

/*
 * A target whose threads churn and which exits abruptly: every run ends
 * with status 0 or 1 (never a signal or a hang), an error is one line, and
 * once the target is gone the error says so.
 */
START_TEST(test_churn_and_exit)
{
	const struct tu_interp *all;
	struct tu_child c;
	char cmd[512], *out, *err;
	char *argv[4];
	int ok = 0, failed = 0;

	tu_interps(&all);
	argv[0] = (char *)all[_i].launcher;
	argv[1] = (char *)"fixtures/churn.py";
	argv[2] = NULL;
	ck_assert_int_eq(tu_spawn_ready(&c, argv, 60), 0);
	snprintf(cmd, sizeof(cmd), "%s dump --pid %d", tu_peeka(), c.pid);
	for (int i = 0; i < 400; i++) {
		int st, rc = tu_run(cmd, 30, &out, &err);

		ck_assert_msg(rc == 0 || rc == 1, "%s: run %d exited %d: %s",
			      all[_i].label, i, rc, err);
		if (rc == 1) {
			ck_assert_msg(tu_count_prefix(err, "error: ") == 1,
				      "%s: %s", all[_i].label, err);
			failed++;
		} else {
			ok++;
		}
		free(out);
		free(err);
		if (waitpid(c.pid, &st, WNOHANG) == c.pid) {
			c.pid = 0;
			break;
		}
	}
	ck_assert_msg(c.pid == 0, "%s: churn fixture never exited", all[_i].label);
	ck_assert_int_gt(ok, 0);
	tu_child_kill(&c);
	(void)failed;
}
END_TEST

Suite *bad_input_suite(void)
{
	const struct tu_interp *all, *old;
	Suite *s = suite_create("bad_input");
	TCase *tc = tcase_create("errors");
	int n = getenv("PEEKA_SANITIZED") ? 0 : (int)tu_interps(&all);
	int nold = getenv("PEEKA_SANITIZED") ? 0 : (int)tu_old_interps(&old);

	tcase_set_tags(tc, "integration");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_no_such_process);
	tcase_add_test(tc, test_not_python);
	tcase_add_loop_test(tc, test_usage_errors, 0,
			    sizeof(usage_cases) / sizeof(usage_cases[0]));
	tcase_add_loop_test(tc, test_permission_denied, 0, 2);
	tcase_add_test(tc, test_unsupported_forced_version);
	tcase_add_loop_test(tc, test_unsupported_real_version, 0, nold);
	for (int i = 0; i < n && nshared < 64; i++)
		if (!strcmp(all[i].kind, "shared"))
			shared_idx[nshared++] = i;
	tcase_add_loop_test(tc, test_not_initialized, 0, nshared);
	tcase_add_loop_test(tc, test_churn_and_exit, 0, n);
	tcase_add_loop_test(tc, test_wrong_layout_is_harmless, 0, n);
	suite_add_tcase(s, tc);
	return s;
}
