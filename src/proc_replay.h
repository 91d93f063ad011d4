/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replaying a round's read set.  A sampler asks for nearly the same remote
 * ranges every sample: the GIL, the thread list, each thread state, the
 * data-stack chunk, frames outside it and code-object headers.  During a
 * round, every range read is logged; at the start of the next round the
 * logged ranges are fetched together with one process_vm_readv, and reads
 * that fall inside them are served from that copy.
 *
 * Order is kept: the fetch copies ranges in the order they were first
 * read (a range only grows forwards), and the first read the copy cannot
 * serve ends serving for the round, so every served read precedes every
 * live one and a pointer is never read after what it points to.  Served
 * reads are then what a quick sequence of reads at the round's start
 * returns, and callers keep their own consistency checks.  After a
 * warm-up the module allocates nothing.  It never writes to the target.
 */
#ifndef PEEKA_PROC_REPLAY_H
#define PEEKA_PROC_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_replay;

struct proc_replay_stats {
	uint64_t rounds;
	uint64_t hits;      /* reads served from the fetched copy */
	uint64_t misses;    /* reads that went to the target */
	uint64_t fetched;   /* ranges fetched at round starts */
	uint64_t failed;    /* fetched ranges that could not be read */
};

struct proc_replay *proc_replay__new(void);
void proc_replay__free(struct proc_replay *r);

/*
 * Start a round: fetch the ranges logged in the last round from @pid (in
 * one process_vm_readv, more only when a range has become unreadable) and
 * log afresh.  Returns 0, or -ESRCH when the process is gone.
 */
int proc_replay__begin(struct proc_replay *r, int pid);

/*
 * Stop serving the fetched copy for the rest of the round (a caller saw
 * torn data and wants fresh reads); logging goes on.
 */
void proc_replay__invalidate(struct proc_replay *r);

/* End the round: nothing is served or logged until the next begin. */
void proc_replay__end(struct proc_replay *r);

/*
 * Copy [addr, addr + len) from the fetched ranges into @buf: true when
 * served (and logged).  False outside a round, after a miss, or when no
 * fetched range holds all of it (a miss: serving ends for the round); the
 * caller then reads the target and calls proc_replay__note.
 */
bool proc_replay__serve(struct proc_replay *r, uint64_t addr, void *buf,
			size_t len);

/* Log a range the caller has read from the target during the round. */
void proc_replay__note(struct proc_replay *r, uint64_t addr, size_t len);

const struct proc_replay_stats *proc_replay__stats(const struct proc_replay *r);

#endif
