/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka against real processes, under every test interpreter: the
 * six-thread fixture writes its own sys._current_frames() truth, and
 * dump (JSON and text), dump --locals and info must agree with it.  The
 * target must never be left stopped or traced.
 */
#include <dirent.h>
#include <stdbool.h>
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

/* 3.14+: info reports PEP 768 remote debugging switched off by the user. */
static int pep768_idx[64];
static int npep768;

START_TEST(test_info_remote_debug_disabled)
{
	const struct tu_interp *all, *in;
	char *argv[] = { NULL, "-c",
			 "import sys, time; print('READY'); sys.stdout.flush(); "
			 "time.sleep(60)", NULL };
	char cmd[PATH_MAX], *out, *err;
	struct tu_child c;
	int rc;

	tu_interps(&all);
	in = &all[pep768_idx[_i]];
	argv[0] = (char *)in->launcher;
	setenv("PYTHON_DISABLE_REMOTE_DEBUG", "1", 1);
	rc = tu_spawn_ready(&c, argv, 60);
	unsetenv("PYTHON_DISABLE_REMOTE_DEBUG");
	ck_assert_int_eq(rc, 0);
	snprintf(cmd, sizeof(cmd), "%s info --json --pid %d", tu_peeka(), c.pid);
	rc = tu_run(cmd, 60, &out, &err);
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_msg(strstr(out, "\"remote_debug\":false"), "%s", out);
	free(out);
	free(err);
	snprintf(cmd, sizeof(cmd), "%s info --pid %d", tu_peeka(), c.pid);
	rc = tu_run(cmd, 60, &out, &err);
	ck_assert_msg(strstr(out, "remote debugging:  disabled"), "%s", out);
	free(out);
	free(err);
	tu_child_kill(&c);
}
END_TEST

/* Interpreters whose launcher is an ELF file can be copied into a tmpfs. */
static int container_idx[64];
static int ncontainer;

static bool is_elf(const char *path)
{
	char magic[4] = { 0 };
	FILE *f = fopen(path, "rb");
	bool elf;

	if (!f)
		return false;
	elf = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "\x7f" "ELF", 4);
	fclose(f);
	return elf;
}

/* The first child of @pid (the process unshare --fork started). */
static int first_child(int pid)
{
	char path[64];
	int child = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &child) != 1)
			child = 0;
		fclose(f);
	}
	return child;
}

/*
 * The fixture in new PID and mount namespaces, its interpreter binary (or
 * libpython) in a tmpfs only that mount namespace sees: peeka must open it
 * through /proc/PID/root and translate the inner thread ids.
 */
START_TEST(test_dump_in_container)
{
	const struct tu_interp *all, *in;
	char mnt[96], truth[96], out[PATH_MAX + 16], cmd[3 * PATH_MAX];
	char *argv[7], *err, *cout;
	struct tu_child c;
	int rc, target = 0;

	tu_interps(&all);
	in = &all[container_idx[_i]];
	snprintf(mnt, sizeof(mnt), "/tmp/peeka-ns-%d-%d", getpid(), _i);
	snprintf(truth, sizeof(truth), "/tmp/peeka-ns-truth-%d-%d.json",
		 getpid(), _i);
	setenv("PEEKA_NS_MNT", mnt, 1);
	argv[0] = (char *)"tests/integration/in_container.sh";
	argv[1] = (char *)in->launcher;
	argv[2] = (char *)in->kind;
	argv[3] = (char *)"fixtures/threads_fixture.py";
	argv[4] = truth;
	argv[5] = NULL;
	ck_assert_msg(tu_spawn_ready(&c, argv, 60) == 0, "%s: no READY",
		      in->label);
	/* unshare -> the namespace's init (a shell) -> Python */
	for (int i = 0; i < 200 && !target; i++) {
		target = first_child(first_child(c.pid));
		if (!target)
			usleep(10000);
	}
	ck_assert_int_gt(target, 0);
	snprintf(out, sizeof(out), "%s/dump.json", c.dir);
	/* 3: only the spinning thread was caught waiting for the GIL: dump
	 * again (at most 5 times) rather than accept it. */
	for (int attempt = 0; attempt < 5; attempt++) {
		snprintf(cmd, sizeof(cmd), "%s dump --json --pid %d > '%s'",
			 tu_peeka(), target, out);
		rc = tu_run(cmd, 60, NULL, &err);
		ck_assert_msg(rc == 0 && !err[0], "%s: %d %s", in->label, rc, err);
		free(err);
		snprintf(cmd, sizeof(cmd),
			 "'%s' tests/integration/compare_dump.py '%s' '%s' --pid-ns %d",
			 in->launcher, truth, out, target);
		rc = tu_run(cmd, 60, &cout, &err);
		ck_assert_msg(rc == 0 || rc == 3, "%s: %s%s", in->label, cout, err);
		free(cout);
		free(err);
		if (rc == 0)
			break;
	}
	ck_assert_msg(rc == 0, "%s: the busy thread was never seen active",
		      in->label);
	tu_child_kill(&c);
	unlink(truth);
	rmdir(mnt);
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
	for (int i = 0; i < n && npep768 < 64; i++)
		if (strcmp(all[i].minor, "3.14") >= 0 && strlen(all[i].minor) == 4)
			pep768_idx[npep768++] = i;
	tcase_add_loop_test(tc, test_info_remote_debug_disabled, 0, npep768);
	suite_add_tcase(s, tc);
	tc = tcase_create("container");
	tcase_set_tags(tc, "integration");
	tcase_set_timeout(tc, 240);
	for (int i = 0; i < n && geteuid() == 0; i++)
		if (is_elf(all[i].launcher) && ncontainer < 64)
			container_idx[ncontainer++] = i;
	if (n && !ncontainer)
		printf("container tests not run: they need root (unshare)\n");
	tcase_add_loop_test(tc, test_dump_in_container, 0, ncontainer);
	suite_add_tcase(s, tc);
	return s;
}
