/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka against real processes, under every test interpreter: the
 * six-thread fixture writes its own sys._current_frames() truth, and
 * dump (JSON and text), dump --locals and info must agree with it.  The
 * target must never be left stopped or traced.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "tests.h"

struct target {
	const struct tu_interp *interp;
	struct tu_child child;
	char truth[PATH_MAX + 32];
};

static void start_fixture(struct target *t, int idx)
{
	const struct tu_interp *all;
	char *argv[4];
	size_t n = tu_interps(&all);

	ck_assert_uint_lt((size_t)idx, n);
	t->interp = &all[idx];
	/* The path is only known once the folder exists: pass a relative
	 * name and let the fixture write it in its own working folder. */
	snprintf(t->truth, sizeof(t->truth), "/tmp/peeka-truth-%d-%d.json",
		 getpid(), idx);
	argv[0] = (char *)t->interp->launcher;
	argv[1] = (char *)"fixtures/threads_fixture.py";
	argv[2] = t->truth;
	argv[3] = NULL;
	ck_assert_msg(tu_spawn_ready(&t->child, argv, 60) == 0,
		      "%s: fixture never became ready", t->interp->label);
}

static void stop_fixture(struct target *t)
{
	tu_child_kill(&t->child);
	unlink(t->truth);
}

/* Run peeka with @args on the target; stdout goes to @out_path. */
static int run_peeka(struct target *t, const char *args, const char *out_path,
		     char **err)
{
	char cmd[2 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "%s %s --pid %d > '%s'", tu_peeka(), args,
		 t->child.pid, out_path);
	return tu_run(cmd, 60, NULL, err);
}

static void assert_not_stopped(int pid);

/*
 * Run a checker script under the target's own interpreter.  Returns its
 * status when it is 3 (only the spinning thread was caught waiting for the
 * GIL: the caller may take a new dump), else asserts success.
 */
static int check_with(struct target *t, const char *script, const char *arg2,
		      const char *arg3)
{
	char cmd[3 * PATH_MAX], *out, *err;
	int rc;

	snprintf(cmd, sizeof(cmd), "'%s' tests/integration/%s '%s' '%s' %s",
		 t->interp->launcher, script, t->truth, arg2, arg3 ? arg3 : "");
	rc = tu_run(cmd, 60, &out, &err);
	ck_assert_msg(rc == 0 || rc == 3, "%s: %s failed:\n%s%s",
		      t->interp->label, script, out, err);
	free(out);
	free(err);
	return rc;
}

/* Dump with @args and check with @script; retry a transient busy-idle. */
static void dump_and_check(struct target *t, const char *args,
			   const char *file, const char *script)
{
	char out[PATH_MAX + 16], *err;
	int rc, attempt = 0;

	snprintf(out, sizeof(out), "%s/%s", t->child.dir, file);
	do {
		rc = run_peeka(t, args, out, &err);
		ck_assert_msg(rc == 0, "%s: peeka %s exited %d: %s",
			      t->interp->label, args, rc, err);
		/* Layout mismatches with _Py_DebugOffsets are warnings: none
		 * are allowed. */
		ck_assert_msg(err[0] == '\0', "%s: stderr: %s", t->interp->label,
			      err);
		free(err);
		assert_not_stopped(t->child.pid);
	} while (check_with(t, script, out, NULL) == 3 && ++attempt < 5);
	ck_assert_msg(attempt < 5, "%s: the busy thread was never seen active",
		      t->interp->label);
}

/* No thread of the target may be stopped or traced after peeka ran. */
static void assert_not_stopped(int pid)
{
	char path[512], line[256];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid,
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "State:", 6)) {
				const char *st = line + 6 + strspn(line + 6, " \t");

				ck_assert_msg(*st != 't' && *st != 'T',
					      "thread %s: %s", de->d_name, line);
			}
			if (!strncmp(line, "TracerPid:", 10))
				ck_assert_int_eq(strtol(line + 10, NULL, 10), 0);
		}
		fclose(f);
	}
	closedir(d);
}

START_TEST(test_dump_json_matches_truth)
{
	struct target t;

	start_fixture(&t, _i);
	dump_and_check(&t, "dump --json", "dump.json", "compare_dump.py");
	tu_record_exercised(t.interp);
	stop_fixture(&t);
}
END_TEST

START_TEST(test_dump_text_matches_truth)
{
	struct target t;

	start_fixture(&t, _i);
	dump_and_check(&t, "dump", "dump.txt", "check_text.py");
	stop_fixture(&t);
}
END_TEST

START_TEST(test_dump_locals_match_truth)
{
	struct target t;
	char out[PATH_MAX + 16];

	start_fixture(&t, _i);
	dump_and_check(&t, "dump --json --locals", "locals.json",
		       "compare_dump.py");
	snprintf(out, sizeof(out), "%s/locals.json", t.child.dir);
	ck_assert_int_eq(check_with(&t, "compare_locals.py", out, NULL), 0);
	stop_fixture(&t);
}
END_TEST

START_TEST(test_info_matches_truth)
{
	struct target t;
	char out[PATH_MAX + 16], *err;
	int rc;

	start_fixture(&t, _i);
	snprintf(out, sizeof(out), "%s/info.json", t.child.dir);
	rc = run_peeka(&t, "info --json", out, &err);
	ck_assert_msg(rc == 0 && !err[0], "%s: %d %s", t.interp->label, rc, err);
	free(err);
	ck_assert_int_eq(check_with(&t, "check_info.py", out, t.interp->kind), 0);
	stop_fixture(&t);
}
END_TEST

Suite *integration_suite(void)
{
	const struct tu_interp *all;
	Suite *s = suite_create("integration");
	TCase *tc = tcase_create("views");
	int n = getenv("PEEKA_SANITIZED") ? 0 : (int)tu_interps(&all);

	tcase_set_tags(tc, "integration");
	tcase_set_timeout(tc, 240);
	for (int i = 0; i < n; i++)
		printf("test interpreter: %s (%s, %s)\n", all[i].label,
		       all[i].full, all[i].kind);
	tcase_add_loop_test(tc, test_dump_json_matches_truth, 0, n);
	tcase_add_loop_test(tc, test_dump_text_matches_truth, 0, n);
	tcase_add_loop_test(tc, test_dump_locals_match_truth, 0, n);
	tcase_add_loop_test(tc, test_info_matches_truth, 0, n);
	suite_add_tcase(s, tc);
	return s;
}
