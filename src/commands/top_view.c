/* SPDX-License-Identifier: Apache-2.0 */
/* peeka top's text: header lines, column titles, rows, plain snapshots. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rec_clock.h"
#include "../text_out.h"
#include "top.h"

static const char *const sort_names[] = { "%Own", "%Total", "OwnTime",
					  "TotalTime" };

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

double top_view__period(const struct top_state *s)
{
	double elapsed = (double)(rec_clock__now() - s->reset_ns) / 1e9;

	/* Seconds a sample stands for: as achieved, not as asked, since a
	 * sampler that falls behind skips deadlines. */
	if (s->rounds && elapsed > 0)
		return elapsed / (double)s->rounds;
	return 1.0 / s->o->rate;
}

/* @s with unsafe bytes escaped, into @buf. */
static void escaped(const char *s, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");

	if (!f) {
		snprintf(buf, len, "?");
		return;
	}
	text_out__put(f, s);
	fclose(f);
	buf[len - 1] = '\0';
}

void top_view__header(const struct top_state *s, char l[3][512])
{
	uint64_t now = rec_clock__now();
	unsigned up = (unsigned)((now - s->start_ns) / 1000000000ULL);
	const struct rec_collect_stats *cs = rec_collect__stats(s->coll[0]);
	uint64_t err = s->failed + cs->torn;
	char cmd[256], thr[320];

	escaped(s->cmdline, cmd, sizeof(cmd));
	snprintf(l[0], 512,
		 "peeka top  pid %d  CPython %s  up %u:%02u:%02u  samples %" PRIu64
		 "  threads %zu/%zu active  GIL held %.1f%%  errors %.1f%%%s",
		 s->pp->pid, s->version, up / 3600, up / 60 % 60, up % 60,
		 s->rounds, s->active, s->total, pct(s->gil_rounds, s->rounds),
		 pct(err, s->thread_samples + s->failed), s->exited ? "  [process exited]" : "");
	if (s->o->native) {
		uint64_t all = cs->native_merged + cs->native_failed +
			       cs->native_missing;

		snprintf(l[1], 512, "native: %.1f%% unmatched, %.1f%% not unwound  command: %s",
			 pct(cs->native_failed, all), pct(cs->native_missing, all),
			 cmd);
	} else {
		snprintf(l[1], 512, "command: %s", cmd);
	}
	if (s->thread_idx >= 0)
		escaped(s->thread_sel, thr, sizeof(thr));
	snprintf(l[2], 512,
		 "sort: %s  by %s  threads: %s  rate %.0f Hz (%.0f achieved)  every %.1f s%s%s%s",
		 sort_names[s->mo.sort], s->by_line ? "line" : "function",
		 s->thread_idx >= 0 ? thr : "all", s->o->rate,
		 1.0 / top_view__period(s), s->o->delay,
		 s->o->idle ? "  +idle" : "", s->o->gil ? "  GIL only" : "",
		 s->paused ? "  [paused]" : "");
}

void top_view__titles(const struct top_state *s, char *buf, size_t len)
{
	snprintf(buf, len, "%7s %7s %9s %9s  %s%s", "%Own", "%Total", "OwnTime",
		 "TotalTime", s->mo.per_thread ? "Thread: " : "",
		 s->o->nolineno ? "Function (file)" : "Function (file:line)");
}

void top_view__row(const struct top_state *s, const struct top_row *r,
		   char *buf, size_t len)
{
	char label[768], thr[320] = "";
	double period = top_view__period(s);

	escaped(r->label, label, sizeof(label));
	if (r->thread)
		escaped(r->thread, thr, sizeof(thr));
	snprintf(buf, len, "%6.1f%% %6.1f%% %8.2fs %8.2fs  %s%s%s",
		 pct(r->own_cur, s->rounds_shown), pct(r->total_cur, s->rounds_shown),
		 (double)r->own * period, (double)r->total * period, thr,
		 r->thread ? ": " : "", label);
}

void top_view__print(FILE *f, struct top_state *s, size_t max)
{
	char h[3][512], line[1024];
	const struct top_row *rows;
	size_t n;

	top_view__header(s, h);
	fprintf(f, "%s\n%s\n%s\n\n", h[0], h[1], h[2]);
	top_view__titles(s, line, sizeof(line));
	fprintf(f, "%s\n", line);
	rows = top_model__rows(top_state__model(s), &n);
	for (size_t i = 0; i < n && i < max; i++) {
		top_view__row(s, &rows[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	if (!n)
		fprintf(f, "(no samples yet%s)\n",
			s->o->idle ? "" : ": every thread is idle; --idle shows them");
	fprintf(f, "\n");
	fflush(f);
}
