/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fixed-rate clock with absolute deadlines (CLOCK_MONOTONIC,
 * TIMER_ABSTIME): sleeping never accumulates drift, and a sample that
 * overruns makes the clock skip the deadlines it missed (counted) instead
 * of bunching samples to catch up.
 */
#ifndef PEEKA_REC_CLOCK_H
#define PEEKA_REC_CLOCK_H

#include <stdint.h>

struct rec_clock {
	uint64_t period_ns;
	uint64_t start_ns;
	uint64_t next_ns;    /* the next deadline */
	uint64_t ticks;      /* deadlines kept */
	uint64_t skipped;    /* deadlines missed and skipped */
};

/* The current CLOCK_MONOTONIC time in nanoseconds. */
uint64_t rec_clock__now(void);

/* Start at @hz (> 0); the first deadline is now. */
void rec_clock__start(struct rec_clock *c, double hz);

/*
 * Sleep until the next deadline not yet in the past.  Returns 0, or
 * -EINTR when a signal interrupted the sleep (call again to resume).
 */
int rec_clock__wait(struct rec_clock *c);

/* Seconds since start. */
double rec_clock__elapsed(const struct rec_clock *c);

#endif
