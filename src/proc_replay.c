/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The read-set replay: a log of the ranges read in a round, coalesced as it
 * grows, fetched as one vector read at the next round's start.  Owns its
 * buffers; never writes to the target.
 */
#include "proc_replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define MAX_RANGES 1024          /* IOV_MAX on Linux */
#define MAX_BYTES (4u << 20)     /* per round */
#define DEDUP 2048               /* power of two */
#define DEDUP_MAX (DEDUP * 3 / 4)  /* entries per round */
#define DEDUP_PROBE 16
#define MAX_REFETCH 4            /* unreadable ranges skipped per round */

struct range {
	uint64_t addr;
	size_t len;
	size_t off;      /* into buf, for fetched ranges */
	bool ok;
};

struct proc_replay {
	/* The fetched copy, served during the round. */
	struct range cur[MAX_RANGES];
	size_t ncur, cursor;
	unsigned char *buf;
	size_t cap;
	bool serving, logging;
	bool unsupported;   /* no process_vm_readv: never fetch */
	/* The ranges read this round, fetched at the next start. */
	struct range log[MAX_RANGES];
	size_t nlog, logbytes;
	uint64_t dedup_addr[DEDUP];
	uint16_t dedup_idx[DEDUP];
	uint32_t dedup_gen[DEDUP], gen;
	size_t ndedup;
	struct iovec local[MAX_RANGES], remote[MAX_RANGES];
	struct proc_replay_stats st;
};

struct proc_replay *proc_replay__new(void)
{
	return calloc(1, sizeof(struct proc_replay));
}

void proc_replay__free(struct proc_replay *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

const struct proc_replay_stats *proc_replay__stats(const struct proc_replay *r)
{
	return &r->st;
}

/* The slot of @addr, or DEDUP when the probe is too long to bother. */
static size_t dedup_slot(const struct proc_replay *r, uint64_t addr)
{
	size_t h = (size_t)((addr >> 3) * 0x9e3779b97f4a7c15ULL) & (DEDUP - 1);

	for (int i = 0; i < DEDUP_PROBE; i++, h = (h + 1) & (DEDUP - 1))
		if (r->dedup_gen[h] != r->gen || r->dedup_addr[h] == addr)
			return h;
	return DEDUP;
}

static void dedup_add(struct proc_replay *r, size_t h, uint64_t addr,
		      size_t idx)
{
	if (h >= DEDUP || r->ndedup >= DEDUP_MAX)
		return;
	r->dedup_gen[h] = r->gen;
	r->dedup_addr[h] = addr;
	r->dedup_idx[h] = (uint16_t)idx;
	r->ndedup++;
}

/*
 * Whether a read at @b can extend the range [a, a + alen) forwards: it
 * overlaps, touches, or starts in the page where the range ends, so any
 * gap lies in a page that holds readable bytes and is mapped too.  Only
 * forwards: the fetch copies a range from its start, so a read merged in
 * front of an earlier one would be copied before it, and a pointer must
 * never be copied after what it points to.
 */
static bool extends(uint64_t a, size_t alen, uint64_t b)
{
	uint64_t end = a + alen;

	/* The gap [end, b) lies within the range's last page or b's page. */
	return b >= a && (b <= end || (b >> 12) == (end >> 12) ||
			  ((b - 1) >> 12) == ((end - 1) >> 12));
}

void proc_replay__note(struct proc_replay *r, uint64_t addr, size_t len)
{
	struct range *last = r->nlog ? &r->log[r->nlog - 1] : NULL;
	size_t h;

	if (!r->logging || !len)
		return;
	h = dedup_slot(r, addr);
	if (h < DEDUP && r->dedup_gen[h] == r->gen) {
		const struct range *rg = &r->log[r->dedup_idx[h]];

		/* Read before in this round (a retry, a field of a struct
		 * read whole): already fetched next time. */
		if (addr + len <= rg->addr + rg->len)
			return;
		h = DEDUP;
	}
	if (last && extends(last->addr, last->len, addr)) {
		uint64_t end = addr + len > last->addr + last->len
				       ? addr + len : last->addr + last->len;
		size_t grown = (size_t)(end - last->addr);

		if (r->logbytes - last->len + grown > MAX_BYTES)
			return;
		r->logbytes = r->logbytes - last->len + grown;
		last->len = grown;
		dedup_add(r, h, addr, r->nlog - 1);
		return;
	}
	if (r->nlog >= MAX_RANGES || r->logbytes + len > MAX_BYTES)
		return;
	r->log[r->nlog] = (struct range){ addr, len, 0, false };
	dedup_add(r, h, addr, r->nlog);
	r->nlog++;
	r->logbytes += len;
}

/* Read cur[from..ncur) in one call; returns the index of the first range
 * not read whole, ncur when all were, or -errno. */
static long fetch_from(struct proc_replay *r, int pid, size_t from)
{
	size_t n = r->ncur - from;
	ssize_t got;

	for (size_t i = 0; i < n; i++) {
		struct range *rg = &r->cur[from + i];

		r->local[i] = (struct iovec){ r->buf + rg->off, rg->len };
		r->remote[i] = (struct iovec){ (void *)(uintptr_t)rg->addr,
					       rg->len };
	}
	got = process_vm_readv(pid, r->local, n, r->remote, n, 0);
	if (got < 0) {
		if (errno != EFAULT)
			return -errno;
		got = 0;
	}
	for (size_t i = from; i < r->ncur; i++) {
		if ((size_t)got < r->cur[i].len)
			return (long)i;
		got -= (ssize_t)r->cur[i].len;
		r->cur[i].ok = true;
	}
	return (long)r->ncur;
}

static int fetch(struct proc_replay *r, int pid)
{
	size_t from = 0;

	for (int tries = 0; from < r->ncur && tries <= MAX_REFETCH; tries++) {
		long at = fetch_from(r, pid, from);

		if (at < 0)
			return (int)at;
		if ((size_t)at >= r->ncur)
			return 0;
		r->st.failed++;
		from = (size_t)at + 1;   /* skip the unreadable range */
	}
	return 0;
}

int proc_replay__begin(struct proc_replay *r, int pid)
{
	size_t total = 0;
	int ret = 0;

	r->st.rounds++;
	r->ncur = r->unsupported ? 0 : r->nlog;
	for (size_t i = 0; i < r->ncur; i++) {
		r->cur[i] = r->log[i];
		r->cur[i].off = total;
		r->cur[i].ok = false;
		total += r->log[i].len;
	}
	if (total > r->cap) {
		unsigned char *nb = realloc(r->buf, total);

		if (nb) {
			r->buf = nb;
			r->cap = total;
		} else {
			r->ncur = 0;
		}
	}
	if (r->ncur) {
		r->st.fetched += r->ncur;
		ret = fetch(r, pid);
		if (ret) {
			r->ncur = 0;
			if (ret == -ENOSYS)
				r->unsupported = true;  /* /proc/PID/mem only */
		}
	}
	r->nlog = 0;
	r->logbytes = 0;
	r->ndedup = 0;
	if (++r->gen == 0) {
		memset(r->dedup_gen, 0, sizeof(r->dedup_gen));
		r->gen = 1;
	}
	r->cursor = 0;
	r->serving = r->ncur > 0;
	r->logging = true;
	return ret == -ESRCH ? ret : 0;
}

void proc_replay__invalidate(struct proc_replay *r)
{
	r->serving = false;
}

void proc_replay__end(struct proc_replay *r)
{
	r->serving = false;
	r->logging = false;
}

bool proc_replay__serve(struct proc_replay *r, uint64_t addr, void *buf,
			size_t len)
{
	if (!r->serving || addr + len < addr)
		return false;
	/* Reads mostly come in the order they were logged: start at the
	 * range that served the last one. */
	for (size_t k = 0, i = r->cursor; k < r->ncur; k++) {
		const struct range *rg = &r->cur[i];

		if (rg->ok && addr >= rg->addr &&
		    addr + len <= rg->addr + rg->len) {
			memcpy(buf, r->buf + rg->off + (addr - rg->addr), len);
			r->cursor = i;
			r->st.hits++;
			proc_replay__note(r, addr, len);
			return true;
		}
		if (++i == r->ncur)
			i = 0;
	}
	/*
	 * From the first miss on, the round reads live: what it reads next
	 * may hang off what it just read live, and must not come from the
	 * older copy (a pointer read after what it points to).
	 */
	r->serving = false;
	r->st.misses++;
	return false;
}
