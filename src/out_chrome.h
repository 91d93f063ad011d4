/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Chrome Trace Event Format (JSON array), written as the samples come:
 * per thread, a frame that appears in a run of samples at the same depth
 * opens with a 'B' event at the run's first sample and closes with an
 * 'E' event (same name and args) at the first sample without it; times in
 * microseconds from the start.  process_name, thread_name and
 * thread_sort_index metadata events name the tracks.  Only whole events
 * reach the file, at least once a second, and the array stays open until
 * the end, so a trace cut short still loads, its open frames unclosed
 * (Perfetto and speedscope accept a missing ']').
 */
#ifndef PEEKA_OUT_CHROME_H
#define PEEKA_OUT_CHROME_H

#include <stdbool.h>
#include <stdint.h>

#include "profile.h"
#include "py_sample.h"
#include "py_sys.h"

struct out_chrome;

struct out_chrome_opts {
	int pid;                       /* the recorded process */
	const char *process_name;      /* its command line (borrowed, read at
					* its first sample) */
	const struct py_sys_path *sp;  /* short file names; may be NULL or
					* filled later (borrowed, read live) */
	bool full_filenames;
};

/* Start the trace on @fd (not closed here). 0 or -errno. */
int out_chrome__open(struct out_chrome **out, int fd,
		     const struct out_chrome_opts *o);

/*
 * One sampled thread at @ts_ns: @stack is the profile stack it was
 * counted in, or UINT32_MAX when it was filtered out (idle: its open
 * frames end here).  Torn samples (t->err) change nothing.
 */
int out_chrome__sample(struct out_chrome *c, const struct profile *prof,
		       uint64_t ts_ns, int pid, const struct py_sample_thread *t,
		       uint32_t stack);

/* Write out whole events when a second has passed (@now_ns monotonic). */
int out_chrome__tick(struct out_chrome *c, uint64_t now_ns);

/* End every open frame at @end_ns, close the array, write out. */
int out_chrome__finish(struct out_chrome *c, const struct profile *prof,
		       uint64_t end_ns);

void out_chrome__free(struct out_chrome *c);

#endif
