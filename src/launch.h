/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting the program that `record -- CMD` profiles: fork and exec with a
 * close-on-exec pipe, so that a command that cannot be run is an error
 * (with its errno) rather than a child that silently exits 127.
 */
#ifndef PEEKA_LAUNCH_H
#define PEEKA_LAUNCH_H

#include <sys/types.h>

/*
 * Run argv[0] (searched in PATH) with @argv.  Returns 0 and the child's
 * pid in *pid once exec has succeeded, or -errno (ENOENT, EACCES, …) when
 * it could not be started (the child is then already reaped).
 */
int launch__start(char *const argv[], pid_t *pid);

/*
 * Collect the child's exit status if it has ended (non-blocking).
 * Returns 1 and the shell-style status in *status (code, or 128 + signal),
 * 0 while it runs, -errno on error.
 */
int launch__poll(pid_t pid, int *status);

/* Wait for the child to end; returns its shell-style status. */
int launch__wait(pid_t pid);

#endif
