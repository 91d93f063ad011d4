/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-process and per-thread facts from /proc: thread ids, OS state,
 * command line, and the checks that tell "no such process" from "not
 * allowed".  Never stops or signals the target.
 */
#ifndef PEEKA_PROC_TASK_H
#define PEEKA_PROC_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The thread ids in /proc/@pid/task, sorted.  Returns the count (0..cap)
 * or -errno.  At most @cap ids are stored.
 */
int proc_task__list(int pid, int *tids, size_t cap);

/* True when @tid is a thread of @pid. */
bool proc_task__exists(int pid, int tid);

/*
 * The state character of a stat line ('R', 'S', 'D', …), parsed after the
 * LAST ')' because comm may contain ')'.  Returns '?' when malformed.
 */
char proc_task__parse_state(const char *stat_line);

/* The state character of thread @tid of @pid, or '?' if unreadable. */
char proc_task__state(int pid, int tid);

/* The OS thread name (comm) into @buf; returns 0 or -errno. */
int proc_task__comm(int pid, int tid, char *buf, size_t len);

/* The command line, NULs replaced by spaces; returns 0 or -errno. */
int proc_task__cmdline(int pid, char *buf, size_t len);

/*
 * Check that @pid exists and that we may read it.  Returns 0, -ESRCH, or
 * -EPERM/-EACCES (from opening /proc/PID/mem for reading, which applies
 * the same ptrace-attach rule process_vm_readv does).
 */
int proc_task__check_access(int pid);

/* The Yama ptrace_scope value, or -1 when Yama is absent. */
int proc_task__ptrace_scope(void);

/* The real uid owning @pid, or (uid_t)-1. */
uid_t proc_task__uid(int pid);

/*
 * True when @pid lives in the same PID namespace as peeka (thread ids the
 * target stores about itself are then ours too).
 */
bool proc_task__same_pidns(int pid);

/*
 * For a target in another PID namespace: its threads' ids as the target
 * sees them (@ns) and as we see them (@host), from each task's NSpid line.
 * Returns the count stored (at most @cap) or -errno.
 */
int proc_task__ns_tids(int pid, int *host, int *ns, size_t cap);

/* What /proc/PID/task/TID/syscall says a thread is doing. */
enum proc_sc_state {
	PROC_SC_UNKNOWN = 0,  /* unreadable or malformed */
	PROC_SC_RUNNING,      /* on a CPU ("running") */
	PROC_SC_BLOCKED,      /* blocked outside a system call ("-1 …") */
	PROC_SC_IN,           /* blocked in system call @nr */
};

struct proc_syscall {
	enum proc_sc_state state;
	long nr;
	unsigned long long args[6];
};

/* Parse one syscall line; returns 0, or -EINVAL when malformed. */
int proc_task__parse_syscall(const char *line, struct proc_syscall *out);

/*
 * The system call thread @tid of @pid is blocked in.  Reading it needs the
 * same permission as reading memory; it never stops the thread.  Returns 0
 * or -errno (out->state is then PROC_SC_UNKNOWN).
 */
int proc_task__syscall(int pid, int tid, struct proc_syscall *out);

/* The kernel function thread @tid sleeps in (wchan), "" when running or
 * hidden.  Returns 0 or -errno. */
int proc_task__wchan(int pid, int tid, char *buf, size_t len);

/* utime + stime, in clock ticks, from a stat line (after the last ')').
 * Returns 0, or -EINVAL when malformed. */
int proc_task__parse_cpu(const char *stat_line, unsigned long long *ticks);

/* The CPU time thread @tid of @pid has used, in clock ticks. */
int proc_task__cpu(int pid, int tid, unsigned long long *ticks);

/* True when @pid is a zombie or gone. */
bool proc_task__is_dead(int pid);

#endif
