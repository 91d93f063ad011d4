/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka record against real processes under every test interpreter:
 * accuracy against CPU shares the target measures itself, every filter
 * and naming flag, -- CMD with its exit status, hostile names, and bad
 * input.  Outputs are checked by tests/integration/check_record.py.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "tests.h"

static const struct tu_interp *interp(int i)
{
	return tu_interp_at(i);
}

static char *run(const char *cmd, int want)
{
	return tu_run_expect(cmd, want);
}

static void check(const char *args)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "python3 tests/integration/check_record.py %s",
		 args);
	free(run(cmd, 0));
}

START_TEST(test_accuracy)
{
	const struct tu_interp *in = interp(_i);
	char dir[] = "/tmp/peeka-rec-XXXXXX", cmd[4096];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "%s record -o %s/a.txt --rate 997 -- '%s' fixtures/accuracy.py "
		 "--seconds 4 --truth %s/truth.json", tu_peeka(), dir,
		 in->launcher, dir);
	free(run(cmd, 0));
	/* ~4000 samples: one standard error of a 60% share is 0.8 points. */
	snprintf(cmd, sizeof(cmd), "accuracy %s/truth.json %s/a.txt 997", dir, dir);
	check(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	free(run(cmd, 0));
}
END_TEST

static int def_line(const char *file, const char *needle)
{
	char line[512];
	int n = 0, found = 0;
	FILE *f = fopen(file, "r");

	while (f && fgets(line, sizeof(line), f)) {
		n++;
		if (!found && strstr(line, needle))
			found = n;
	}
	if (f)
		fclose(f);
	return found;
}

/* One recording of the threads fixture with @flags into @out. */
static void record_fixture(int pid, const char *flags, const char *out)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 0.7 --rate 200 %s -o %s",
		 tu_peeka(), pid, flags, out);
	free(run(cmd, 0));
}

START_TEST(test_flags)
{
	const struct tu_interp *in = interp(_i);
	char *argv[4], out[PATH_MAX + 32], args[3 * PATH_MAX];
	struct tu_child c;
	int spin_line = def_line("fixtures/threads_fixture.py", "def busy_spin(");

	argv[0] = (char *)in->launcher;
	argv[1] = (char *)"fixtures/threads_fixture.py";
	argv[2] = (char *)"/dev/null";
	argv[3] = NULL;
	ck_assert_int_eq(tu_spawn_ready(&c, argv, 60), 0);
	snprintf(out, sizeof(out), "%s/p.txt", c.dir);
	/* Default: only the busy thread is active. */
	record_fixture(c.pid, "", out);
	/* 3.8 keeps the script's relative path; later versions make it
	 * absolute, and it is then shown relative to its sys.path entry. */
	snprintf(args, sizeof(args), "contains %s 'busy_spin \\((fixtures/)?threads_fixture.py:'", out);
	check(args);
	snprintf(args, sizeof(args), "lacks %s sleep_forever wait_for_event", out);
	check(args);
	snprintf(args, sizeof(args), "collapsed %s", out);
	check(args);
	record_fixture(c.pid, "--idle --threads", out);
	snprintf(args, sizeof(args),
		 "contains %s '^thread [0-9]+ \"sleeper\";.*sleep_forever' "
		 "'^thread [0-9]+ \"busy\";.*busy_spin' '^thread [0-9]+ \"MainThread\";'",
		 out);
	check(args);
	record_fixture(c.pid, "--gil --idle", out);
	snprintf(args, sizeof(args), "lacks %s sleep_forever wait_for_event", out);
	check(args);
	record_fixture(c.pid, "--function", out);
	snprintf(args, sizeof(args),
		 "contains %s 'busy_spin \\((fixtures/)?threads_fixture.py:%d\\)'",
		 out, spin_line);
	check(args);
	record_fixture(c.pid, "--nolineno --idle", out);
	snprintf(args, sizeof(args), "allframes %s '^[^:]*\\([^:]*\\)$|^[^(]*$'", out);
	check(args);
	record_fixture(c.pid, "--full-filenames --idle", out);
	snprintf(args, sizeof(args), "contains %s '\\(/[^:]*/threading.py:[0-9]+\\)'",
		 out);
	check(args);
	record_fixture(c.pid, "--idle", out);
	snprintf(args, sizeof(args), "contains %s '\\(threading.py:[0-9]+\\)'", out);
	check(args);
	/* --blocking: every thread read while stopped, none left traced. */
	record_fixture(c.pid, "--blocking --idle", out);
	snprintf(args, sizeof(args),
		 "contains %s 'sleep_forever' 'busy_spin' 'wait_for_event'", out);
	check(args);
	snprintf(args, sizeof(args),
		 "test -z \"$(grep -h -e TracerPid -e State /proc/%d/task/*/status "
		 "| grep -v -e 'TracerPid:.0$' -e 'State:.[RS]')\"", c.pid);
	free(run(args, 0));
	snprintf(out, sizeof(out), "%s/p.svg", c.dir);
	record_fixture(c.pid, "", out);
	snprintf(args, sizeof(args), "svg %s", out);
	check(args);
	tu_child_kill(&c);
}
END_TEST

/* -- CMD: the program's status comes back; a 0.2 s program is recorded. */
START_TEST(test_command_status)
{
	const struct tu_interp *in = interp(_i);
	char dir[] = "/tmp/peeka-rec-XXXXXX", cmd[4096];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "%s record -o %s/s.txt --rate 500 -- '%s' -c 'import sys, time\n"
		 "t = time.time()\nwhile time.time() - t < 0.2: pass\nsys.exit(3)'",
		 tu_peeka(), dir, in->launcher);
	free(run(cmd, 3));
	snprintf(cmd, sizeof(cmd), "collapsed %s/s.txt", dir);
	check(cmd);
	snprintf(cmd, sizeof(cmd), "contains %s/s.txt '<module> \\(<string>:3\\)'", dir);
	check(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	free(run(cmd, 0));
}
END_TEST

START_TEST(test_hostile_names)
{
	const struct tu_interp *in = interp(_i);
	char dir[] = "/tmp/peeka-rec-XXXXXX", cmd[4096];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (int svg = 0; svg < 2; svg++) {
		snprintf(cmd, sizeof(cmd),
			 "%s record -o %s/h.%s --rate 300 -- '%s' fixtures/hostile_names.py "
			 "--seconds 1 > /dev/null", tu_peeka(), dir,
			 svg ? "svg" : "txt", in->launcher);
		free(run(cmd, 0));
		snprintf(cmd, sizeof(cmd), "%s %s/h.%s", svg ? "svg" : "collapsed",
			 dir, svg ? "svg" : "txt");
		check(cmd);
	}
	snprintf(cmd, sizeof(cmd), "contains %s/h.txt 'semi:colon' 'emoji' '<tag>&amp\"'",
		 dir);
	check(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	free(run(cmd, 0));
}
END_TEST

/* --subprocesses: a subprocess child and a multiprocessing child. */
START_TEST(test_subprocesses)
{
	const struct tu_interp *in = interp(_i);
	char dir[] = "/tmp/peeka-rec-XXXXXX", cmd[4096];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "%s record --subprocesses --rate 200 -o %s/s.txt -- '%s' "
		 "fixtures/subprocs.py '%s' --seconds 1.5", tu_peeka(), dir,
		 in->launcher, in->launcher);
	free(run(cmd, 0));
	snprintf(cmd, sizeof(cmd), "collapsed %s/s.txt", dir);
	check(cmd);
	snprintf(cmd, sizeof(cmd),
		 "contains %s/s.txt '^process [0-9]+ \"[^\"]*subprocs.py[^\"]*\";.*parent_spin' "
		 "'^process [0-9]+ \"[^\"]*\";.*mp_spin' "
		 "'^process [0-9]+ \"[^\"]*-c [^\"]*\";.*sub_spin'", dir);
	check(cmd);
	/* The same through a recording: children are written there too. */
	snprintf(cmd, sizeof(cmd),
		 "%s record --subprocesses --rate 200 -o %s/s.peeka -- '%s' "
		 "fixtures/subprocs.py '%s' --seconds 1.5 && %s report %s/s.peeka -o %s/r.txt",
		 tu_peeka(), dir, in->launcher, in->launcher, tu_peeka(), dir, dir);
	free(run(cmd, 0));
	snprintf(cmd, sizeof(cmd),
		 "contains %s/r.txt '^process [0-9]+ \"[^\"]*subprocs.py[^\"]*\";.*parent_spin' "
		 "'^process [0-9]+ \"[^\"]*\";.*mp_spin' "
		 "'^process [0-9]+ \"[^\"]*-c [^\"]*\";.*sub_spin'", dir);
	check(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	free(run(cmd, 0));
}
END_TEST

static const struct {
	const char *args;
	int rc;
	const char *needle;
} bad_cases[] = {
	{ "record --pid 1 --rate 0", 2, "invalid rate '0'" },
	{ "record --pid 1 --rate -5", 2, "invalid rate '-5'" },
	{ "record --pid 1 --rate 1e9", 2, "invalid rate '1e9'" },
	{ "record --pid 1 --rate abc", 2, "invalid rate 'abc'" },
	{ "record --pid 1 --duration 0", 2, "invalid duration" },
	{ "record --pid 1 --format pdf", 2, "unknown format 'pdf'" },
	{ "record", 2, "missing --pid PID or -- CMD" },
	{ "record --pid 1 -- python3", 2, "not both" },
	{ "record -o /nonexistent-dir/x.svg -- python3 -c pass", 1, "cannot write '/nonexistent-dir/x.svg'" },
	{ "record -- /nonexistent/command", 127, "cannot run '/nonexistent/command'" },
	{ "record -o /tmp/peeka-never.svg -- sleep 0.3", 1, "before it ran CPython" },
};

START_TEST(test_bad_input)
{
	char cmd[1024], *out, *err;
	int rc;

	snprintf(cmd, sizeof(cmd), "%s %s", tu_peeka(), bad_cases[_i].args);
	rc = tu_run(cmd, 60, &out, &err);
	ck_assert_msg(rc == bad_cases[_i].rc, "'%s' exited %d: %s", cmd, rc, err);
	ck_assert_msg(tu_count_prefix(err, "error: ") == 1, "%s", err);
	ck_assert_msg(strstr(err, bad_cases[_i].needle), "'%s' not in %s",
		      bad_cases[_i].needle, err);
	free(out);
	free(err);
}
END_TEST

/*
 * On a terminal (a pty from script(1)) a status line is updated in place;
 * Ctrl-C (SIGINT) ends the recording cleanly and writes the output.
 */
START_TEST(test_terminal_and_interrupt)
{
	const struct tu_interp *in = interp(0);
	char *argv[] = { (char *)in->launcher, "fixtures/churn.py", "--seconds",
			 "30", NULL };
	char cmd[4096], *out, *err;
	struct tu_child c;
	int rc;

	ck_assert_int_eq(tu_spawn_ready(&c, argv, 60), 0);
	snprintf(cmd, sizeof(cmd),
		 "script -qec '%s record --pid %d --duration 1.5 -o %s/t.txt' /dev/null",
		 tu_peeka(), c.pid, c.dir);
	rc = tu_run(cmd, 60, &out, &err);
	ck_assert_msg(rc == 0, "%d %s %s", rc, out, err);
	/* Updated in place: carriage return, erase line, the counters. */
	ck_assert_msg(strstr(out, "\r\033[K") && strstr(out, " samples  ") &&
		      strstr(out, " Hz  ") && strstr(out, " threads  ") &&
		      strstr(out, " errors"), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "peeka: "));
	free(out);
	free(err);
	snprintf(cmd, sizeof(cmd),
		 "%s record --pid %d -o %s/i.txt & p=$!; sleep 1; kill -INT $p; wait $p",
		 tu_peeka(), c.pid, c.dir);
	free(run(cmd, 0));
	snprintf(cmd, sizeof(cmd), "collapsed %s/i.txt", c.dir);
	check(cmd);
	tu_child_kill(&c);
}
END_TEST

/* The test runner itself is not Python. */
START_TEST(test_not_python)
{
	char cmd[1024], *err;

	snprintf(cmd, sizeof(cmd), "%s record --pid %d -o /tmp/peeka-never-%d.svg",
		 tu_peeka(), (int)getpid(), (int)getpid());
	err = run(cmd, 1);
	ck_assert_int_eq(tu_count_prefix(err, "error: "), 1);
	ck_assert_ptr_nonnull(strstr(err, "is not a CPython process"));
	free(err);
}
END_TEST

/* Nothing but idle threads: a clear error and no file at all. */
START_TEST(test_empty_recording)
{
	const struct tu_interp *in = interp(0);
	char *argv[] = { (char *)in->launcher, "-c",
			 "import time; print('READY', flush=True); time.sleep(60)",
			 NULL };
	char cmd[1024], path[PATH_MAX + 32], *err;
	struct tu_child c;
	struct stat st;

	ck_assert_int_eq(tu_spawn_ready(&c, argv, 60), 0);
	snprintf(path, sizeof(path), "%s/empty.svg", c.dir);
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 0.5 -o %s",
		 tu_peeka(), c.pid, path);
	err = run(cmd, 1);
	ck_assert_ptr_nonnull(strstr(err, "error: no samples were collected"));
	ck_assert_int_ne(stat(path, &st), 0);
	free(err);
	tu_child_kill(&c);
}
END_TEST

/* A target that churns threads and exits mid-recording: valid output. */
START_TEST(test_target_exits)
{
	const struct tu_interp *in = interp(_i);
	char *argv[] = { (char *)in->launcher, "fixtures/churn.py", NULL };
	char cmd[1024], out[PATH_MAX + 32];
	struct tu_child c;

	ck_assert_int_eq(tu_spawn_ready(&c, argv, 60), 0);
	snprintf(out, sizeof(out), "%s/churn.txt", c.dir);
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --rate 1000 -o %s",
		 tu_peeka(), c.pid, out);
	free(run(cmd, 0));
	snprintf(cmd, sizeof(cmd), "collapsed %s", out);
	check(cmd);
	tu_child_kill(&c);
}
END_TEST

/*
 * A second Ctrl-C aborts.  Deterministic: the output is a FIFO whose
 * reader never reads and whose pipe holds one page, so after the first
 * SIGINT peeka is stuck writing its (larger) flame graph until the second.
 */
START_TEST(test_second_interrupt_aborts)
{
	const struct tu_interp *in = interp(0);
	char *argv[] = { (char *)in->launcher, "fixtures/churn.py", "--seconds",
			 "30", NULL };
	char fifo[PATH_MAX + 32], errpath[PATH_MAX + 32], *err;
	struct tu_child c;
	int rfd, status = 0;
	pid_t p;

	ck_assert_int_eq(tu_spawn_ready(&c, argv, 60), 0);
	snprintf(fifo, sizeof(fifo), "%s/out.svg", c.dir);
	snprintf(errpath, sizeof(errpath), "%s/err.txt", c.dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rfd, 0);
	ck_assert_int_ge(fcntl(rfd, F_SETPIPE_SZ, 4096), 4096);
	p = fork();
	ck_assert_int_ge(p, 0);
	if (!p) {
		char pid[16];
		int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		snprintf(pid, sizeof(pid), "%d", c.pid);
		dup2(efd, 2);
		execl(tu_peeka(), "peeka", "record", "--pid", pid, "-o", fifo,
		      (char *)NULL);
		_exit(127);
	}
	sleep(1);
	kill(p, SIGINT);
	usleep(500000);
	/* Stopped sampling, blocked in the write: still there. */
	ck_assert_int_eq(waitpid(p, &status, WNOHANG), 0);
	kill(p, SIGINT);
	for (int i = 0; i < 100 && waitpid(p, &status, WNOHANG) == 0; i++)
		usleep(50000);
	if (!WIFEXITED(status) && !WIFSIGNALED(status)) {
		kill(p, SIGKILL);
		waitpid(p, &status, 0);
		ck_abort_msg("peeka did not exit on the second SIGINT");
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 130,
		      "status 0x%x", status);
	close(rfd);
	err = tu_read_file(errpath);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "interrupted again: aborted"), "%s", err);
	free(err);
	tu_child_kill(&c);
}
END_TEST

Suite *record_suite(void)
{
	const struct tu_interp *all;
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("record");
	int n = getenv("PEEKA_SANITIZED") ? 0 : (int)tu_interps(&all);

	tcase_set_tags(tc, "integration");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_accuracy, 0, n);
	tcase_add_loop_test(tc, test_flags, 0, n);
	tcase_add_loop_test(tc, test_command_status, 0, n);
	tcase_add_loop_test(tc, test_hostile_names, 0, n);
	tcase_add_loop_test(tc, test_target_exits, 0, n);
	tcase_add_loop_test(tc, test_subprocesses, 0, n);
	tcase_add_loop_test(tc, test_bad_input, 0,
			    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_not_python);
	if (n)
		tcase_add_test(tc, test_terminal_and_interrupt);
	if (n)
		tcase_add_test(tc, test_empty_recording);
	if (n)
		tcase_add_test(tc, test_second_interrupt_aborts);
	suite_add_tcase(s, tc);
	return s;
}
