/* SPDX-License-Identifier: Apache-2.0 */
/* rec_clock: absolute deadlines; overruns skip deadlines, never bunch. */
#include <time.h>

#include "rec_clock.h"
#include "tests.h"

static void busy_for_ns(uint64_t ns)
{
	uint64_t end = rec_clock__now() + ns;

	while (rec_clock__now() < end)
		;
}

START_TEST(test_overrun_skips)
{
	struct rec_clock c;
	uint64_t woke, after;

	rec_clock__start(&c, 1000.0);
	ck_assert_int_eq(rec_clock__wait(&c), 0);
	woke = c.next_ns;
	/* A sample that takes 3.5 periods makes the clock skip the deadlines
	 * it missed (3, more on a loaded machine) and wake at the next one,
	 * once, instead of firing for each missed deadline. */
	busy_for_ns(3500000);
	after = rec_clock__now();
	ck_assert_int_eq(rec_clock__wait(&c), 0);
	ck_assert_uint_ge(c.skipped, (after - woke) / c.period_ns);
	ck_assert_uint_ge(c.skipped, 3);
	ck_assert_uint_gt(c.next_ns, after);
	ck_assert_uint_ge(rec_clock__now(), c.next_ns);
	ck_assert_uint_eq(c.ticks, 2);
}
END_TEST

START_TEST(test_deadlines_are_absolute)
{
	struct rec_clock c;

	rec_clock__start(&c, 500.0);
	for (int i = 0; i < 20; i++) {
		busy_for_ns(200000);  /* less than a period: nothing skipped */
		ck_assert_int_eq(rec_clock__wait(&c), 0);
	}
	/* Deadlines kept plus deadlines skipped account for every period
	 * since the start: nothing is lost, nothing bunched. */
	ck_assert_uint_eq((c.next_ns - c.start_ns) / c.period_ns,
			  c.ticks + c.skipped);
}
END_TEST

Suite *rec_clock_suite(void)
{
	Suite *s = suite_create("rec_clock");
	TCase *tc = tcase_create("deadlines");

	tcase_add_test(tc, test_overrun_skips);
	tcase_add_test(tc, test_deadlines_are_absolute);
	suite_add_tcase(s, tc);
	return s;
}
