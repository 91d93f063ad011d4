/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Locates _PyRuntime in the target's mappings and detects the version.
 * Reads ELF files and remote memory only.
 */
#include "py_runtime.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_sym.h"
#include "errors.h"

#define SCAN_LIMIT (64u << 20)
#define SCAN_CHUNK (1u << 20)

static const char *const sym_names[] = {
#define PY_SYM_NAME(id, name) name,
	PY_SYMBOLS(PY_SYM_NAME)
#undef PY_SYM_NAME
};

static int open_mapped(struct py_runtime *rt, const struct proc_map *m,
		       struct elf_file **ef)
{
	int ret;

	snprintf(rt->open_path, sizeof(rt->open_path), "/proc/%d/root%s",
		 rt->pid, m->path);
	ret = m->deleted ? -ENOENT : elf_sym__open(rt->open_path, ef);
	if (ret == -ENOENT || ret == -ENOTDIR) {
		/* Deleted or replaced on disk: the kernel still has it. */
		snprintf(rt->open_path, sizeof(rt->open_path),
			 "/proc/%d/map_files/%llx-%llx", rt->pid,
			 (unsigned long long)m->start,
			 (unsigned long long)m->end);
		ret = elf_sym__open(rt->open_path, ef);
	}
	return ret;
}

static bool find_runtime(struct py_runtime *rt, struct elf_file *ef,
			 uint64_t *addr)
{
	uint64_t size = 0;

	if (!elf_sym__section(ef, ".PyRuntime", addr, &size) && size) {
		rt->has_section = true;
		rt->runtime_size = size;
		return true;
	}
	if (!elf_sym__lookup(ef, "_PyRuntime", addr, &size)) {
		rt->runtime_size = size;
		return true;
	}
	return false;
}

static int try_mapping(struct py_runtime *rt, const struct proc_map *m)
{
	struct elf_file *ef = NULL;
	uint64_t addr, vaddr;
	int ret;

	if (open_mapped(rt, m, &ef))
		return PE_NOT_PYTHON;
	rt->has_section = false;
	if (!find_runtime(rt, ef, &addr) || elf_sym__first_load(ef, &vaddr)) {
		elf_sym__close(ef);
		return PE_NOT_PYTHON;
	}
	rt->bias = m->start - vaddr;
	rt->runtime_addr = rt->bias + addr;
	rt->shared = elf_sym__type(ef) == 3 /* ET_DYN */ &&
		     strstr(proc_map__basename(m), ".so") != NULL;
	rt->deleted = m->deleted;
	snprintf(rt->map_path, sizeof(rt->map_path), "%s", m->path);
	for (int i = 0; i < PY_SYM__COUNT; i++) {
		uint64_t v;

		ret = elf_sym__lookup(ef, sym_names[i], &v, NULL);
		rt->sym[i] = ret ? 0 : rt->bias + v;
	}
	elf_sym__close(ef);
	return 0;
}

static bool seen_before(const struct proc_maps *maps, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (maps->v[j].offset == 0 &&
		    !strcmp(maps->v[j].path, maps->v[i].path))
			return true;
	return false;
}

int py_runtime__locate(struct py_runtime *rt, int pid,
		       const struct proc_maps *maps, char *err, size_t errlen)
{
	char exe[64];
	ssize_t n;

	memset(rt, 0, sizeof(*rt));
	rt->pid = pid;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	n = readlink(exe, rt->exe_path, sizeof(rt->exe_path) - 1);
	rt->exe_path[n > 0 ? n : 0] = '\0';
	/* Files named like Python first, as CPython's own locator does. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < maps->n; i++) {
			const struct proc_map *m = &maps->v[i];
			bool named = strstr(proc_map__basename(m), "python");

			if (m->offset || m->path[0] != '/' ||
			    !strncmp(m->path, "/dev/", 5) ||
			    named != (pass == 0) || seen_before(maps, i))
				continue;
			if (!try_mapping(rt, m))
				return 0;
		}
	}
	snprintf(err, errlen,
		 "no CPython runtime (_PyRuntime) in any mapping of pid %d",
		 pid);
	return PE_NOT_PYTHON;
}

void py_version__from_hex(struct py_version *v, uint64_t hex)
{
	v->major = (hex >> 24) & 0xff;
	v->minor = (hex >> 16) & 0xff;
	v->micro = (hex >> 8) & 0xff;
	v->level = (hex >> 4) & 0xf;
	v->serial = hex & 0xf;
	v->micro_known = true;
}

static bool scan_digits(const char **p, const char *end, unsigned max_digits,
			unsigned *out)
{
	unsigned v = 0, n = 0;

	while (*p < end && isdigit((unsigned char)**p) && n < max_digits + 1) {
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
		n++;
	}
	*out = v;
	return n >= 1 && n <= max_digits;
}

static bool match_version_at(const char *s, const char *end,
			     struct py_version *v)
{
	const char *p = s + 2;
	unsigned major = (unsigned)(s[0] - '0');
	unsigned minor, micro, serial = 0, level = 0xf;

	if (!scan_digits(&p, end, 2, &minor) || p >= end || *p++ != '.' ||
	    !scan_digits(&p, end, 2, &micro))
		return false;
	if (p < end && (*p == 'a' || *p == 'b' || (*p == 'r' && p + 1 < end &&
						      p[1] == 'c'))) {
		level = *p == 'a' ? 0xa : *p == 'b' ? 0xb : 0xc;
		p += level == 0xc ? 2 : 1;
		if (!scan_digits(&p, end, 2, &serial))
			return false;
	}
	if (p < end && *p == '+')
		p++;
	if (p + 1 >= end || p[0] != ' ' || p[1] != '(')
		return false;
	memset(v, 0, sizeof(*v));
	v->major = major;
	v->minor = minor;
	v->micro = micro;
	v->level = level;
	v->serial = serial;
	v->micro_known = true;
	return true;
}

int py_version__scan_text(const char *buf, size_t len, struct py_version *v)
{
	const char *end = buf + len;

	/* One pass: the text is "2." or "3." right after a NUL (or at the
	 * start of a zeroed region), then the rest of sys.version. */
	for (const char *p = buf; p + 8 < end; p++) {
		if ((*p != '3' && *p != '2') || p[1] != '.' ||
		    (p > buf && p[-1] != '\0'))
			continue;
		if (match_version_at(p, end, v))
			return 0;
	}
	return -1;
}

void py_version__format(const struct py_version *v, char *buf, size_t len)
{
	static const char *const lv[16] = { [0xa] = "a", [0xb] = "b",
					    [0xc] = "rc" };

	if (!v->micro_known)
		snprintf(buf, len, "%u.%u", v->major, v->minor);
	else if (v->level != 0xf && lv[v->level & 0xf])
		snprintf(buf, len, "%u.%u.%u%s%u", v->major, v->minor, v->micro,
			 lv[v->level & 0xf], v->serial);
	else
		snprintf(buf, len, "%u.%u.%u", v->major, v->minor, v->micro);
}

int py_version__from_filename(const char *name, unsigned *major,
			      unsigned *minor)
{
	const char *p = name;

	while ((p = strstr(p, "python")) != NULL) {
		unsigned a, b;
		int n = 0;

		p += 6;
		if (sscanf(p, "%u.%u%n", &a, &b, &n) == 2 && n > 0 && a >= 2 &&
		    a <= 3 && b < 100) {
			*major = a;
			*minor = b;
			return 0;
		}
	}
	return -1;
}

static int from_sys_version(struct py_runtime *rt, struct proc_mem *pm,
			    const struct proc_maps *maps);

static int from_debug_offsets(struct py_runtime *rt, struct proc_mem *pm)
{
	uint8_t head[24];
	uint64_t hex, ft;

	if (proc_mem__read(pm, rt->runtime_addr, head, sizeof(head)) ||
	    memcmp(head, "xdebugpy", 8))
		return -1;
	memcpy(&hex, head + 8, 8);
	memcpy(&ft, head + 16, 8);
	py_version__from_hex(&rt->version, hex);
	rt->version.free_threaded = ft != 0;
	rt->version.source = "_Py_DebugOffsets";
	return rt->version.major == 3 ? 0 : -1;
}

static int from_py_version(struct py_runtime *rt, struct proc_mem *pm)
{
	uint64_t hex;

	if (!rt->sym[PY_SYM_py_version] ||
	    proc_mem__read_u64(pm, rt->sym[PY_SYM_py_version], &hex))
		return -1;
	py_version__from_hex(&rt->version, hex & 0xffffffffu);
	rt->version.source = "Py_Version";
	return rt->version.major == 3 ? 0 : -1;
}

static int scan_region(struct proc_mem *pm, uint64_t start, uint64_t end,
		       struct py_version *v, size_t *budget)
{
	char *buf = malloc(SCAN_CHUNK + 64);
	int ret = -1;

	if (!buf)
		return -1;
	for (uint64_t a = start; a < end && *budget; a += SCAN_CHUNK) {
		size_t want = end - a < SCAN_CHUNK + 64 ? end - a : SCAN_CHUNK + 64;
		size_t got = 0;

		if (want > *budget)
			want = *budget;
		if (proc_mem__read_partial(pm, a, buf, want, &got) || !got)
			continue;
		*budget -= got < SCAN_CHUNK ? got : SCAN_CHUNK;
		if (!py_version__scan_text(buf, got, v)) {
			ret = 0;
			break;
		}
	}
	free(buf);
	return ret;
}

int py_runtime__old_version(struct py_runtime *rt, struct proc_mem *pm,
			    const struct proc_maps *maps)
{
	for (size_t i = 0; i < maps->n; i++) {
		const struct proc_map *m = &maps->v[i];
		unsigned major, minor;

		if (m->offset || m->path[0] != '/' || seen_before(maps, i) ||
		    py_version__from_filename(proc_map__basename(m), &major,
					      &minor))
			continue;
		snprintf(rt->map_path, sizeof(rt->map_path), "%s", m->path);
		if (!from_sys_version(rt, pm, maps))
			return 0;
	}
	rt->map_path[0] = '\0';
	return -1;
}

/*
 * 3.8-3.10: Py_GetVersion() formats sys.version into a static buffer in
 * the binary's .bss: the writable file mappings of the binary and the
 * anonymous mapping right after them.
 */
static int from_sys_version(struct py_runtime *rt, struct proc_mem *pm,
			    const struct proc_maps *maps)
{
	size_t budget = SCAN_LIMIT;
	bool in_binary = false;

	for (size_t i = 0; i < maps->n; i++) {
		const struct proc_map *m = &maps->v[i];
		bool ours = !strcmp(m->path, rt->map_path);

		if (!ours && !(in_binary && !m->path[0]))
			in_binary = false;
		if (ours)
			in_binary = true;
		if (!in_binary || m->perms[1] != 'w')
			continue;
		if (!scan_region(pm, m->start, m->end, &rt->version, &budget)) {
			rt->version.source = "sys.version";
			return 0;
		}
	}
	return -1;
}

int py_runtime__detect_version(struct py_runtime *rt, struct proc_mem *pm,
			       const struct proc_maps *maps)
{
	unsigned major, minor;

	memset(&rt->version, 0, sizeof(rt->version));
	if (rt->has_section && !from_debug_offsets(rt, pm))
		return 0;
	if (!from_py_version(rt, pm))
		return 0;
	if (!from_sys_version(rt, pm, maps))
		return 0;
	memset(&rt->version, 0, sizeof(rt->version));
	if (!py_version__from_filename(proc_map__basename(
					       &(struct proc_map){ .path = rt->map_path }),
				       &major, &minor)) {
		rt->version.major = major;
		rt->version.minor = minor;
		rt->version.source = "file name";
	}
	return PE_VERSION_UNKNOWN;
}
