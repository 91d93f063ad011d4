/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cost of waking up alone: a loop that sleeps to absolute deadlines at
 * RATE Hz for SECONDS and does nothing else, with the timer slack peeka
 * sets (1 ns).  bench/record.sh measures its CPU use the way it measures
 * peeka's, so the difference is what sampling itself costs.
 *
 * Usage: clock_floor RATE SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec t;
	double rate, seconds;
	long period, n;

	if (argc != 3 || (rate = atof(argv[1])) <= 0 ||
	    (seconds = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: clock_floor RATE SECONDS\n");
		return 2;
	}
	period = (long)(1e9 / rate);
	n = (long)(seconds * rate);
	prctl(PR_SET_TIMERSLACK, 1UL);
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (long i = 0; i < n; i++) {
		t.tv_nsec += period;
		while (t.tv_nsec >= 1000000000L) {
			t.tv_nsec -= 1000000000L;
			t.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
	}
	return 0;
}
