/* SPDX-License-Identifier: Apache-2.0 */
/* Stop requests for the live views. */
#include "live.h"

#include <errno.h>
#include <string.h>
#include <time.h>

volatile sig_atomic_t live_stop;

static void on_signal(int sig)
{
	live_stop = sig;
}

void live_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int live_sleep(double seconds)
{
	struct timespec ts, rem;

	if (seconds <= 0)
		return live_stop ? -1 : 0;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (!live_stop && nanosleep(&ts, &rem) && errno == EINTR)
		ts = rem;
	return live_stop ? -1 : 0;
}
