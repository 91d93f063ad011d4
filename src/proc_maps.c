/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parses /proc/PID/maps.  Paths may contain spaces; " (deleted)" is
 * stripped and remembered.  Owns nothing but the parsed copy.
 */
#include "proc_maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELETED_SUFFIX " (deleted)"

int proc_maps__parse_line(const char *line, struct proc_map *m)
{
	unsigned long long start, end, off;
	unsigned long inode;
	char perms[8];
	unsigned dmaj, dmin;
	int pos = 0;
	size_t len;
	const char *p;

	memset(m, 0, sizeof(*m));
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %lu%n", &start, &end, perms,
		   &off, &dmaj, &dmin, &inode, &pos) != 7)
		return -EINVAL;
	if (start > end || strlen(perms) != 4)
		return -EINVAL;
	p = line + pos;
	while (*p == ' ' || *p == '\t')
		p++;
	len = strcspn(p, "\n");
	m->path = malloc(len + 1);
	if (!m->path)
		return -ENOMEM;
	memcpy(m->path, p, len);
	m->path[len] = '\0';
	if (len >= strlen(DELETED_SUFFIX) &&
	    !strcmp(m->path + len - strlen(DELETED_SUFFIX), DELETED_SUFFIX)) {
		m->path[len - strlen(DELETED_SUFFIX)] = '\0';
		m->deleted = true;
	}
	m->start = start;
	m->end = end;
	m->offset = off;
	m->inode = inode;
	memcpy(m->perms, perms, 5);
	return 0;
}

static int push(struct proc_maps *maps, size_t *cap, const char *line)
{
	struct proc_map m;
	int ret;

	ret = proc_maps__parse_line(line, &m);
	if (ret)
		return ret;
	if (maps->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct proc_map *nv = realloc(maps->v, ncap * sizeof(*nv));

		if (!nv) {
			free(m.path);
			return -ENOMEM;
		}
		maps->v = nv;
		*cap = ncap;
	}
	maps->v[maps->n++] = m;
	return 0;
}

int proc_maps__load(struct proc_maps *maps, int pid)
{
	char path[64], *line = NULL;
	size_t cap = 0, lcap = 0;
	FILE *f;
	int ret = 0;

	maps->v = NULL;
	maps->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &lcap, f) > 0) {
		ret = push(maps, &cap, line);
		if (ret)
			break;
	}
	if (!ret && ferror(f))
		ret = -EIO;
	free(line);
	fclose(f);
	if (ret)
		proc_maps__release(maps);
	return ret;
}

int proc_maps__load_text(struct proc_maps *maps, const char *text)
{
	size_t cap = 0;
	int ret;

	maps->v = NULL;
	maps->n = 0;
	while (*text) {
		size_t len = strcspn(text, "\n");
		char buf[4352];

		if (len >= sizeof(buf)) {
			proc_maps__release(maps);
			return -EINVAL;
		}
		memcpy(buf, text, len);
		buf[len] = '\0';
		if (len) {
			ret = push(maps, &cap, buf);
			if (ret) {
				proc_maps__release(maps);
				return ret;
			}
		}
		text += len + (text[len] == '\n');
	}
	return 0;
}

void proc_maps__release(struct proc_maps *maps)
{
	for (size_t i = 0; i < maps->n; i++)
		free(maps->v[i].path);
	free(maps->v);
	maps->v = NULL;
	maps->n = 0;
}

const struct proc_map *proc_maps__find(const struct proc_maps *maps,
				       uint64_t addr)
{
	size_t lo = 0, hi = maps->n;

	/* The kernel lists mappings in address order: binary search (the
	 * native unwinder asks for every word it reads). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < maps->v[mid].start)
			hi = mid;
		else if (addr >= maps->v[mid].end)
			lo = mid + 1;
		else
			return &maps->v[mid];
	}
	return NULL;
}

uint64_t proc_maps__code_hash(int pid)
{
	char path[64], line[4096];
	uint64_t h = 1469598103934665603ULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strchr(line, '/') && !strstr(line, "[vdso]"))
			continue;
		for (const char *c = line; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	}
	fclose(f);
	return h;
}

const char *proc_map__basename(const struct proc_map *m)
{
	const char *s = strrchr(m->path, '/');

	return s ? s + 1 : m->path;
}
