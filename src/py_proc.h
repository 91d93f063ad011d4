/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An opened CPython target: its memory, mappings, runtime location,
 * version and the layout table (corrected by _Py_DebugOffsets on 3.13+).
 * Also the bounds-checked accessors every walker module reads fields with:
 * remote memory is copied into local buffers and never dereferenced.
 */
#ifndef PEEKA_PY_PROC_H
#define PEEKA_PY_PROC_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpython_layouts/layout.h"
#include "proc_maps.h"
#include "proc_mem.h"
#include "py_runtime.h"

#define PY_PROC_MAX_MISMATCH 32

struct py_layout_mismatch {
	const char *cpython_name;  /* "thread_state.current_frame" */
	enum layout_field field;
	int64_t ours;              /* LAYOUT_NONE when we had none */
	int64_t theirs;
};

struct py_code_cache;

struct py_proc {
	int pid;
	struct proc_mem mem;
	struct proc_maps maps;
	struct py_runtime rt;
	struct py_layout layout;   /* our table, corrected by the target */
	bool has_debug_offsets;
	bool debug_offsets_rejected;  /* inconsistent: our table was kept */
	bool version_forced;       /* --python-version was given */
	int remote_debug;          /* 3.14: config.remote_debug, -1 unknown */
	size_t nmismatch;
	struct py_layout_mismatch mismatch[PY_PROC_MAX_MISMATCH];
	struct py_code_cache *codes;
};

struct py_proc_opts {
	unsigned force_version[2];  /* {0, 0} = detect */
};

/*
 * Attach to @pid for reading: no ptrace, no stop.  Returns 0, -errno
 * (ESRCH, EPERM, EACCES), or PE_NOT_PYTHON, PE_UNSUPPORTED,
 * PE_VERSION_UNKNOWN, PE_NOT_INITIALIZED; @err gets one line of detail.
 */
int py_proc__open(struct py_proc *pp, int pid, const struct py_proc_opts *o,
		  char *err, size_t errlen);
void py_proc__close(struct py_proc *pp);

/* The main interpreter's address (id 0), or 0 with an error code. */
int py_proc__main_interp(struct py_proc *pp, uint64_t *interp);

/* "3.12.1" into @buf. */
void py_proc__version_text(const struct py_proc *pp, char *buf, size_t len);

/* Read a remote object of @len bytes into @buf. 0 or -errno. */
static inline int py_proc__read(struct py_proc *pp, uint64_t addr, void *buf,
				size_t len)
{
	return proc_mem__read(&pp->mem, addr, buf, len);
}

/* A scalar of kind @k at @p, sign- or zero-extended to 64 bits. */
static inline uint64_t py_decode(enum layout_kind k, const unsigned char *p)
{
	uint64_t v8;
	uint32_t u32;
	int32_t i32;

	switch (k) {
	case LK_I8:
		return (uint64_t)(int64_t)(int8_t)p[0];
	case LK_U8:
		return p[0];
	case LK_I32:
		memcpy(&i32, p, 4);
		return (uint64_t)(int64_t)i32;
	case LK_U32:
		memcpy(&u32, p, 4);
		return u32;
	default:
		memcpy(&v8, p, 8);
		return v8;
	}
}

/*
 * Read field @f from @buf, a local copy of @len bytes of a structure.
 * Scalars are sign- or zero-extended to 64 bits.  Returns 0, -ENOENT when
 * the field does not exist in this version, -ERANGE when it lies outside
 * the copy.  Inline: the walkers call it for every field of every frame.
 */
static inline int py_field(const struct py_layout *l, const void *buf,
			   size_t len, enum layout_field f, uint64_t *out)
{
	enum layout_kind k = layout_field_kind(f);
	size_t w = layout_kind_width(k);
	int64_t off = l->v[f];

	if (off == LAYOUT_NONE)
		return -ENOENT;
	if (!w || off < 0 || (uint64_t)off + w > len)
		return -ERANGE;
	*out = py_decode(k, (const unsigned char *)buf + off);
	return 0;
}

/* Like py_field but returns 0 for absent or out-of-range fields. */
static inline uint64_t py_get(const struct py_layout *l, const void *buf,
			      size_t len, enum layout_field f)
{
	uint64_t v;

	return py_field(l, buf, len, f, &v) ? 0 : v;
}

/* Read a pointer-sized remote field at @obj + offset of @f. */
int py_read_field(struct py_proc *pp, uint64_t obj, enum layout_field f,
		  uint64_t *out);

/* ob_type of a remote object. */
int py_type_of(struct py_proc *pp, uint64_t obj, uint64_t *type);

/* True when a remote pointer is plausible (non-NULL, aligned, user space). */
static inline bool py_ptr_ok(uint64_t p)
{
	return p >= 4096 && !(p & 7) && p < (1ULL << 47);
}

#endif
