/* SPDX-License-Identifier: Apache-2.0 */
/* libdwfl symbolization of native addresses, cached per address. */
#include "native_sym.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdwfl.h>

#include "proc_maps.h"
#include "rec_clock.h"
#include "strtab.h"
#include "u64map.h"

#define EVAL_FN "_PyEval_EvalFrameDefault"
#define RELOAD_MIN_NS 100000000ULL   /* re-read the maps at most 10 times/s */
#define CHECK_NS 1000000000ULL       /* compare the maps once a second */
#define BLOCK 256                    /* results per block */

struct native_sym {
	int pid;
	char *interp_path;
	Dwfl *dwfl;
	Dwfl_Callbacks cb;
	struct u64map cache;        /* (ip | call_site bit) -> info index */
	/* Results live in fixed blocks that never move, so a result stays
	 * valid while later lookups add more (until a refresh). */
	struct native_sym_info **blocks;
	size_t nblocks, ninfo;
	struct strtab strings;      /* function, module and file names */
	const char *interp_base;    /* basename of interp_path */
	char *exe_path;
	const char *launcher_base;  /* the exe's basename when python*, or NULL */
	uint64_t reported_at;
	uint64_t maps_hash, checked_at;
	bool no_lines;
};

void native_sym__set_lines(struct native_sym *s, bool on)
{
	s->no_lines = !on;
}

/* One copy of each name for the life of @s (refreshes included). */
static const char *keep(struct native_sym *s, const char *str)
{
	long id;

	if (!str)
		return NULL;
	id = strtab__intern(&s->strings, str, NULL);
	return id < 0 ? NULL : s->strings.s[id];
}

static struct native_sym_info *slot(struct native_sym *s, size_t idx)
{
	return &s->blocks[idx / BLOCK][idx % BLOCK];
}

/* Report every mapped ELF file, at the address of its first mapping. */
static void report(struct native_sym *s)
{
	struct proc_maps maps = { 0 };
	char open_path[4096];

	s->reported_at = rec_clock__now();
	if (proc_maps__load(&maps, s->pid))
		return;
	dwfl_report_begin_add(s->dwfl);
	for (size_t i = 0; i < maps.n; i++) {
		const struct proc_map *m = &maps.v[i];
		bool seen = false;

		if (m->path[0] != '/' || m->offset != 0)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = maps.v[k].offset == 0 &&
			       !strcmp(maps.v[k].path, m->path);
		if (seen)
			continue;
		if (m->deleted)
			snprintf(open_path, sizeof(open_path),
				 "/proc/%d/map_files/%llx-%llx", s->pid,
				 (unsigned long long)m->start,
				 (unsigned long long)m->end);
		else
			snprintf(open_path, sizeof(open_path), "/proc/%d/root%s",
				 s->pid, m->path);
		/* Already reported modules come back as they were; a file
		 * that is not ELF (a font, a locale archive) is refused. */
		dwfl_report_elf(s->dwfl, proc_map__basename(m), open_path, -1,
				m->start, false);
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	proc_maps__release(&maps);
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

struct native_sym *native_sym__new(int pid, const char *interp_path,
				   const char *exe_path)
{
	struct native_sym *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pid = pid;
	s->interp_path = strdup(interp_path ? interp_path : "");
	s->exe_path = strdup(exe_path ? exe_path : "");
	if (s->interp_path)
		s->interp_base = base_of(s->interp_path);
	if (s->exe_path && !strncmp(base_of(s->exe_path), "python", 6))
		s->launcher_base = base_of(s->exe_path);
	s->cb.find_elf = dwfl_linux_proc_find_elf;
	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->dwfl = dwfl_begin(&s->cb);
	u64map__init(&s->cache);
	strtab__init(&s->strings);
	if (!s->interp_path || !s->exe_path || !s->dwfl) {
		native_sym__free(s);
		return NULL;
	}
	report(s);
	return s;
}

void native_sym__free(struct native_sym *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	u64map__release(&s->cache);
	strtab__release(&s->strings);
	for (size_t i = 0; i < s->nblocks; i++)
		free(s->blocks[i]);
	free(s->blocks);
	free(s->interp_path);
	free(s->exe_path);
	free(s);
}

static void resolve(struct native_sym *s, uint64_t addr,
		    struct native_sym_info *out)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	const char *mname = NULL, *fn, *src;
	GElf_Off off = 0;
	GElf_Sym sym;
	Dwarf_Addr start = 0;
	Dwfl_Line *ln;
	int line = 0;

	memset(out, 0, sizeof(*out));
	if (!mod && rec_clock__now() - s->reported_at > RELOAD_MIN_NS) {
		report(s);   /* a library loaded since (dlopen) */
		mod = dwfl_addrmodule(s->dwfl, addr);
	}
	if (!mod)
		return;
	mname = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	out->module = keep(s, mname);
	out->module_offset = addr - start;
	out->interp = mname && (!strcmp(mname, s->interp_base) ||
				(s->launcher_base &&
				 !strcmp(mname, s->launcher_base)));
	fn = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
	if (fn) {
		char name[512];

		/* Without the symbol version (clock_nanosleep@GLIBC_2.2.5). */
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(fn, "@"), fn);
		fn = name;
		out->function = keep(s, fn);
		out->offset = off;
		/* The evaluator, or one of its compiler-split parts
		 * (_PyEval_EvalFrameDefault.cold). */
		out->eval = !strcmp(mname ? mname : "", s->interp_base) &&
			    !strncmp(fn, EVAL_FN, sizeof(EVAL_FN) - 1) &&
			    (fn[sizeof(EVAL_FN) - 1] == '\0' ||
			     fn[sizeof(EVAL_FN) - 1] == '.');
	}
	ln = s->no_lines ? NULL : dwfl_module_getsrc(mod, addr);
	if (ln && (src = dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL))) {
		const char *slash = strrchr(src, '/');

		out->file = keep(s, slash ? slash + 1 : src);
		out->line = line;
	}
}

void native_sym__refresh(struct native_sym *s)
{
	uint64_t now = rec_clock__now(), h;

	if (s->checked_at && now - s->checked_at < CHECK_NS)
		return;
	s->checked_at = now;
	h = proc_maps__code_hash(s->pid);
	if (!s->maps_hash) {
		s->maps_hash = h;
		return;
	}
	if (h == s->maps_hash)
		return;
	s->maps_hash = h;
	/* Start over: modules that went away must not answer any more. */
	u64map__release(&s->cache);
	u64map__init(&s->cache);
	s->ninfo = 0;
	dwfl_report_begin(s->dwfl);
	dwfl_report_end(s->dwfl, NULL, NULL);
	report(s);
}

const struct native_sym_info *native_sym__lookup(struct native_sym *s,
						 uint64_t ip, bool call_site)
{
	static const struct native_sym_info unknown;
	uint64_t key = (ip << 1) | call_site;
	struct native_sym_info *info;
	uint32_t idx;

	if (key && u64map__get(&s->cache, key, &idx))
		return slot(s, idx);
	if (s->ninfo == s->nblocks * BLOCK) {
		struct native_sym_info **nb;

		nb = realloc(s->blocks, (s->nblocks + 1) * sizeof(*nb));
		if (!nb)
			return &unknown;
		s->blocks = nb;
		s->blocks[s->nblocks] = calloc(BLOCK, sizeof(**nb));
		if (!s->blocks[s->nblocks])
			return &unknown;
		s->nblocks++;
	}
	info = slot(s, s->ninfo);
	resolve(s, call_site && ip ? ip - 1 : ip, info);
	if (info->function && call_site)
		info->offset += 1;   /* report the return address */
	idx = (uint32_t)s->ninfo++;
	if (key)
		u64map__put(&s->cache, key, idx);
	return info;
}
