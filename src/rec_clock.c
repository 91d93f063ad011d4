/* SPDX-License-Identifier: Apache-2.0 */
/* Absolute-deadline sleeping for the sampler. */
#include "rec_clock.h"

#include <errno.h>
#include <sys/prctl.h>
#include <time.h>

uint64_t rec_clock__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void rec_clock__start(struct rec_clock *c, double hz)
{
	/* The default 50 us of timer slack would make every wake-up late. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	c->period_ns = (uint64_t)(1e9 / hz);
	if (!c->period_ns)
		c->period_ns = 1;
	c->start_ns = rec_clock__now();
	c->next_ns = c->start_ns;
	c->ticks = 0;
	c->skipped = 0;
}

int rec_clock__wait(struct rec_clock *c)
{
	uint64_t now = rec_clock__now();
	struct timespec ts;
	int ret;

	/* The deadline just served is behind us: move to the next one, and
	 * past any that an overrunning sample already missed. */
	if (c->next_ns <= now) {
		uint64_t late = now - c->next_ns;
		uint64_t missed = late / c->period_ns;

		c->skipped += missed;
		c->next_ns += (missed + 1) * c->period_ns;
	}
	ts.tv_sec = (time_t)(c->next_ns / 1000000000ULL);
	ts.tv_nsec = (long)(c->next_ns % 1000000000ULL);
	ret = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	if (ret == EINTR)
		return -EINTR;
	c->ticks++;
	return 0;
}

double rec_clock__elapsed(const struct rec_clock *c)
{
	return (double)(rec_clock__now() - c->start_ns) / 1e9;
}
