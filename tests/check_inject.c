/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ptrace remote call (inject_ptrace) against a live target under every
 * test interpreter: a pending call on the main thread (which sleeps in a
 * loop) and a synchronous PyGILState call on a worker blocked in
 * time.sleep.  The code each injection runs writes a file naming the
 * thread it ran in; afterwards no thread is stopped or traced and the
 * main loop still runs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject_pep768.h"
#include "inject_ptrace.h"
#include "py_thread.h"
#include "proc_task.h"
#include "py_proc.h"
#include "test_util.h"
#include "tests.h"

static const char fixture[] =
	"import threading, time\n"
	"def worker():\n"
	"    time.sleep(3600)\n"
	"threading.Thread(target=worker, name='worker', daemon=True).start()\n"
	"time.sleep(0.2)\n"
	"print('READY', flush=True)\n"
	"while True:\n"
	"    time.sleep(0.02)\n";

static char *wait_file(const char *path, double seconds)
{
	for (int i = 0; i < (int)(seconds * 50); i++) {
		char *s = tu_read_file(path);

		if (s && *s)
			return s;
		free(s);
		usleep(20000);
	}
	return tu_read_file(path);
}

/* A /proc file (its size reads as 0, so read until the end). */
static char *read_proc(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* The voluntary context switches of thread @tid. */
static long switches(int pid, int tid)
{
	char path[96], *s, *p;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	s = read_proc(path);
	p = s ? strstr(s, "voluntary_ctxt_switches:") : NULL;
	if (p)
		v = strtol(p + 24, NULL, 10);
	free(s);
	return v;
}

static void assert_released(int pid)
{
	int tids[64], n = proc_task__list(pid, tids, 64);
	char path[96], *s;

	ck_assert_int_gt(n, 1);
	for (int i = 0; i < n; i++) {
		ck_assert_int_ne(proc_task__state(pid, tids[i]), 't');
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tids[i]);
		s = read_proc(path);
		ck_assert_msg(strstr(s, "TracerPid:\t0\n"), "thread %d: %.400s", tids[i], s);
		free(s);
	}
}

START_TEST(test_inject_both_ways)
{
	const struct tu_interp *in = tu_interp_at(_i);
	char *argv[] = { (char *)in->launcher, "-c", (char *)fixture, NULL };
	struct inject_syms syms;
	struct py_proc_opts po = { { 0, 0 } };
	struct py_proc pp;
	struct tu_child c;
	char err[256], code[512], path[512], *got;
	int tids[8], n, rc, worker = 0;
	long before;

	ck_assert_int_eq(tu_spawn_ready(&c, argv, 60), 0);
	ck_assert_int_eq(py_proc__open(&pp, c.pid, &po, err, sizeof(err)), 0);
	ck_assert_msg(!inject__preflight(&pp, err, sizeof(err)), "%s", err);
	ck_assert_msg(!inject__resolve(&pp, &syms, err, sizeof(err)), "%s", err);
	n = proc_task__list(c.pid, tids, 8);
	for (int i = 0; i < n; i++)
		if (tids[i] != c.pid)
			worker = tids[i];
	ck_assert_int_gt(worker, 0);

	/* A: a pending call, run by the main thread at its next check. */
	snprintf(path, sizeof(path), "%s/pending", c.dir);
	snprintf(code, sizeof(code),
		 "import threading\nopen(%s%s%s, 'w').write(threading.current_thread().name)\n",
		 "'", path, "'");
	ck_assert_msg(!inject__run(&pp, &syms, c.pid, INJECT_PENDING_CALL, code,
				   &rc, err, sizeof(err)), "%s", err);
	ck_assert_int_eq(rc, 0);
	got = wait_file(path, 5);
	ck_assert_msg(got && !strcmp(got, "MainThread"), "pending call: %s",
		      got ? got : "(nothing)");
	free(got);

	/* B: synchronous, on the worker blocked with the GIL released. */
	snprintf(path, sizeof(path), "%s/gilstate", c.dir);
	snprintf(code, sizeof(code),
		 "import threading\nopen('%s', 'w').write(threading.current_thread().name)\n",
		 path);
	ck_assert_msg(!inject__run(&pp, &syms, worker, INJECT_GILSTATE, code,
				   &rc, err, sizeof(err)), "%s", err);
	ck_assert_int_eq(rc, 0);
	got = tu_read_file(path);
	ck_assert_msg(got && !strcmp(got, "worker"), "gilstate: %s",
		      got ? got : "(nothing)");
	free(got);

	/* Code that raises: PyRun_SimpleString says so, the target lives. */
	ck_assert_msg(!inject__run(&pp, &syms, worker, INJECT_GILSTATE,
				   "raise ValueError('injected')\n", &rc, err,
				   sizeof(err)), "%s", err);
	ck_assert_int_eq(rc, -1);

	/* Nothing is left stopped or traced, and the main loop runs on. */
	assert_released(c.pid);
	before = switches(c.pid, c.pid);
	usleep(300000);
	ck_assert_int_gt(switches(c.pid, c.pid), before + 3);
	ck_assert_int_eq(kill(c.pid, 0), 0);
	py_proc__close(&pp);
	tu_record_exercised(in);
	tu_child_kill(&c);
}
END_TEST

/* 3.14+: PEP 768 request into the main thread's state; and refused with
 * the reason when the target disabled remote debugging. */
/* Indices of the interpreters with PEP 768 (3.14+). */
static int pep768_idx[16];
static int npep768;

START_TEST(test_pep768)
{
	const struct tu_interp *in = tu_interp_at(pep768_idx[_i]);
	char *argv[] = { (char *)in->launcher, "-c", (char *)fixture, NULL };
	struct py_proc_opts po = { { 0, 0 } };
	struct py_snapshot snap;
	struct py_proc pp;
	struct tu_child c;
	char err[512], script[512], out[512], body[1024], *got;
	uint64_t main_ts = 0;

	ck_assert_int_eq(tu_spawn_ready(&c, argv, 60), 0);
	ck_assert_int_eq(py_proc__open(&pp, c.pid, &po, err, sizeof(err)), 0);
	ck_assert_int_eq(inject_pep768__enabled(&pp, err, sizeof(err)), 1);
	ck_assert_int_eq(py_snapshot__take(&pp, &snap, PY_SNAP_NAMES), 0);
	for (size_t i = 0; i < snap.n; i++)
		if (snap.threads[i].native_id == c.pid)
			main_ts = snap.threads[i].tstate;
	py_snapshot__release(&snap);
	ck_assert(main_ts != 0);
	snprintf(script, sizeof(script), "%s/script.py", c.dir);
	snprintf(out, sizeof(out), "%s/pep768", c.dir);
	snprintf(body, sizeof(body),
		 "import threading\nopen('%s', 'w').write(threading.current_thread().name)\n",
		 out);
	tu_write_file(script, body);
	ck_assert_msg(!inject_pep768__request(&pp, main_ts, script, err,
					      sizeof(err)), "%s", err);
	got = wait_file(out, 5);
	ck_assert_msg(got && !strcmp(got, "MainThread"), "pep768: %s",
		      got ? got : "(nothing)");
	free(got);
	py_proc__close(&pp);
	tu_child_kill(&c);

	/* Disabled by the environment: refused, saying why. */
	setenv("PYTHON_DISABLE_REMOTE_DEBUG", "1", 1);
	ck_assert_int_eq(tu_spawn_ready(&c, argv, 60), 0);
	unsetenv("PYTHON_DISABLE_REMOTE_DEBUG");
	ck_assert_int_eq(py_proc__open(&pp, c.pid, &po, err, sizeof(err)), 0);
	ck_assert_int_eq(inject_pep768__enabled(&pp, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "PYTHON_DISABLE_REMOTE_DEBUG") &&
		      strstr(err, "--force-ptrace"), "%s", err);
	py_proc__close(&pp);
	tu_child_kill(&c);
}
END_TEST

Suite *inject_suite(void)
{
	Suite *s = suite_create("inject");
	TCase *tc = tcase_create("ptrace");
	const struct tu_interp *all;
	int n = getenv("PEEKA_SANITIZED") ? 0 : (int)tu_interps(&all);

	tcase_set_tags(tc, "integration");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_inject_both_ways, 0, n);
	for (int i = 0; i < n && npep768 < 16; i++)
		if (strtol(all[i].minor + 2, NULL, 10) >= 14)
			pep768_idx[npep768++] = i;
	tcase_add_loop_test(tc, test_pep768, 0, npep768);
	suite_add_tcase(s, tc);
	return s;
}
