/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recordings (.peeka) of real processes under every test interpreter,
 * rendered by `peeka report` with its filters; a recording whose peeka
 * was killed with SIGKILL; and report's bad input.  Outputs are checked
 * by tests/integration/check_record.py.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
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

static void check(const char *fmt, const char *dir, const char *rest)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "python3 tests/integration/check_record.py %s %s/%s",
		 fmt, dir, rest);
	free(run(cmd, 0));
}

/* check_timeline.py MODE DIR/FILE [SCHEMA] ARGS, under Debian's python3. */
static void timeline(const char *mode, const char *dir, const char *file,
		     const char *args, bool schema)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 tests/integration/check_timeline.py %s %s/%s %s %s",
		 mode, dir, file,
		 schema ? "\"$(tests/integration/speedscope_schema.sh)\"" : "", args);
	free(run(cmd, 0));
}

/* The real speedscope app imports DIR/FILE (its title then has @want). */
static void speedscope_loads(const char *dir, const char *file, const char *want)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "python3 tests/integration/speedscope_load.py "
		 "\"$(dirname \"$(tests/integration/speedscope_schema.sh)\")\" %s/%s '%s'",
		 dir, file, want);
	free(run(cmd, 0));
}

static void report(const char *dir, const char *flags, const char *out)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "%s report %s/r.peeka %s -o %s/%s",
		 tu_peeka(), dir, flags, dir, out);
	free(run(cmd, 0));
}

static void spawn_fixture(const struct tu_interp *in, struct tu_child *c)
{
	char *argv[] = { (char *)in->launcher, "fixtures/threads_fixture.py",
			 "/dev/null", NULL };

	ck_assert_int_eq(tu_spawn_ready(c, argv, 60), 0);
}

/* Record once, raw; render with each filter. */
START_TEST(test_record_raw_then_report)
{
	const struct tu_interp *in = interp(_i);
	char cmd[4096], *err;
	struct tu_child c;

	spawn_fixture(in, &c);
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 1 --rate 200 -o %s/r.peeka",
		 tu_peeka(), c.pid, c.dir);
	err = run(cmd, 0);
	ck_assert_msg(strstr(err, "wrote "), "%s", err);
	free(err);
	tu_record_exercised(in);

	report(c.dir, "", "p.txt");
	check("collapsed", c.dir, "p.txt");
	check("contains", c.dir, "p.txt 'busy_spin \\((fixtures/)?threads_fixture.py:'");
	check("lacks", c.dir, "p.txt sleep_forever wait_for_event");
	/* ~200 samples of the busy thread in 1 s (a generous band). */
	check("total", c.dir, "p.txt 120 260");
	report(c.dir, "--idle --threads", "t.txt");
	check("contains", c.dir,
	      "t.txt '^thread [0-9]+ \"sleeper\";.*sleep_forever' "
	      "'^thread [0-9]+ \"busy\";.*busy_spin' '^thread [0-9]+ \"MainThread\";'");
	report(c.dir, "--idle --thread sleeper", "s.txt");
	check("contains", c.dir, "s.txt sleep_forever");
	check("lacks", c.dir, "s.txt busy_spin");
	report(c.dir, "--gil --idle", "g.txt");
	check("lacks", c.dir, "g.txt sleep_forever wait_for_event");
	report(c.dir, "--function --since 0.5", "f.txt");
	check("total", c.dir, "f.txt 50 140");
	report(c.dir, "--nolineno --idle", "n.txt");
	check("allframes", c.dir, "n.txt '^[^:]*\\([^:]*\\)$|^[^(]*$'");
	report(c.dir, "--idle --full-filenames", "x.svg");
	check("svg", c.dir, "x.svg");
	report(c.dir, "", "x.speedscope.json");
	timeline("speedscope", c.dir, "x.speedscope.json", "busy busy_spin", true);
	report(c.dir, "--idle", "x.json");
	timeline("chrome", c.dir, "x.json", "busy busy_spin", false);
	report(c.dir, "", "x.pb.gz");
	timeline("pprof", c.dir, "x.pb.gz", "busy_spin", false);
	/* A window with nothing in it. */
	snprintf(cmd, sizeof(cmd), "%s report %s/r.peeka --since 100 -o %s/e.txt",
		 tu_peeka(), c.dir, c.dir);
	err = run(cmd, 1);
	ck_assert_int_eq(tu_count_prefix(err, "error: "), 1);
	ck_assert_ptr_nonnull(strstr(err, "no samples"));
	free(err);
	tu_child_kill(&c);
}
END_TEST

/*
 * peeka record --pid @target --rate 200 [@flag] -o @path, killed with
 * SIGKILL after @us microseconds.
 */
static void record_killed(int target, const char *path, const char *flag,
			  useconds_t us)
{
	int status;
	pid_t p = fork();

	ck_assert_int_ge(p, 0);
	if (!p) {
		char pid[16];
		int null = open("/dev/null", O_WRONLY);

		snprintf(pid, sizeof(pid), "%d", target);
		dup2(null, 2);
		if (flag)
			execl(tu_peeka(), "peeka", "record", "--pid", pid, "--rate",
			      "200", flag, "-o", path, (char *)NULL);
		else
			execl(tu_peeka(), "peeka", "record", "--pid", pid, "--rate",
			      "200", "-o", path, (char *)NULL);
		_exit(127);
	}
	usleep(us);
	kill(p, SIGKILL);
	waitpid(p, &status, 0);
	ck_assert(WIFSIGNALED(status));
}

/* SIGKILL mid-recording: all but the last second is there. */
START_TEST(test_killed_recording_renders)
{
	const struct tu_interp *in = interp(0);
	char path[PATH_MAX + 32], cmd[4096], *err;
	struct tu_child c;

	spawn_fixture(in, &c);
	snprintf(path, sizeof(path), "%s/r.peeka", c.dir);
	/* Start-up takes well under 0.5 s; 3.5 s of sampling follow. */
	record_killed(c.pid, path, NULL, 4000000);
	snprintf(cmd, sizeof(cmd), "%s report %s --idle --thread busy -o %s/k.txt",
		 tu_peeka(), path, c.dir);
	err = run(cmd, 0);
	ck_assert_msg(strstr(err, "warning: ") &&
		      (strstr(err, "cut short") || strstr(err, "truncated")),
		      "%s", err);
	free(err);
	/* >= 2.5 s of the 3.5 s at 200 Hz: at most the last second lost
	 * (plus start-up slack); never more than 4 s worth. */
	check("total", c.dir, "k.txt 500 800");
	tu_child_kill(&c);
}
END_TEST

/* record writes speedscope and Chrome traces itself; a killed trace loads. */
START_TEST(test_record_timeline_formats)
{
	const struct tu_interp *in = interp(_i);
	char cmd[4096], path[PATH_MAX + 32];
	struct tu_child c;

	spawn_fixture(in, &c);
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 0.7 --rate 200 -o %s/l.speedscope.json",
		 tu_peeka(), c.pid, c.dir);
	free(run(cmd, 0));
	timeline("speedscope", c.dir, "l.speedscope.json", "busy busy_spin", true);
	speedscope_loads(c.dir, "l.speedscope.json", "threads_fixture.py");
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 0.7 --rate 200 --idle --format chrometrace -o %s/l.trace",
		 tu_peeka(), c.pid, c.dir);
	free(run(cmd, 0));
	timeline("chrome", c.dir, "l.trace", "busy busy_spin", false);
	speedscope_loads(c.dir, "l.trace", "profile - speedscope");
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 0.7 --rate 200 --format pprof -o %s/l.prof",
		 tu_peeka(), c.pid, c.dir);
	free(run(cmd, 0));
	timeline("pprof", c.dir, "l.prof", "busy_spin", false);
	/* Killed after a few flushes: whole events, an open array. */
	snprintf(path, sizeof(path), "%s/k.json", c.dir);
	record_killed(c.pid, path, "--idle", 2500000);
	timeline("chrome", c.dir, "k.json", "busy busy_spin --cut", false);
	speedscope_loads(c.dir, "k.json", "profile - speedscope");
	tu_child_kill(&c);
}
END_TEST

static void bad(const char *args, int want, const char *needle)
{
	char cmd[4096], *err;

	snprintf(cmd, sizeof(cmd), "%s report %s", tu_peeka(), args);
	err = run(cmd, want);
	ck_assert_msg(tu_count_prefix(err, "error: ") == 1, "%s", err);
	ck_assert_msg(strstr(err, needle), "'%s' not in: %s", needle, err);
	free(err);
}

START_TEST(test_report_bad_input)
{
	const struct tu_interp *in = interp(0);
	char dir[] = "/tmp/peeka-rep-XXXXXX", cmd[4096], args[4096];
	struct tu_child c;
	unsigned char newer[20] = { 0x50, 0x2a, 0x4d, 0x18, 12, 0, 0, 0,
				    'P', 'E', 'E', 'K', 'A', 'R', 'E', 'C', 9, 0, 0, 0 };
	unsigned char head[8];
	size_t hsize;
	char *err;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	spawn_fixture(in, &c);
	snprintf(cmd, sizeof(cmd), "%s record --pid %d --duration 0.5 -o %s/r.peeka",
		 tu_peeka(), c.pid, dir);
	free(run(cmd, 0));
	tu_child_kill(&c);

	snprintf(args, sizeof(args), "%s/r.peeka -o /nonexistent/dir/x.svg", dir);
	bad(args, 1, "cannot write '/nonexistent/dir/x.svg'");
	bad("/etc/hostname", 1, "no peeka recording header");
	snprintf(cmd, sizeof(cmd), "%s/empty.peeka", dir);
	tu_write_file(cmd, "");
	snprintf(args, sizeof(args), "%s/empty.peeka", dir);
	bad(args, 1, "the file is empty");
	snprintf(cmd, sizeof(cmd), "%s/new.peeka", dir);
	f = fopen(cmd, "wb");
	fwrite(newer, 1, sizeof(newer), f);
	fclose(f);
	snprintf(args, sizeof(args), "%s/new.peeka", dir);
	bad(args, 1, "format version 9");
	/* Cut right after the header: a warning, and nothing to render. */
	snprintf(cmd, sizeof(cmd), "%s/r.peeka", dir);
	f = fopen(cmd, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(head, 1, sizeof(head), f), sizeof(head));
	fclose(f);
	hsize = 8 + ((size_t)head[4] | (size_t)head[5] << 8 | (size_t)head[6] << 16);
	snprintf(cmd, sizeof(cmd), "head -c %zu %s/r.peeka > %s/cut.peeka", hsize,
		 dir, dir);
	free(run(cmd, 0));
	snprintf(args, sizeof(args), "%s/cut.peeka --idle -o %s/cut.txt", dir, dir);
	bad(args, 1, "no samples");
	snprintf(cmd, sizeof(cmd), "%s report %s/cut.peeka --idle -o %s/cut.txt",
		 tu_peeka(), dir, dir);
	err = run(cmd, 1);
	ck_assert_msg(strstr(err, "warning: ") && strstr(err, "no data"), "%s", err);
	free(err);
	bad("/nonexistent.peeka", 1, "No such file");
	bad("", 2, "missing FILE");
	snprintf(args, sizeof(args), "%s/r.peeka --since x", dir);
	bad(args, 2, "invalid time");
	snprintf(args, sizeof(args), "%s/r.peeka --format raw", dir);
	bad(args, 2, "any format but raw");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	free(run(cmd, 0));
}
END_TEST

Suite *report_suite(void)
{
	const struct tu_interp *all;
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");
	int n = getenv("PEEKA_SANITIZED") ? 0 : (int)tu_interps(&all);

	tcase_set_tags(tc, "integration");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_record_raw_then_report, 0, n);
	tcase_add_loop_test(tc, test_record_timeline_formats, 0, n ? 1 : 0);
	if (n) {
		tcase_add_test(tc, test_killed_recording_renders);
		tcase_add_test(tc, test_report_bad_input);
	}
	suite_add_tcase(s, tc);
	return s;
}
