/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /proc/PID/maps: parsing one line, and loading a process's mappings.
 */
#ifndef PEEKA_PROC_MAPS_H
#define PEEKA_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_map {
	uint64_t start;
	uint64_t end;
	uint64_t offset;
	unsigned long inode;
	char perms[5];  /* "r-xp" */
	char *path;     /* owned; "" for anonymous mappings */
	bool deleted;   /* path ended with " (deleted)", stripped here */
};

struct proc_maps {
	struct proc_map *v;
	size_t n;
};

/*
 * Parse one maps line into @m (m->path is allocated).  Returns 0, or -EINVAL
 * for a malformed line, -ENOMEM.
 */
int proc_maps__parse_line(const char *line, struct proc_map *m);

/* Read /proc/@pid/maps.  Returns 0 or -errno (ENOENT/ESRCH: no process). */
int proc_maps__load(struct proc_maps *maps, int pid);

/* Parse a whole maps text (for tests).  Returns 0 or -errno. */
int proc_maps__load_text(struct proc_maps *maps, const char *text);

void proc_maps__release(struct proc_maps *maps);

/* The mapping containing @addr, or NULL (@maps in address order, as
 * the kernel lists them). */
const struct proc_map *proc_maps__find(const struct proc_maps *maps,
				       uint64_t addr);

/* The basename of a mapping's path (borrowed). */
/*
 * A hash of @pid's mappings that can hold code (files and the vdso), to
 * notice a dlopen or dlclose: anonymous mappings (the heap, Python's
 * arenas) change all the time and are left out.  0 when unreadable.
 */
uint64_t proc_maps__code_hash(int pid);

const char *proc_map__basename(const struct proc_map *m);

#endif
