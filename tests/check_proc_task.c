/* SPDX-License-Identifier: Apache-2.0 */
/* proc_task: stat parsing after the last ')' and live thread facts. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "proc_task.h"
#include "tests.h"

static const struct {
	const char *line;
	char state;
} stat_cases[] = {
	{ "1234 (python3) S 1 2 3", 'S' },
	{ "19611 (w) R (x) S 1 19611", 'S' },
	{ "7 (a)b)c) R 1", 'R' },
	{ "8 ((sd-pam)) D 1", 'D' },
	{ "9 (noclose S 1", '?' },
	{ "10 (x)", '?' },
};

START_TEST(test_parse_state_cases)
{
	ck_assert_int_eq(proc_task__parse_state(stat_cases[_i].line),
			 stat_cases[_i].state);
}
END_TEST

static void *sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

START_TEST(test_list_and_states_of_self)
{
	pthread_t th;
	int tids[64], n;
	char comm[64];

	ck_assert_int_eq(pthread_create(&th, NULL, sleeper, NULL), 0);
	usleep(20000);
	n = proc_task__list(getpid(), tids, 64);
	ck_assert_int_ge(n, 2);
	ck_assert_int_eq(tids[0], getpid());
	ck_assert(proc_task__exists(getpid(), tids[1]));
	ck_assert_int_eq(proc_task__state(getpid(), getpid()), 'R');
	ck_assert_int_eq(proc_task__state(getpid(), tids[n - 1]), 'S');
	ck_assert_int_eq(proc_task__comm(getpid(), getpid(), comm, sizeof(comm)), 0);
	ck_assert_int_gt(strlen(comm), 0);
	ck_assert_int_eq(proc_task__check_access(getpid()), 0);
	ck_assert(!proc_task__is_dead(getpid()));
}
END_TEST

START_TEST(test_missing_process)
{
	int tids[4];

	ck_assert_int_eq(proc_task__list(0x7ffffff0, tids, 4), -ESRCH);
	ck_assert_int_eq(proc_task__check_access(0x7ffffff0), -ESRCH);
	ck_assert(proc_task__is_dead(0x7ffffff0));
}
END_TEST

Suite *proc_task_suite(void)
{
	Suite *s = suite_create("proc_task");
	TCase *tc = tcase_create("stat");

	tcase_add_loop_test(tc, test_parse_state_cases, 0,
			    sizeof(stat_cases) / sizeof(stat_cases[0]));
	tcase_add_test(tc, test_list_and_states_of_self);
	tcase_add_test(tc, test_missing_process);
	suite_add_tcase(s, tc);
	return s;
}
