/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a .peeka recording (rec_format.h) back as the samples it holds,
 * in order, each as a py_sample_thread whose frames point at code objects
 * rebuilt from the file, so the same collector that aggregates a live
 * recording aggregates a replayed one.  A truncated or corrupt file gives
 * what is intact and says what was lost.
 */
#ifndef PEEKA_REC_READ_H
#define PEEKA_REC_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "py_sample.h"
#include "py_sys.h"

struct rec_read_sample {
	uint64_t ts_ns;                  /* since the recording's start */
	int pid;
	const char *process;             /* its PROCESS label, or NULL */
	struct py_sample_thread t;       /* valid during the callback */
};

/* Return non-zero to stop reading. */
typedef int (*rec_read_fn)(void *ctx, const struct rec_read_sample *s);

struct rec_read_info {
	unsigned version;
	char peeka[32];
	char python[32];
	char cmdline[1024];
	int pid;
	double rate;
	uint64_t start_unix_ns;
	uint64_t samples;                /* SAMPLE records delivered */
	uint64_t duration_ns;            /* timestamp of the last sample */
	bool complete;                   /* ended with an END record */
	bool damaged;                    /* truncated or corrupt */
	char damage[256];                /* one line: what was lost */
	struct py_sys_path sys_path;     /* last one recorded; owned */
};

/*
 * Read @path, calling @fn for every sample.  Returns 0 (check
 * info->damaged), or an error with one line in @err: -errno when the file
 * cannot be read, PE_NOT_RECORDING, PE_FORMAT_VERSION (a newer format).
 * Release @info with rec_read_info__release.
 */
int rec_read__file(const char *path, rec_read_fn fn, void *ctx,
		   struct rec_read_info *info, char *err, size_t errlen);

void rec_read_info__release(struct rec_read_info *info);

/* Whether the first bytes of @path look like a recording. */
bool rec_read__is_recording(const char *path);

#endif
