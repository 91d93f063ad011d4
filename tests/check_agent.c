/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent, under every test interpreter.  Its Python side in-process:
 * the condition language (tests/agent/test_expr.py: what it allows, what
 * it refuses before running, the bounds it keeps), the channel
 * (test_proto.py: framing, private socket, another user turned away) and
 * the agent itself (test_agent.py: commands, hooks, rendering, restore).
 * And end to end against a live fixture with the CLI
 * (tests/integration/check_attach.py): attach by every method, watch,
 * reset, detach, the main thread blocked, another user, and peeka
 * SIGKILLed at each step of an injection, 50 times.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
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

START_TEST(test_agent_server)
{
	run_python_tests(_i, "tests/agent/test_agent.py");
}
END_TEST

static void attach_script(const struct tu_interp *in, const char *what)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 tests/integration/check_attach.py '%s' '%s' %s %s",
		 tu_peeka(), in->launcher, in->minor, what);
	free(tu_run_expect(cmd, 0));
	tu_record_exercised(in);
}

START_TEST(test_attach_watch_detach)
{
	attach_script(tu_interp_at(_i), "all");
}
END_TEST

START_TEST(test_killed_mid_injection)
{
	attach_script(tu_interp_at(_i), "kill");
}
END_TEST

/* Bad input to the agent commands: one error line, the right status. */
static const struct {
	const char *args, *needle;
	int rc;
} usage_cases[] = {
	{ "attach", "missing PID", 2 },
	{ "attach abc", "invalid PID 'abc'", 2 },
	{ "attach 12 --pid 13", "two different pids", 2 },
	{ "attach 12 --timeout 0", "invalid --timeout", 2 },
	{ "watch", "missing PATTERN", 2 },
	{ "watch .f", "invalid PATTERN", 2 },
	{ "watch m.f -n 0", "invalid -n 0", 2 },
	{ "watch m.f -x 9", "invalid -x 9", 2 },
	{ "watch m.f c1 --condition c2", "two conditions", 2 },
	{ "detach extra", "unexpected argument 'extra'", 2 },
	{ "reset a b", "unexpected argument 'b'", 2 },
};

/* Start @argv (it prints READY) with a private, empty current-target
 * record, so that no other test's attach is seen. */
static void spawn_private(struct tu_child *c, char *const argv[])
{
	char state[PATH_MAX + 8];

	ck_assert_int_eq(tu_spawn_ready(c, argv, 60), 0);
	snprintf(state, sizeof(state), "%s/state", c->dir);
	setenv("PEEKA_STATE_DIR", state, 1);
}

START_TEST(test_usage)
{
	tu_expect_error(usage_cases[_i].args, usage_cases[_i].rc,
			usage_cases[_i].needle);
}
END_TEST

START_TEST(test_bad_targets)
{
	char *sh[] = { "/bin/sh", "-c", "echo READY; exec sleep 60", NULL };
	static const char *const cmds[] = { "attach", "watch m.f --pid",
					    "reset --pid", "detach --pid" };
	char args[128];
	struct tu_child c;
	int dead = tu_dead_pid();

	/* No current target recorded. */
	spawn_private(&c, sh);
	tu_expect_error("watch m.f", 1, "no target");
	tu_expect_error("reset", 1, "no target");
	tu_expect_error("detach", 1, "no target");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(args, sizeof(args), "%s %d", cmds[i], dead);
		tu_expect_error(args, 1, "no process with pid");
	}
	/* Not Python: attach says so; the others find no agent. */
	snprintf(args, sizeof(args), "attach %d", c.pid);
	tu_expect_error(args, 1, "is not a CPython process");
	snprintf(args, sizeof(args), "watch m.f --pid %d", c.pid);
	tu_expect_error(args, 1, "no peeka agent runs in process");
	tu_child_kill(&c);
}
END_TEST

/* A Python target without an agent, and one stopped by job control. */
START_TEST(test_python_without_agent)
{
	const struct tu_interp *in = tu_interp_at(0);
	char *argv[] = { (char *)in->launcher, "-c",
			 "import time; print('READY', flush=True); time.sleep(60)",
			 NULL };
	char args[128], path[PATH_MAX + 64];
	struct tu_child c;

	spawn_private(&c, argv);
	snprintf(args, sizeof(args), "watch m.f --pid %d", c.pid);
	tu_expect_error(args, 1, "no peeka agent runs in process");
	snprintf(args, sizeof(args), "detach --pid %d", c.pid);
	tu_expect_error(args, 1, "no peeka agent runs in process");
	kill(c.pid, SIGSTOP);
	snprintf(args, sizeof(args), "attach %d", c.pid);
	tu_expect_error(args, 1, "is stopped");
	kill(c.pid, SIGCONT);

	/* Nothing was left in its /tmp. */
	snprintf(path, sizeof(path), "/proc/%d/root/tmp", c.pid);
	{
		char cmd[PATH_MAX + 128], *out;

		snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^peeka-%d-' || true",
			 path, c.pid);
		out = tu_run_expect(cmd, 0);
		ck_assert_msg(out && strtol(out, NULL, 10) == 0, "left: %s", out);
		free(out);
	}
	/* Already traced (by this test process, until it is killed). */
	ck_assert_int_eq(ptrace(PTRACE_SEIZE, c.pid, 0, 0), 0);
	tu_expect_error(args, 1, "is already traced by pid");
	tu_child_kill(&c);
}
END_TEST

/* The main thread asleep and another thread holding the GIL in C for
 * good: PyGILState_Ensure would block, so attach refuses (3.8-3.13). */
START_TEST(test_gil_held_throughout)
{
	const struct tu_interp *in = tu_interp_at(0);
	char *argv[] = { (char *)in->launcher, "-c",
			 "import threading, time\n"
			 "print('READY', flush=True)\n"
			 "threading.Thread(target=lambda: sum(range(2 * 10**8)), daemon=True).start()\n"
			 "time.sleep(60)\n", NULL };
	char args[64];
	struct tu_child c;

	spawn_private(&c, argv);
	snprintf(args, sizeof(args), "attach %d --timeout 1", c.pid);
	tu_expect_error(args, 1, "held the GIL");
	tu_child_kill(&c);
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
	tcase_add_loop_test(tc, test_agent_server, 0, n);
	suite_add_tcase(s, tc);
	tc = tcase_create("bad input");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_usage, 0,
			    sizeof(usage_cases) / sizeof(usage_cases[0]));
	tcase_add_test(tc, test_bad_targets);
	if (n) {
		tcase_add_test(tc, test_python_without_agent);
		if (strtol(all[0].minor + 2, NULL, 10) < 14)
			tcase_add_test(tc, test_gil_held_throughout);
	}
	suite_add_tcase(s, tc);
	tc = tcase_create("cli");
	tcase_set_tags(tc, "integration");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_attach_watch_detach, 0, n);
	tcase_add_loop_test(tc, test_killed_mid_injection, 0, n);
	suite_add_tcase(s, tc);
	return s;
}
