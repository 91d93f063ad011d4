/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-version CPython structure layouts, as data.
 *
 * The field list below is declared once (LAYOUT_FIELDS) and expanded into
 * the field enum, the name table used by the .tsv parser and diagnostics,
 * and the width table used by the bounds-checked accessors.  The numbers
 * themselves live in offsets/cpython-3.X.tsv and are compiled into the
 * generated files layout_3_X.c by offsets/tsv2c.sh; nothing here is typed
 * by hand.
 *
 * A field that does not exist in a version holds LAYOUT_NONE, never 0
 * (0 is a valid offset).  Use layout_has() before layout_off().
 */
#ifndef PEEKA_LAYOUT_H
#define PEEKA_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sentinel for "this field does not exist in this version". */
#define LAYOUT_NONE INT64_MIN

/*
 * What a value in the table is:
 *   SIZE   sizeof() of the structure the group names
 *   PTR    offset of a pointer-sized field (8 bytes)
 *   I8/U8/I32/U32/I64/U64/F64   offset of a scalar of that width
 *   EMBED  offset of an embedded struct or array (no width of its own)
 *   CONST  not an offset: a constant (enum value, bit number, signed
 *          offset relative to an object, tag mask) read from the headers
 */
enum layout_kind {
	LK_SIZE,
	LK_PTR,
	LK_I8,
	LK_U8,
	LK_I32,
	LK_U32,
	LK_I64,
	LK_U64,
	LK_F64,
	LK_EMBED,
	LK_CONST,
};

/*
 * X(group, field, kind).  The .tsv key is "group.field".
 * Comments name the CPython member and the versions that have it.
 */
#define LAYOUT_FIELDS(X)                                                      \
	/* _PyRuntimeState */                                                 \
	X(runtime, __size__, SIZE)                                            \
	X(runtime, finalizing, PTR)        /* _finalizing */                  \
	X(runtime, interpreters_head, PTR) /* interpreters.head */            \
	X(runtime, interpreters_main, PTR) /* interpreters.main */            \
	X(runtime, tstate_current, PTR)    /* gilstate.tstate_current <=3.11 */ \
	X(runtime, gil, EMBED)             /* ceval.gil <=3.11 */             \
	/* struct _gil_runtime_state */                                       \
	X(gil, __size__, SIZE)                                                \
	X(gil, enabled, I32)       /* free-threaded builds only */            \
	X(gil, last_holder, PTR)                                              \
	X(gil, locked, I32)                                                   \
	X(gil, switch_number, U64)                                            \
	/* PyInterpreterState */                                              \
	X(interp, __size__, SIZE)                                             \
	X(interp, next, PTR)                                                  \
	X(interp, id, I64)                                                    \
	X(interp, threads_head, PTR) /* tstate_head <=3.10, threads.head */   \
	X(interp, threads_main, PTR) /* threads.main 3.13+ */                 \
	X(interp, modules, PTR)      /* modules <=3.11, imports.modules */    \
	X(interp, sysdict, PTR)                                               \
	X(interp, builtins, PTR)                                              \
	X(interp, ceval_gil, PTR)    /* ceval.gil pointer 3.12+ */            \
	X(interp, gil, EMBED)        /* _gil 3.12+ */                         \
	X(interp, remote_debug, I32) /* config.remote_debug 3.14+ */          \
	/* PyThreadState */                                                   \
	X(tstate, __size__, SIZE)                                             \
	X(tstate, prev, PTR)                                                  \
	X(tstate, next, PTR)                                                  \
	X(tstate, interp, PTR)                                                \
	X(tstate, eval_breaker, U64)  /* 3.13+ */                             \
	X(tstate, status, U32)        /* _status 3.12+ (bitfield word) */     \
	X(tstate, holds_gil, I32)     /* 3.14+ */                             \
	X(tstate, state, I32)         /* attached/detached 3.13+ */           \
	X(tstate, frame, PTR)         /* <=3.10 */                            \
	X(tstate, cframe, PTR)        /* 3.11-3.12 */                         \
	X(tstate, current_frame, PTR) /* 3.13+ */                             \
	X(tstate, dict, PTR)                                                  \
	X(tstate, thread_id, U64)                                             \
	X(tstate, native_thread_id, U64) /* 3.11+ */                          \
	X(tstate, datastack_chunk, PTR)  /* 3.11+ */                          \
	X(tstate, datastack_top, PTR)    /* 3.11+ */                          \
	X(tstate, remote_debugger_support, EMBED) /* 3.14+ */                 \
	/* _PyCFrame (3.11-3.12) */                                           \
	X(cframe, current_frame, PTR)                                         \
	/* _PyStackChunk (3.11+) */                                           \
	X(stackchunk, previous, PTR)                                          \
	X(stackchunk, size, U64)                                              \
	X(stackchunk, top, U64)                                               \
	X(stackchunk, data, EMBED)                                            \
	/* PyFrameObject */                                                   \
	X(frameobj, __size__, SIZE)                                           \
	X(frameobj, f_back, PTR)                                              \
	X(frameobj, f_code, PTR)       /* <=3.10 */                           \
	X(frameobj, f_lasti, I32)      /* <=3.10 */                           \
	X(frameobj, f_lineno, I32)                                            \
	X(frameobj, f_localsplus, EMBED) /* <=3.10 */                         \
	X(frameobj, f_frame, PTR)      /* 3.11+ */                            \
	/* _PyInterpreterFrame (3.11+) */                                     \
	X(iframe, __size__, SIZE)                                             \
	X(iframe, executable, PTR) /* f_code 3.11-3.12, f_executable 3.13+ */ \
	X(iframe, previous, PTR)                                              \
	X(iframe, funcobj, PTR)    /* f_func 3.11, f_funcobj 3.12+ */         \
	X(iframe, globals, PTR)                                               \
	X(iframe, instr_ptr, PTR)  /* prev_instr 3.11-3.12, instr_ptr 3.13+ */ \
	X(iframe, stacktop, I32)   /* 3.11-3.13 */                            \
	X(iframe, stackpointer, PTR) /* 3.14+ */                              \
	X(iframe, tlbc_index, I32) /* 3.14t */                                \
	X(iframe, is_entry, U8)    /* 3.11 */                                 \
	X(iframe, owner, U8)                                                  \
	X(iframe, localsplus, EMBED)                                          \
	/* PyCodeObject */                                                    \
	X(code, __size__, SIZE)                                               \
	X(code, argcount, I32)                                                \
	X(code, posonlyargcount, I32)                                         \
	X(code, kwonlyargcount, I32)                                          \
	X(code, nlocals, I32)                                                 \
	X(code, nlocalsplus, I32)  /* 3.11+ */                                \
	X(code, flags, I32)                                                   \
	X(code, firstlineno, I32)                                             \
	X(code, code, PTR)         /* co_code bytes <=3.10 */                 \
	X(code, varnames, PTR)     /* <=3.10 */                               \
	X(code, cellvars, PTR)     /* <=3.10 */                               \
	X(code, freevars, PTR)     /* <=3.10 */                               \
	X(code, localsplusnames, PTR) /* 3.11+ */                             \
	X(code, localspluskinds, PTR) /* 3.11+ */                             \
	X(code, filename, PTR)                                                \
	X(code, name, PTR)                                                    \
	X(code, qualname, PTR)     /* 3.11+ */                                \
	X(code, linetable, PTR)    /* co_lnotab 3.8-3.9, co_linetable 3.10+ */ \
	X(code, firsttraceable, I32) /* _co_firsttraceable 3.12+ */           \
	X(code, code_adaptive, EMBED) /* co_code_adaptive 3.11+ */            \
	X(code, tlbc, PTR)         /* co_tlbc 3.14t */                        \
	/* PyObject, PyVarObject, PyTypeObject, PyHeapTypeObject */           \
	X(object, __size__, SIZE)                                             \
	X(object, ob_type, PTR)                                               \
	X(varobject, ob_size, I64)                                            \
	X(type, tp_name, PTR)                                                 \
	X(type, tp_basicsize, I64)                                            \
	X(type, tp_flags, U64)                                                \
	X(type, tp_dictoffset, I64)                                           \
	X(heaptype, ht_cached_keys, PTR) /* 3.11+ */                          \
	/* str: PyASCIIObject, PyCompactUnicodeObject, PyUnicodeObject */     \
	X(ascii, __size__, SIZE)                                              \
	X(compact, __size__, SIZE)                                            \
	X(unicode, length, I64)                                               \
	X(unicode, state, U32)                                                \
	X(unicode, wstr, PTR)          /* <=3.11 */                           \
	X(unicode, utf8_length, I64)                                          \
	X(unicode, utf8, PTR)                                                 \
	X(unicode, data, PTR)          /* PyUnicodeObject.data.any */         \
	/* bytes, tuple, list, float, cell, module */                         \
	X(bytes, ob_sval, EMBED)                                              \
	X(tuple, ob_item, EMBED)                                              \
	X(list, ob_item, PTR)                                                 \
	X(float, ob_fval, F64)                                                \
	X(cell, ob_ref, PTR)                                                  \
	X(module, md_dict, PTR)                                               \
	/* int */                                                             \
	X(long, lv_tag, U64)           /* 3.12+ */                            \
	X(long, ob_digit, EMBED)                                              \
	/* dict */                                                            \
	X(dict, ma_used, I64)                                                 \
	X(dict, ma_keys, PTR)                                                 \
	X(dict, ma_values, PTR)                                               \
	X(dictkeys, dk_size, I64)          /* <=3.10 */                       \
	X(dictkeys, dk_log2_size, U8)      /* 3.11+ */                        \
	X(dictkeys, dk_log2_index_bytes, U8) /* 3.11+ */                      \
	X(dictkeys, dk_kind, U8)           /* 3.11+ */                        \
	X(dictkeys, dk_nentries, I64)                                         \
	X(dictkeys, dk_indices, EMBED)                                        \
	X(dictvalues, values, EMBED)       /* PyDictValues.values 3.13+ */    \
	/* generators (3.11+: the frame is embedded) */                       \
	X(gen, gi_frame, PTR)              /* <=3.10 */                       \
	X(gen, gi_frame_state, I8)         /* 3.11+ */                        \
	X(gen, gi_iframe, EMBED)           /* 3.11+ */                        \
	/* constants read from the headers */                                 \
	X(const, owner_thread, CONST)       /* FRAME_OWNED_BY_THREAD */       \
	X(const, owner_generator, CONST)    /* FRAME_OWNED_BY_GENERATOR */    \
	X(const, owner_frame_object, CONST) /* FRAME_OWNED_BY_FRAME_OBJECT */ \
	X(const, owner_cstack, CONST)       /* FRAME_OWNED_BY_CSTACK 3.12+ */ \
	X(const, owner_interpreter, CONST)  /* FRAME_OWNED_BY_INTERPRETER 3.14+ */ \
	X(const, stackref_tag_bits, CONST)  /* Py_TAG_BITS 3.14+ */           \
	X(const, unicode_kind_shift, CONST) /* bit of state.kind in state */  \
	X(const, unicode_compact_bit, CONST)                                  \
	X(const, unicode_ascii_bit, CONST)                                    \
	X(const, unicode_ready_bit, CONST)  /* <=3.11 */                      \
	X(const, holds_gil_bit, CONST)      /* _status.holds_gil 3.13 */      \
	X(const, thread_attached, CONST)    /* _Py_THREAD_ATTACHED 3.13+ */   \
	X(const, managed_dict_offset, CONST) /* MANAGED_DICT_OFFSET 3.11+ */  \
	X(const, managed_values_offset, CONST) /* 3.11 values pointer */      \
	X(const, tpflags_managed_dict, CONST) /* 3.11+ */                     \
	X(const, tpflags_inline_values, CONST) /* 3.13+ */                    \
	X(const, co_fast_local, CONST)      /* CO_FAST_LOCAL 3.11+ */         \
	X(const, co_fast_cell, CONST)       /* CO_FAST_CELL 3.11+ */          \
	X(const, co_fast_free, CONST)       /* CO_FAST_FREE 3.11+ */          \
	X(const, co_varargs, CONST)         /* CO_VARARGS */                  \
	X(const, co_varkeywords, CONST)     /* CO_VARKEYWORDS */              \
	X(const, long_shift, CONST)         /* PyLong_SHIFT */                \
	X(const, dict_keys_general, CONST)  /* DICT_KEYS_GENERAL 3.11+ */

#define LAYOUT_ENUM_ITEM(g, f, k) LF_##g##_##f,
enum layout_field {
	LAYOUT_FIELDS(LAYOUT_ENUM_ITEM)
	LF__COUNT
};
#undef LAYOUT_ENUM_ITEM

enum layout_variant {
	LAYOUT_DEFAULT = 0,
	LAYOUT_FREE_THREADED = 1,
};

/* One table per (major, minor, variant), generated from offsets/. */
struct py_layout {
	unsigned major;
	unsigned minor;
	enum layout_variant variant;
	const char *source;  /* the exact version the numbers came from */
	bool tested;         /* false for tables never run against a live target */
	int64_t v[LF__COUNT];
};

/* True when @f exists in this version. */
static inline bool layout_has(const struct py_layout *l, enum layout_field f)
{
	return l->v[f] != LAYOUT_NONE;
}

/* The value of @f; callers check layout_has() first where it can be absent. */
static inline int64_t layout_off(const struct py_layout *l, enum layout_field f)
{
	return l->v[f];
}

/* "group.field" for diagnostics and the .tsv parser. */
const char *layout_field_name(enum layout_field f);

extern const enum layout_kind layout_field_kinds[LF__COUNT];

/* The kind of @f (width of the scalar it names, or SIZE/EMBED/CONST). */
static inline enum layout_kind layout_field_kind(enum layout_field f)
{
	return layout_field_kinds[f];
}

/* Width in bytes of a scalar kind; 0 for SIZE, EMBED and CONST. */
static inline size_t layout_kind_width(enum layout_kind k)
{
	switch (k) {
	case LK_PTR:
	case LK_I64:
	case LK_U64:
	case LK_F64:
		return 8;
	case LK_I32:
	case LK_U32:
		return 4;
	case LK_I8:
	case LK_U8:
		return 1;
	default:
		return 0;
	}
}

/* Look a field up by "group.field"; returns -1 when unknown. */
int layout_field_lookup(const char *name);

/*
 * The registered table for (major, minor, variant), or NULL.  Borrowed,
 * static storage.
 */
const struct py_layout *layout_find(unsigned major, unsigned minor,
				    enum layout_variant variant);

/* Every registered table, for listing and self-tests.  Returns the count. */
size_t layout_all(const struct py_layout *const **tables);

/*
 * Self-check one table: each field required for its version is present, and
 * each scalar offset + width fits inside its structure's size.  Returns 0, or
 * -1 with a message in @err.
 */
int layout_validate(const struct py_layout *l, char *err, size_t errlen);

/* "3.8, 3.9, …, 3.14" into @buf, for error messages. */
void layout_supported_list(char *buf, size_t len);

#endif
