/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the live views (top, threads --watch, gil) share: SIGINT, SIGTERM
 * and SIGHUP end the view cleanly instead of killing peeka, so that the
 * terminal is restored and what was measured is still reported.
 */
#ifndef PEEKA_LIVE_H
#define PEEKA_LIVE_H

#include <signal.h>

/* Set by the handlers; the view's loop polls it. */
extern volatile sig_atomic_t live_stop;

/* Install the handlers (no SA_RESTART: blocking calls return EINTR). */
void live_install_signals(void);

/* Sleep @seconds, returning early (-1) when a stop was requested. */
int live_sleep(double seconds);

#endif
