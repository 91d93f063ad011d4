/* SPDX-License-Identifier: Apache-2.0 */
/* proc_task: stat parsing after the last ')' and live thread facts. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "proc_task.h"
#include "sys_names.h"
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

START_TEST(test_parse_syscall)
{
	struct proc_syscall sc;

	ck_assert_int_eq(proc_task__parse_syscall("running\n", &sc), 0);
	ck_assert_int_eq(sc.state, PROC_SC_RUNNING);
	ck_assert_int_eq(proc_task__parse_syscall("-1 0x7ffc1 0x7f2\n", &sc), 0);
	ck_assert_int_eq(sc.state, PROC_SC_BLOCKED);
	ck_assert_int_eq(proc_task__parse_syscall(
		"202 0x55d0c0de1234 0x189 0x0 0x0 0x0 0xffffffff 0x7ffc 0x7f00\n",
		&sc), 0);
	ck_assert_int_eq(sc.state, PROC_SC_IN);
	ck_assert_int_eq(sc.nr, 202);
	ck_assert_uint_eq(sc.args[0], 0x55d0c0de1234ULL);
	ck_assert_uint_eq(sc.args[5], 0xffffffffULL);
	ck_assert_int_eq(proc_task__parse_syscall("", &sc), -EINVAL);
	ck_assert_int_eq(proc_task__parse_syscall("x1", &sc), -EINVAL);
	ck_assert_int_eq(proc_task__parse_syscall("7 0x1 0x2", &sc), -EINVAL);
}
END_TEST

START_TEST(test_parse_cpu)
{
	unsigned long long t = 0;

	ck_assert_int_eq(proc_task__parse_cpu(
		"24465 (sl) ep) S 1 24461 23674 0 -1 4194304 136 0 1 0 17 25 0 0 20",
		&t), 0);
	ck_assert_uint_eq(t, 42);
	ck_assert_int_eq(proc_task__parse_cpu("1 (x) S 1 2 3", &t), -EINVAL);
	ck_assert_int_eq(proc_task__parse_cpu("no paren", &t), -EINVAL);
}
END_TEST

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;

static void *locker(void *arg)
{
	*(int *)arg = (int)gettid();
	pthread_mutex_lock(&held);
	pthread_mutex_unlock(&held);
	return NULL;
}

/* A thread blocked on a mutex we hold sits in futex() on the mutex. */
START_TEST(test_syscall_of_blocked_thread)
{
	struct proc_syscall sc = { 0 };
	pthread_t th;
	int tid = 0;

	pthread_mutex_lock(&held);
	ck_assert_int_eq(pthread_create(&th, NULL, locker, &tid), 0);
	for (int i = 0; i < 200; i++) {
		usleep(5000);
		if (tid && !proc_task__syscall(getpid(), tid, &sc) &&
		    sc.state == PROC_SC_IN)
			break;
	}
	ck_assert_int_eq(sc.state, PROC_SC_IN);
	ck_assert_str_eq(sys_names__get(sc.nr), "futex");
	ck_assert_uint_eq(sc.args[0], (unsigned long long)(uintptr_t)&held);
	pthread_mutex_unlock(&held);
	pthread_join(th, NULL);
}
END_TEST

START_TEST(test_sys_names)
{
	ck_assert_str_eq(sys_names__get(0), "read");
	ck_assert_str_eq(sys_names__get(45), "recvfrom");
	ck_assert_str_eq(sys_names__get(230), "clock_nanosleep");
	ck_assert_ptr_null(sys_names__get(-1));
	ck_assert_ptr_null(sys_names__get(100000));
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
	tcase_add_test(tc, test_parse_syscall);
	tcase_add_test(tc, test_parse_cpu);
	tcase_add_test(tc, test_syscall_of_blocked_thread);
	tcase_add_test(tc, test_sys_names);
	suite_add_tcase(s, tc);
	return s;
}
