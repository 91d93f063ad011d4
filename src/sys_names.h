/* SPDX-License-Identifier: Apache-2.0 */
/*
 * System call names by number for the machine peeka runs on (x86_64; a
 * generated table, offsets/syscalls.sh).  Used to name what a blocked
 * thread waits in, from /proc/PID/task/TID/syscall.
 */
#ifndef PEEKA_SYS_NAMES_H
#define PEEKA_SYS_NAMES_H

/* The name of system call @nr, or NULL when unknown (or not x86_64). */
const char *sys_names__get(long nr);

#endif
