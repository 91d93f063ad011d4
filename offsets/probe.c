/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Offset probe: prints one "group.field<TAB>value" line for every field of
 * LAYOUT_FIELDS (src/cpython_layouts/layout.h), measured with offsetof(),
 * sizeof() and the constants of the CPython headers it is compiled against.
 * "-" means the member does not exist in that version.
 *
 * Built and run by offsets/generate.sh, once per version:
 *
 *   cc -std=c11 -DPy_BUILD_CORE [-DPy_GIL_DISABLED=1] -I<headers> probe.c
 *
 * The headers must be the installed ones including internal/.  Nothing
 * here is linked against libpython; the few static inline helpers used to
 * measure the managed-dict offsets only do pointer arithmetic.
 *
 * Two "#" lines come first (PY_VERSION and Py_GIL_DISABLED) so the caller
 * can label the table; every other line is data.
 */
#include "Python.h"

#if PY_VERSION_HEX < 0x03080000
#error "probe.c supports CPython 3.8 and later"
#endif
#if PY_VERSION_HEX >= 0x030F0000
#error "probe.c has not been reviewed for CPython 3.15; add its members first"
#endif

#define PV(maj, min) (((maj) << 24) | ((min) << 16))

/* Public headers that Python.h does not pull in everywhere. */
#if PY_VERSION_HEX < PV(3, 11)
#include "frameobject.h"
#include "longintrepr.h"
#endif

/* Internal headers (need Py_BUILD_CORE).  Order matters in a few places:
 * pycore_pystate.h/pycore_interp.h need the runtime and GIL types first. */
#if PY_VERSION_HEX < PV(3, 9)
#include "internal/pycore_pystate.h"   /* _PyRuntimeState, struct _is */
#include "internal/pycore_gil.h"
#else
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_gil.h"
#endif
#if PY_VERSION_HEX >= PV(3, 10)
#include "internal/pycore_moduleobject.h"
#endif
#if PY_VERSION_HEX >= PV(3, 11)
#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_object.h"
#include "internal/pycore_genobject.h"
#include "internal/pycore_long.h"
#endif
#if PY_VERSION_HEX >= PV(3, 13)
#include "internal/pycore_tstate.h"
#endif
#if PY_VERSION_HEX >= PV(3, 14)
#include "internal/pycore_interpframe_structs.h"
#include "internal/pycore_stackref.h"
#endif

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void emit(const char *key, long long value)
{
	printf("%s\t%lld\n", key, value);
}

static void absent(const char *key)
{
	printf("%s\t-\n", key);
}

#define EMIT(key, expr) emit(key, (long long)(expr))
#define OFF(key, type, member) EMIT(key, offsetof(type, member))
#define SZ(key, type) EMIT(key, sizeof(type))
#define ABSENT(key) absent(key)

/*
 * Bit number of the lowest set bit in the @len bytes at @base + @from,
 * counted little-endian from that byte (byte i, bit b -> i * 8 + b), i.e.
 * the shift to apply to a little-endian word read at @from.  Exits when no
 * bit is set (the caller set a bitfield that was not found).
 */
static long long lowest_bit(const char *what, const void *base, size_t from,
			    size_t len)
{
	const unsigned char *p = (const unsigned char *)base + from;

	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			if (p[i] & (1u << b))
				return (long long)(i * 8 + (size_t)b);
		}
	}
	fprintf(stderr, "probe: no bit set for %s\n", what);
	exit(1);
}

/* Number of set bits in the @len bytes at @base + @from. */
static int count_bits(const void *base, size_t from, size_t len)
{
	const unsigned char *p = (const unsigned char *)base + from;
	int n = 0;

	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++)
			n += (p[i] >> b) & 1;
	}
	return n;
}

static void probe_runtime(void)
{
	SZ("runtime.__size__", _PyRuntimeState);
#if PY_VERSION_HEX < PV(3, 9)
	OFF("runtime.finalizing", _PyRuntimeState, finalizing);
#else
	OFF("runtime.finalizing", _PyRuntimeState, _finalizing);
#endif
	OFF("runtime.interpreters_head", _PyRuntimeState, interpreters.head);
	OFF("runtime.interpreters_main", _PyRuntimeState, interpreters.main);
#if PY_VERSION_HEX < PV(3, 12)
	OFF("runtime.tstate_current", _PyRuntimeState, gilstate.tstate_current);
	OFF("runtime.gil", _PyRuntimeState, ceval.gil);
#else
	ABSENT("runtime.tstate_current");
	ABSENT("runtime.gil");
#endif
}

static void probe_gil(void)
{
	SZ("gil.__size__", struct _gil_runtime_state);
#ifdef Py_GIL_DISABLED
	OFF("gil.enabled", struct _gil_runtime_state, enabled);
#else
	ABSENT("gil.enabled");
#endif
	OFF("gil.last_holder", struct _gil_runtime_state, last_holder);
	OFF("gil.locked", struct _gil_runtime_state, locked);
	OFF("gil.switch_number", struct _gil_runtime_state, switch_number);
}

static void probe_interp(void)
{
	SZ("interp.__size__", PyInterpreterState);
	OFF("interp.next", PyInterpreterState, next);
	OFF("interp.id", PyInterpreterState, id);
#if PY_VERSION_HEX < PV(3, 11)
	OFF("interp.threads_head", PyInterpreterState, tstate_head);
#else
	OFF("interp.threads_head", PyInterpreterState, threads.head);
#endif
#if PY_VERSION_HEX >= PV(3, 13)
	OFF("interp.threads_main", PyInterpreterState, threads.main);
#else
	ABSENT("interp.threads_main");
#endif
#if PY_VERSION_HEX < PV(3, 12)
	OFF("interp.modules", PyInterpreterState, modules);
#else
	OFF("interp.modules", PyInterpreterState, imports.modules);
#endif
	OFF("interp.sysdict", PyInterpreterState, sysdict);
	OFF("interp.builtins", PyInterpreterState, builtins);
#if PY_VERSION_HEX >= PV(3, 12)
	OFF("interp.ceval_gil", PyInterpreterState, ceval.gil);
	OFF("interp.gil", PyInterpreterState, _gil);
#else
	ABSENT("interp.ceval_gil");
	ABSENT("interp.gil");
#endif
#if PY_VERSION_HEX >= PV(3, 14)
	OFF("interp.remote_debug", PyInterpreterState, config.remote_debug);
#else
	ABSENT("interp.remote_debug");
#endif
}

static void probe_tstate(void)
{
	SZ("tstate.__size__", PyThreadState);
	OFF("tstate.prev", PyThreadState, prev);
	OFF("tstate.next", PyThreadState, next);
	OFF("tstate.interp", PyThreadState, interp);
#if PY_VERSION_HEX >= PV(3, 13)
	OFF("tstate.eval_breaker", PyThreadState, eval_breaker);
#else
	ABSENT("tstate.eval_breaker");
#endif
#if PY_VERSION_HEX >= PV(3, 12)
	OFF("tstate.status", PyThreadState, _status);
#else
	ABSENT("tstate.status");
#endif
#if PY_VERSION_HEX >= PV(3, 14)
	OFF("tstate.holds_gil", PyThreadState, holds_gil);
#else
	ABSENT("tstate.holds_gil");
#endif
#if PY_VERSION_HEX >= PV(3, 13)
	OFF("tstate.state", PyThreadState, state);
#else
	ABSENT("tstate.state");
#endif
	/* 3.10 has a tstate->cframe too, but its CFrame has no current_frame:
	 * the frame chain still starts at tstate->frame there. */
#if PY_VERSION_HEX < PV(3, 11)
	OFF("tstate.frame", PyThreadState, frame);
	ABSENT("tstate.cframe");
	ABSENT("tstate.current_frame");
#elif PY_VERSION_HEX < PV(3, 13)
	ABSENT("tstate.frame");
	OFF("tstate.cframe", PyThreadState, cframe);
	ABSENT("tstate.current_frame");
#else
	ABSENT("tstate.frame");
	ABSENT("tstate.cframe");
	OFF("tstate.current_frame", PyThreadState, current_frame);
#endif
	OFF("tstate.dict", PyThreadState, dict);
	OFF("tstate.thread_id", PyThreadState, thread_id);
#if PY_VERSION_HEX >= PV(3, 11)
	OFF("tstate.native_thread_id", PyThreadState, native_thread_id);
	OFF("tstate.datastack_chunk", PyThreadState, datastack_chunk);
	OFF("tstate.datastack_top", PyThreadState, datastack_top);
#else
	ABSENT("tstate.native_thread_id");
	ABSENT("tstate.datastack_chunk");
	ABSENT("tstate.datastack_top");
#endif
#if PY_VERSION_HEX >= PV(3, 14)
	OFF("tstate.remote_debugger_support", PyThreadState,
	    remote_debugger_support);
#else
	ABSENT("tstate.remote_debugger_support");
#endif
}

static void probe_frames(void)
{
#if PY_VERSION_HEX >= PV(3, 11) && PY_VERSION_HEX < PV(3, 13)
	OFF("cframe.current_frame", _PyCFrame, current_frame);
#else
	ABSENT("cframe.current_frame");
#endif

#if PY_VERSION_HEX >= PV(3, 11)
	OFF("stackchunk.previous", _PyStackChunk, previous);
	OFF("stackchunk.size", _PyStackChunk, size);
	OFF("stackchunk.top", _PyStackChunk, top);
	OFF("stackchunk.data", _PyStackChunk, data);
#else
	ABSENT("stackchunk.previous");
	ABSENT("stackchunk.size");
	ABSENT("stackchunk.top");
	ABSENT("stackchunk.data");
#endif

	SZ("frameobj.__size__", PyFrameObject);
	OFF("frameobj.f_back", PyFrameObject, f_back);
#if PY_VERSION_HEX < PV(3, 11)
	OFF("frameobj.f_code", PyFrameObject, f_code);
	OFF("frameobj.f_lasti", PyFrameObject, f_lasti);
#else
	ABSENT("frameobj.f_code");
	ABSENT("frameobj.f_lasti");
#endif
	OFF("frameobj.f_lineno", PyFrameObject, f_lineno);
#if PY_VERSION_HEX < PV(3, 11)
	OFF("frameobj.f_localsplus", PyFrameObject, f_localsplus);
	ABSENT("frameobj.f_frame");
#else
	ABSENT("frameobj.f_localsplus");
	OFF("frameobj.f_frame", PyFrameObject, f_frame);
#endif

#if PY_VERSION_HEX >= PV(3, 11)
	SZ("iframe.__size__", _PyInterpreterFrame);
#if PY_VERSION_HEX < PV(3, 13)
	OFF("iframe.executable", _PyInterpreterFrame, f_code);
#else
	OFF("iframe.executable", _PyInterpreterFrame, f_executable);
#endif
	OFF("iframe.previous", _PyInterpreterFrame, previous);
#if PY_VERSION_HEX < PV(3, 12)
	OFF("iframe.funcobj", _PyInterpreterFrame, f_func);
#else
	OFF("iframe.funcobj", _PyInterpreterFrame, f_funcobj);
#endif
	OFF("iframe.globals", _PyInterpreterFrame, f_globals);
#if PY_VERSION_HEX < PV(3, 13)
	OFF("iframe.instr_ptr", _PyInterpreterFrame, prev_instr);
#else
	OFF("iframe.instr_ptr", _PyInterpreterFrame, instr_ptr);
#endif
#if PY_VERSION_HEX < PV(3, 14)
	OFF("iframe.stacktop", _PyInterpreterFrame, stacktop);
	ABSENT("iframe.stackpointer");
#else
	ABSENT("iframe.stacktop");
	OFF("iframe.stackpointer", _PyInterpreterFrame, stackpointer);
#endif
#if PY_VERSION_HEX >= PV(3, 14) && defined(Py_GIL_DISABLED)
	OFF("iframe.tlbc_index", _PyInterpreterFrame, tlbc_index);
#else
	ABSENT("iframe.tlbc_index");
#endif
#if PY_VERSION_HEX < PV(3, 12)
	OFF("iframe.is_entry", _PyInterpreterFrame, is_entry);
#else
	ABSENT("iframe.is_entry");
#endif
	OFF("iframe.owner", _PyInterpreterFrame, owner);
	OFF("iframe.localsplus", _PyInterpreterFrame, localsplus);
#else
	ABSENT("iframe.__size__");
	ABSENT("iframe.executable");
	ABSENT("iframe.previous");
	ABSENT("iframe.funcobj");
	ABSENT("iframe.globals");
	ABSENT("iframe.instr_ptr");
	ABSENT("iframe.stacktop");
	ABSENT("iframe.stackpointer");
	ABSENT("iframe.tlbc_index");
	ABSENT("iframe.is_entry");
	ABSENT("iframe.owner");
	ABSENT("iframe.localsplus");
#endif
}

static void probe_code(void)
{
	SZ("code.__size__", PyCodeObject);
	OFF("code.argcount", PyCodeObject, co_argcount);
	OFF("code.posonlyargcount", PyCodeObject, co_posonlyargcount);
	OFF("code.kwonlyargcount", PyCodeObject, co_kwonlyargcount);
	OFF("code.nlocals", PyCodeObject, co_nlocals);
#if PY_VERSION_HEX >= PV(3, 11)
	OFF("code.nlocalsplus", PyCodeObject, co_nlocalsplus);
#else
	ABSENT("code.nlocalsplus");
#endif
	OFF("code.flags", PyCodeObject, co_flags);
	OFF("code.firstlineno", PyCodeObject, co_firstlineno);
#if PY_VERSION_HEX < PV(3, 11)
	OFF("code.code", PyCodeObject, co_code);
	OFF("code.varnames", PyCodeObject, co_varnames);
	OFF("code.cellvars", PyCodeObject, co_cellvars);
	OFF("code.freevars", PyCodeObject, co_freevars);
	ABSENT("code.localsplusnames");
	ABSENT("code.localspluskinds");
#else
	/* 3.11+ keeps _co_code/_co_varnames/... only as lazily built caches
	 * (3.12+: in a separate struct); they are not the data. */
	ABSENT("code.code");
	ABSENT("code.varnames");
	ABSENT("code.cellvars");
	ABSENT("code.freevars");
	OFF("code.localsplusnames", PyCodeObject, co_localsplusnames);
	OFF("code.localspluskinds", PyCodeObject, co_localspluskinds);
#endif
	OFF("code.filename", PyCodeObject, co_filename);
	OFF("code.name", PyCodeObject, co_name);
#if PY_VERSION_HEX >= PV(3, 11)
	OFF("code.qualname", PyCodeObject, co_qualname);
#else
	ABSENT("code.qualname");
#endif
#if PY_VERSION_HEX < PV(3, 10)
	OFF("code.linetable", PyCodeObject, co_lnotab);
#else
	OFF("code.linetable", PyCodeObject, co_linetable);
#endif
	/* _co_firsttraceable exists from 3.11 (3.11's _PyFrame_IsIncomplete
	 * already uses it), not only from 3.12. */
#if PY_VERSION_HEX >= PV(3, 11)
	OFF("code.firsttraceable", PyCodeObject, _co_firsttraceable);
	OFF("code.code_adaptive", PyCodeObject, co_code_adaptive);
#else
	ABSENT("code.firsttraceable");
	ABSENT("code.code_adaptive");
#endif
#if PY_VERSION_HEX >= PV(3, 14) && defined(Py_GIL_DISABLED)
	OFF("code.tlbc", PyCodeObject, co_tlbc);
#else
	ABSENT("code.tlbc");
#endif
}

static void probe_objects(void)
{
	SZ("object.__size__", PyObject);
	OFF("object.ob_type", PyObject, ob_type);
	OFF("varobject.ob_size", PyVarObject, ob_size);
	OFF("type.tp_name", PyTypeObject, tp_name);
	OFF("type.tp_basicsize", PyTypeObject, tp_basicsize);
	OFF("type.tp_flags", PyTypeObject, tp_flags);
	OFF("type.tp_dictoffset", PyTypeObject, tp_dictoffset);
	/* ht_cached_keys exists in every supported version (since 3.3). */
	OFF("heaptype.ht_cached_keys", PyHeapTypeObject, ht_cached_keys);

	SZ("ascii.__size__", PyASCIIObject);
	SZ("compact.__size__", PyCompactUnicodeObject);
	OFF("unicode.length", PyASCIIObject, length);
	OFF("unicode.state", PyASCIIObject, state);
#if PY_VERSION_HEX < PV(3, 12)
	OFF("unicode.wstr", PyASCIIObject, wstr);
#else
	ABSENT("unicode.wstr");
#endif
	OFF("unicode.utf8_length", PyCompactUnicodeObject, utf8_length);
	OFF("unicode.utf8", PyCompactUnicodeObject, utf8);
	OFF("unicode.data", PyUnicodeObject, data);

	OFF("bytes.ob_sval", PyBytesObject, ob_sval);
	OFF("tuple.ob_item", PyTupleObject, ob_item);
	OFF("list.ob_item", PyListObject, ob_item);
	OFF("float.ob_fval", PyFloatObject, ob_fval);
	OFF("cell.ob_ref", PyCellObject, ob_ref);
#if PY_VERSION_HEX >= PV(3, 10)
	OFF("module.md_dict", PyModuleObject, md_dict);
#else
	/* PyModuleObject is private to Objects/moduleobject.c before 3.10:
	 * offsets/supplement-3.X.tsv provides it. */
	ABSENT("module.md_dict");
#endif

#if PY_VERSION_HEX >= PV(3, 12)
	OFF("long.lv_tag", PyLongObject, long_value.lv_tag);
	OFF("long.ob_digit", PyLongObject, long_value.ob_digit);
#else
	ABSENT("long.lv_tag");
	OFF("long.ob_digit", PyLongObject, ob_digit);
#endif

	OFF("dict.ma_used", PyDictObject, ma_used);
	OFF("dict.ma_keys", PyDictObject, ma_keys);
	OFF("dict.ma_values", PyDictObject, ma_values);
#if PY_VERSION_HEX >= PV(3, 11)
	ABSENT("dictkeys.dk_size");
	OFF("dictkeys.dk_log2_size", PyDictKeysObject, dk_log2_size);
	OFF("dictkeys.dk_log2_index_bytes", PyDictKeysObject,
	    dk_log2_index_bytes);
	OFF("dictkeys.dk_kind", PyDictKeysObject, dk_kind);
	OFF("dictkeys.dk_nentries", PyDictKeysObject, dk_nentries);
	OFF("dictkeys.dk_indices", PyDictKeysObject, dk_indices);
	OFF("dictvalues.values", PyDictValues, values);
#else
	/* PyDictKeysObject is private to Objects/dict-common.h before 3.11:
	 * offsets/supplement-3.X.tsv provides dk_size, dk_nentries and
	 * dk_indices.  There is no PyDictValues (ma_values is PyObject **). */
	ABSENT("dictkeys.dk_size");
	ABSENT("dictkeys.dk_log2_size");
	ABSENT("dictkeys.dk_log2_index_bytes");
	ABSENT("dictkeys.dk_kind");
	ABSENT("dictkeys.dk_nentries");
	ABSENT("dictkeys.dk_indices");
	ABSENT("dictvalues.values");
#endif

#if PY_VERSION_HEX < PV(3, 11)
	OFF("gen.gi_frame", PyGenObject, gi_frame);
	ABSENT("gen.gi_frame_state");
	ABSENT("gen.gi_iframe");
#else
	ABSENT("gen.gi_frame");
	OFF("gen.gi_frame_state", PyGenObject, gi_frame_state);
	OFF("gen.gi_iframe", PyGenObject, gi_iframe);
#endif
}

#if PY_VERSION_HEX >= PV(3, 11) && PY_VERSION_HEX < PV(3, 13)
/*
 * A fake object whose type has Py_TPFLAGS_MANAGED_DICT, inside a buffer
 * with room before it, so that the headers' own inline helpers can be
 * called (their asserts read the type) and the pointers they return
 * compared with the object address.
 */
static PyTypeObject fake_type;
static _Alignas(16) unsigned char fake_mem[256];

static PyObject *fake_object(void)
{
	PyObject *obj = (PyObject *)(fake_mem + 128);

	fake_type.tp_flags = Py_TPFLAGS_MANAGED_DICT;
	obj->ob_type = &fake_type;
	return obj;
}
#endif

static void probe_consts(void)
{
#if PY_VERSION_HEX >= PV(3, 11)
	EMIT("const.owner_thread", FRAME_OWNED_BY_THREAD);
	EMIT("const.owner_generator", FRAME_OWNED_BY_GENERATOR);
	EMIT("const.owner_frame_object", FRAME_OWNED_BY_FRAME_OBJECT);
#else
	ABSENT("const.owner_thread");
	ABSENT("const.owner_generator");
	ABSENT("const.owner_frame_object");
#endif
#if PY_VERSION_HEX >= PV(3, 12)
	EMIT("const.owner_cstack", FRAME_OWNED_BY_CSTACK);
#else
	ABSENT("const.owner_cstack");
#endif
#if PY_VERSION_HEX >= PV(3, 14)
	EMIT("const.owner_interpreter", FRAME_OWNED_BY_INTERPRETER);
	EMIT("const.stackref_tag_bits", Py_TAG_BITS);
#else
	ABSENT("const.owner_interpreter");
	ABSENT("const.stackref_tag_bits");
#endif

	/* Bit positions inside PyASCIIObject.state, measured. */
	{
		static PyASCIIObject u;
		size_t at = offsetof(PyASCIIObject, state);
		size_t len = sizeof(u.state);
		long long shift;

		memset(&u, 0, sizeof(u));
		u.state.kind = 7;
		shift = lowest_bit("state.kind", &u, at, len);
		if (count_bits(&u, at, len) != 3) {
			fprintf(stderr, "probe: state.kind is not 3 bits\n");
			exit(1);
		}
		EMIT("const.unicode_kind_shift", shift);

		memset(&u, 0, sizeof(u));
		u.state.compact = 1;
		EMIT("const.unicode_compact_bit",
		     lowest_bit("state.compact", &u, at, len));

		memset(&u, 0, sizeof(u));
		u.state.ascii = 1;
		EMIT("const.unicode_ascii_bit",
		     lowest_bit("state.ascii", &u, at, len));

#if PY_VERSION_HEX < PV(3, 12)
		memset(&u, 0, sizeof(u));
		u.state.ready = 1;
		EMIT("const.unicode_ready_bit",
		     lowest_bit("state.ready", &u, at, len));
#else
		ABSENT("const.unicode_ready_bit");
#endif
	}

#if PY_VERSION_HEX >= PV(3, 13) && PY_VERSION_HEX < PV(3, 14)
	{
		static PyThreadState ts;

		memset(&ts, 0, sizeof(ts));
		ts._status.holds_gil = 1;
		EMIT("const.holds_gil_bit",
		     lowest_bit("_status.holds_gil", &ts,
				offsetof(PyThreadState, _status),
				sizeof(ts._status)));
	}
#else
	ABSENT("const.holds_gil_bit");
#endif
#if PY_VERSION_HEX >= PV(3, 13)
	EMIT("const.thread_attached", _Py_THREAD_ATTACHED);
#else
	ABSENT("const.thread_attached");
#endif

	/* Managed dict: 3.11 has the macro plus a values pointer one word
	 * further back; 3.12 has no macro, only the tagged dict-or-values
	 * word; 3.13+ has the macro again. */
#if PY_VERSION_HEX >= PV(3, 11) && PY_VERSION_HEX < PV(3, 12)
	{
		PyObject *obj = fake_object();

		EMIT("const.managed_dict_offset", MANAGED_DICT_OFFSET);
		EMIT("const.managed_values_offset",
		     (char *)_PyObject_ValuesPointer(obj) - (char *)obj);
		if ((char *)_PyObject_ManagedDictPointer(obj) - (char *)obj !=
		    MANAGED_DICT_OFFSET) {
			fprintf(stderr, "probe: MANAGED_DICT_OFFSET mismatch\n");
			exit(1);
		}
	}
#elif PY_VERSION_HEX >= PV(3, 12) && PY_VERSION_HEX < PV(3, 13)
	{
		PyObject *obj = fake_object();

		EMIT("const.managed_dict_offset",
		     (char *)_PyObject_DictOrValuesPointer(obj) - (char *)obj);
		ABSENT("const.managed_values_offset");
	}
#elif PY_VERSION_HEX >= PV(3, 13)
	EMIT("const.managed_dict_offset", MANAGED_DICT_OFFSET);
	ABSENT("const.managed_values_offset");
#else
	ABSENT("const.managed_dict_offset");
	ABSENT("const.managed_values_offset");
#endif

#if PY_VERSION_HEX >= PV(3, 11)
	EMIT("const.tpflags_managed_dict", Py_TPFLAGS_MANAGED_DICT);
#else
	ABSENT("const.tpflags_managed_dict");
#endif
#if PY_VERSION_HEX >= PV(3, 13)
	EMIT("const.tpflags_inline_values", Py_TPFLAGS_INLINE_VALUES);
#else
	ABSENT("const.tpflags_inline_values");
#endif
#if PY_VERSION_HEX >= PV(3, 11)
	EMIT("const.co_fast_local", CO_FAST_LOCAL);
	EMIT("const.co_fast_cell", CO_FAST_CELL);
	EMIT("const.co_fast_free", CO_FAST_FREE);
#else
	ABSENT("const.co_fast_local");
	ABSENT("const.co_fast_cell");
	ABSENT("const.co_fast_free");
#endif
	EMIT("const.co_varargs", CO_VARARGS);
	EMIT("const.co_varkeywords", CO_VARKEYWORDS);
	EMIT("const.long_shift", PyLong_SHIFT);
#if PY_VERSION_HEX >= PV(3, 11)
	EMIT("const.dict_keys_general", DICT_KEYS_GENERAL);
#else
	ABSENT("const.dict_keys_general");
#endif
}

int main(void)
{
	printf("# PY_VERSION\t%s\n", PY_VERSION);
#ifdef Py_GIL_DISABLED
	printf("# Py_GIL_DISABLED\t1\n");
#else
	printf("# Py_GIL_DISABLED\t0\n");
#endif
	probe_runtime();
	probe_gil();
	probe_interp();
	probe_tstate();
	probe_frames();
	probe_code();
	probe_objects();
	probe_consts();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("probe: stdout");
		return 1;
	}
	return 0;
}
