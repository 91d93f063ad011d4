/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proc_replay through proc_mem, on the test process itself: what a round
 * logs, what the next round fetches and serves (the memory as it was at
 * the round's start), what goes live, and ranges that became unreadable.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc_mem.h"
#include "proc_replay.h"
#include "tests.h"

static struct proc_mem pm;
static struct proc_replay *rp;

/* Words in pages of their own; pages n and n + 2 never merge into one range. */
static volatile uint64_t pages[8][512] __attribute__((aligned(4096)));

static void setup(void)
{
	proc_mem__init(&pm, getpid());
	rp = proc_replay__new();
	ck_assert_ptr_nonnull(rp);
	pm.replay = rp;
}

static void teardown(void)
{
	proc_replay__free(rp);
	proc_mem__release(&pm);
}

static uint64_t addr_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static uint64_t read_u64(const volatile uint64_t *p)
{
	uint64_t v = 0;

	ck_assert_int_eq(proc_mem__read_u64(&pm, addr_of((const void *)p), &v),
			 0);
	return v;
}

START_TEST(test_second_round_serves_the_memory_of_its_start)
{
	volatile uint64_t *a = pages[0], *b = pages[2];
	const struct proc_replay_stats *st = proc_replay__stats(rp);

	for (int i = 0; i < 4; i++)
		a[i] = (uint64_t)i + 1;
	*b = 10;

	proc_replay__begin(rp, getpid());
	ck_assert_uint_eq(read_u64(&a[1]), 2);
	ck_assert_uint_eq(read_u64(b), 10);
	proc_replay__end(rp);
	ck_assert_uint_eq(st->hits, 0);

	proc_replay__begin(rp, getpid());
	ck_assert_uint_eq(st->fetched, 2);
	a[1] = 20;
	*b = 100;
	/* The fetch happened before the stores: the copy is served. */
	ck_assert_uint_eq(read_u64(&a[1]), 2);
	ck_assert_uint_eq(read_u64(b), 10);
	ck_assert_uint_eq(st->hits, 2);
	/* Not read last round: live. */
	ck_assert_uint_eq(read_u64(&a[3]), 4);
	ck_assert_uint_eq(st->misses, 1);
	/* Fresh reads after an invalidation. */
	proc_replay__invalidate(rp);
	ck_assert_uint_eq(read_u64(&a[1]), 20);
	proc_replay__end(rp);
	/* Outside a round every read is live. */
	a[1] = 21;
	ck_assert_uint_eq(read_u64(&a[1]), 21);
}
END_TEST

START_TEST(test_contiguous_reads_are_one_range)
{
	volatile uint64_t *a = pages[2];
	const struct proc_replay_stats *st = proc_replay__stats(rp);

	for (int i = 0; i < 64; i++)
		a[i] = (uint64_t)i * 3;
	proc_replay__begin(rp, getpid());
	for (int i = 0; i < 64; i++)
		read_u64(&a[i]);
	read_u64(&a[5]);          /* again: no new range */
	proc_replay__end(rp);
	proc_replay__begin(rp, getpid());
	ck_assert_uint_eq(st->fetched, 1);
	for (int i = 63; i >= 0; i--)
		ck_assert_uint_eq(read_u64(&a[i]), (uint64_t)i * 3);
	ck_assert_uint_eq(st->hits, 64);
	proc_replay__end(rp);
}
END_TEST

START_TEST(test_unreadable_range_is_skipped)
{
	volatile uint64_t *before = pages[3], *after = pages[4];
	const struct proc_replay_stats *st = proc_replay__stats(rp);
	long page = sysconf(_SC_PAGESIZE);
	uint64_t *m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(m, MAP_FAILED);
	m[0] = 42;
	*before = 7;
	*after = 8;
	proc_replay__begin(rp, getpid());
	read_u64(before);
	ck_assert_uint_eq(read_u64(m), 42);
	read_u64(after);
	proc_replay__end(rp);
	munmap(m, (size_t)page);

	proc_replay__begin(rp, getpid());
	ck_assert_uint_eq(st->fetched, 3);
	ck_assert_uint_eq(st->failed, 1);
	ck_assert_uint_eq(read_u64(before), 7);
	ck_assert_uint_eq(read_u64(after), 8);
	ck_assert_uint_eq(st->hits, 2);
	{
		uint64_t v;

		ck_assert_int_eq(proc_mem__read_u64(&pm, addr_of(m), &v),
				 -EFAULT);
	}
	proc_replay__end(rp);
}
END_TEST

START_TEST(test_read_each_mixes_served_live_and_unreadable)
{
	volatile uint64_t *x = pages[0], *y = pages[1], *z = pages[2];
	long page = sysconf(_SC_PAGESIZE);
	void *hole = mmap(NULL, (size_t)page, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t got[4] = { 0 }, addr[4];
	struct iovec local[4];
	bool ok[4];

	ck_assert_ptr_ne(hole, MAP_FAILED);
	*x = 1;
	*y = 2;
	*z = 3;
	addr[0] = addr_of((const void *)x);
	addr[1] = addr_of(hole);
	addr[2] = addr_of((const void *)y);
	addr[3] = addr_of((const void *)z);
	for (int i = 0; i < 4; i++)
		local[i] = (struct iovec){ &got[i], 8 };
	proc_replay__begin(rp, getpid());
	read_u64(x);                /* logged: served next round */
	proc_replay__end(rp);
	proc_replay__begin(rp, getpid());
	*x = 100;
	ck_assert_int_eq(proc_mem__read_each(&pm, local, addr, 4, ok), 0);
	ck_assert(ok[0] && !ok[1] && ok[2] && ok[3]);
	ck_assert_uint_eq(got[0], 1);    /* the fetched copy */
	ck_assert_uint_eq(got[2], 2);
	ck_assert_uint_eq(got[3], 3);
	ck_assert_uint_eq(proc_replay__stats(rp)->hits, 1);
	proc_replay__end(rp);
	munmap(hole, (size_t)page);
}
END_TEST

START_TEST(test_gone_process)
{
	volatile uint64_t *v = pages[5];
	pid_t child = fork();
	int status;

	ck_assert_int_ge(child, 0);
	if (!child)
		_exit(0);
	waitpid(child, &status, 0);
	*v = 5;
	proc_replay__begin(rp, getpid());
	read_u64(v);
	proc_replay__end(rp);
	ck_assert_int_eq(proc_replay__begin(rp, child), -ESRCH);
	/* Nothing is served after a failed fetch. */
	*v = 6;
	ck_assert_uint_eq(read_u64(v), 6);
	proc_replay__end(rp);
}
END_TEST

/* After the first read the copy cannot serve, the round reads live. */
START_TEST(test_first_miss_ends_serving)
{
	volatile uint64_t *a = pages[0], *b = pages[1], *c = pages[2];
	const struct proc_replay_stats *st = proc_replay__stats(rp);

	*a = 1;
	*b = 2;
	*c = 3;
	proc_replay__begin(rp, getpid());
	read_u64(a);
	read_u64(b);
	proc_replay__end(rp);
	proc_replay__begin(rp, getpid());
	*a = 10;
	*b = 20;
	ck_assert_uint_eq(read_u64(a), 1);    /* served */
	ck_assert_uint_eq(read_u64(c), 3);    /* a miss */
	ck_assert_uint_eq(read_u64(b), 20);   /* fetched, but after a miss */
	ck_assert_uint_eq(st->hits, 1);
	proc_replay__end(rp);
}
END_TEST

/*
 * Ranges grow only forwards: reads going down a page stay separate
 * ranges (copied in the order they were read), reads going up merge.
 */
START_TEST(test_ranges_grow_forwards_only)
{
	volatile uint64_t *p = pages[6];
	const struct proc_replay_stats *st = proc_replay__stats(rp);

	proc_replay__begin(rp, getpid());
	for (int i = 7; i >= 0; i--)
		read_u64(&p[i * 8]);
	proc_replay__end(rp);
	proc_replay__begin(rp, getpid());
	ck_assert_uint_eq(st->fetched, 8);
	for (int i = 0; i < 8; i++)
		read_u64(&p[i * 8]);
	proc_replay__end(rp);
	proc_replay__begin(rp, getpid());
	ck_assert_uint_eq(st->fetched, 8 + 1);
	proc_replay__end(rp);
}
END_TEST

/* Many distinct reads in one round: bounded work, no endless probe. */
START_TEST(test_many_reads_in_one_round)
{
	static volatile unsigned char big[64 * 4096]
		__attribute__((aligned(4096)));
	const struct proc_replay_stats *st = proc_replay__stats(rp);
	unsigned char b;

	for (int round = 0; round < 3; round++) {
		proc_replay__begin(rp, getpid());
		for (size_t i = 0; i < sizeof(big); i += 16)
			ck_assert_int_eq(proc_mem__read(&pm, addr_of((const void *)&big[i]),
							&b, 1), 0);
		proc_replay__end(rp);
	}
	/* 16384 reads going up merge into one range, served whole. */
	ck_assert_uint_eq(st->fetched, 2);
	ck_assert_uint_eq(st->hits, 2 * sizeof(big) / 16);
}
END_TEST

Suite *proc_replay_suite(void)
{
	Suite *s = suite_create("proc_replay");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_second_round_serves_the_memory_of_its_start);
	tcase_add_test(tc, test_contiguous_reads_are_one_range);
	tcase_add_test(tc, test_unreadable_range_is_skipped);
	tcase_add_test(tc, test_read_each_mixes_served_live_and_unreadable);
	tcase_add_test(tc, test_gone_process);
	tcase_add_test(tc, test_first_miss_ends_serving);
	tcase_add_test(tc, test_ranges_grow_forwards_only);
	tcase_add_test(tc, test_many_reads_in_one_round);
	suite_add_tcase(s, tc);
	return s;
}
