/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The _Py_DebugOffsets field order of 3.13 and 3.14 (3.14 inserted fields
 * mid-struct, so each version has its own order), and the mapping from
 * those names to our layout fields.
 */
#include "debug_offsets.h"

#include <string.h>

#include "../errors.h"

#define NO_FIELD (-1)

/*
 * Every uint64_t after cookie/version/free_threaded, in 3.14 order.
 * since: the first minor that has the field; ft_only: meaningless (0) in
 * default builds.
 */
static const struct {
	const char *name;
	unsigned since;
	int field;
	int ft_only;
} words[] = {
	{ "runtime_state.size", 13, LF_runtime___size__, 0 },
	{ "runtime_state.finalizing", 13, LF_runtime_finalizing, 0 },
	{ "runtime_state.interpreters_head", 13, LF_runtime_interpreters_head, 0 },
	{ "interpreter_state.size", 13, LF_interp___size__, 0 },
	{ "interpreter_state.id", 13, LF_interp_id, 0 },
	{ "interpreter_state.next", 13, LF_interp_next, 0 },
	{ "interpreter_state.threads_head", 13, LF_interp_threads_head, 0 },
	{ "interpreter_state.threads_main", 14, LF_interp_threads_main, 0 },
	{ "interpreter_state.gc", 13, NO_FIELD, 0 },
	{ "interpreter_state.imports_modules", 13, LF_interp_modules, 0 },
	{ "interpreter_state.sysdict", 13, LF_interp_sysdict, 0 },
	{ "interpreter_state.builtins", 13, LF_interp_builtins, 0 },
	{ "interpreter_state.ceval_gil", 13, LF_interp_ceval_gil, 0 },
	{ "interpreter_state.gil_runtime_state", 13, LF_interp_gil, 0 },
	{ "interpreter_state.gil_runtime_state_enabled", 13, LF_gil_enabled, 1 },
	{ "interpreter_state.gil_runtime_state_locked", 13, NO_FIELD, 0 },
	{ "interpreter_state.gil_runtime_state_holder", 13, NO_FIELD, 0 },
	{ "interpreter_state.code_object_generation", 14, NO_FIELD, 0 },
	{ "interpreter_state.tlbc_generation", 14, NO_FIELD, 1 },
	{ "thread_state.size", 13, LF_tstate___size__, 0 },
	{ "thread_state.prev", 13, LF_tstate_prev, 0 },
	{ "thread_state.next", 13, LF_tstate_next, 0 },
	{ "thread_state.interp", 13, LF_tstate_interp, 0 },
	{ "thread_state.current_frame", 13, LF_tstate_current_frame, 0 },
	{ "thread_state.thread_id", 13, LF_tstate_thread_id, 0 },
	{ "thread_state.native_thread_id", 13, LF_tstate_native_thread_id, 0 },
	{ "thread_state.datastack_chunk", 13, LF_tstate_datastack_chunk, 0 },
	{ "thread_state.status", 13, LF_tstate_status, 0 },
	{ "interpreter_frame.size", 13, LF_iframe___size__, 0 },
	{ "interpreter_frame.previous", 13, LF_iframe_previous, 0 },
	{ "interpreter_frame.executable", 13, LF_iframe_executable, 0 },
	{ "interpreter_frame.instr_ptr", 13, LF_iframe_instr_ptr, 0 },
	{ "interpreter_frame.localsplus", 13, LF_iframe_localsplus, 0 },
	{ "interpreter_frame.owner", 13, LF_iframe_owner, 0 },
	{ "interpreter_frame.stackpointer", 14, LF_iframe_stackpointer, 0 },
	{ "interpreter_frame.tlbc_index", 14, LF_iframe_tlbc_index, 1 },
	{ "code_object.size", 13, LF_code___size__, 0 },
	{ "code_object.filename", 13, LF_code_filename, 0 },
	{ "code_object.name", 13, LF_code_name, 0 },
	{ "code_object.qualname", 13, LF_code_qualname, 0 },
	{ "code_object.linetable", 13, LF_code_linetable, 0 },
	{ "code_object.firstlineno", 13, LF_code_firstlineno, 0 },
	{ "code_object.argcount", 13, LF_code_argcount, 0 },
	{ "code_object.localsplusnames", 13, LF_code_localsplusnames, 0 },
	{ "code_object.localspluskinds", 13, LF_code_localspluskinds, 0 },
	{ "code_object.co_code_adaptive", 13, LF_code_code_adaptive, 0 },
	{ "code_object.co_tlbc", 14, LF_code_tlbc, 1 },
	{ "pyobject.size", 13, LF_object___size__, 0 },
	{ "pyobject.ob_type", 13, LF_object_ob_type, 0 },
	{ "type_object.size", 13, NO_FIELD, 0 },
	{ "type_object.tp_name", 13, LF_type_tp_name, 0 },
	{ "type_object.tp_repr", 13, NO_FIELD, 0 },
	{ "type_object.tp_flags", 13, LF_type_tp_flags, 0 },
	{ "tuple_object.size", 13, NO_FIELD, 0 },
	{ "tuple_object.ob_item", 13, LF_tuple_ob_item, 0 },
	{ "tuple_object.ob_size", 13, LF_varobject_ob_size, 0 },
	{ "list_object.size", 13, NO_FIELD, 0 },
	{ "list_object.ob_item", 13, LF_list_ob_item, 0 },
	{ "list_object.ob_size", 13, LF_varobject_ob_size, 0 },
	{ "set_object.size", 14, NO_FIELD, 0 },
	{ "set_object.used", 14, NO_FIELD, 0 },
	{ "set_object.table", 14, NO_FIELD, 0 },
	{ "set_object.mask", 14, NO_FIELD, 0 },
	{ "dict_object.size", 13, NO_FIELD, 0 },
	{ "dict_object.ma_keys", 13, LF_dict_ma_keys, 0 },
	{ "dict_object.ma_values", 13, LF_dict_ma_values, 0 },
	{ "float_object.size", 13, NO_FIELD, 0 },
	{ "float_object.ob_fval", 13, LF_float_ob_fval, 0 },
	{ "long_object.size", 13, NO_FIELD, 0 },
	{ "long_object.lv_tag", 13, LF_long_lv_tag, 0 },
	{ "long_object.ob_digit", 13, LF_long_ob_digit, 0 },
	{ "bytes_object.size", 13, NO_FIELD, 0 },
	{ "bytes_object.ob_size", 13, LF_varobject_ob_size, 0 },
	{ "bytes_object.ob_sval", 13, LF_bytes_ob_sval, 0 },
	{ "unicode_object.size", 13, NO_FIELD, 0 },
	{ "unicode_object.state", 13, LF_unicode_state, 0 },
	{ "unicode_object.length", 13, LF_unicode_length, 0 },
	{ "unicode_object.asciiobject_size", 13, LF_ascii___size__, 0 },
	{ "gc.size", 13, NO_FIELD, 0 },
	{ "gc.collecting", 13, NO_FIELD, 0 },
	{ "gen_object.size", 14, NO_FIELD, 0 },
	{ "gen_object.gi_name", 14, NO_FIELD, 0 },
	{ "gen_object.gi_iframe", 14, LF_gen_gi_iframe, 0 },
	{ "gen_object.gi_frame_state", 14, LF_gen_gi_frame_state, 0 },
	{ "llist_node.next", 14, NO_FIELD, 0 },
	{ "llist_node.prev", 14, NO_FIELD, 0 },
	{ "debugger_support.eval_breaker", 14, LF_tstate_eval_breaker, 0 },
	{ "debugger_support.remote_debugger_support", 14,
	  LF_tstate_remote_debugger_support, 0 },
	{ "debugger_support.remote_debugging_enabled", 14, LF_interp_remote_debug, 0 },
	{ "debugger_support.debugger_pending_call", 14, NO_FIELD, 0 },
	{ "debugger_support.debugger_script_path", 14, NO_FIELD, 0 },
	{ "debugger_support.debugger_script_path_size", 14, NO_FIELD, 0 },
};

#define NWORDS (sizeof(words) / sizeof(words[0]))
#define HEADER 24

static size_t count_for(unsigned minor)
{
	size_t n = 0;

	for (size_t i = 0; i < NWORDS; i++)
		n += words[i].since <= minor;
	return n;
}

size_t debug_offsets__size(unsigned minor)
{
	if (minor != 13 && minor != 14)
		return 0;
	return HEADER + 8 * count_for(minor);
}

int debug_offsets__parse(struct debug_offsets *d, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t need;

	memset(d, 0, sizeof(*d));
	if (len < HEADER || memcmp(p, "xdebugpy", 8))
		return PE_CORRUPT;
	memcpy(&d->version, p + 8, 8);
	memcpy(&d->free_threaded, p + 16, 8);
	d->minor = (unsigned)((d->version >> 16) & 0xff);
	if ((d->version >> 24) != 3 || (d->minor != 13 && d->minor != 14))
		return PE_UNSUPPORTED;
	need = debug_offsets__size(d->minor);
	if (len < need)
		return PE_CORRUPT;
	d->nwords = count_for(d->minor);
	memcpy(d->w, p + HEADER, d->nwords * 8);
	return 0;
}

static int word_index(const struct debug_offsets *d, size_t i)
{
	size_t idx = 0;

	if (words[i].since > d->minor)
		return -1;
	for (size_t j = 0; j < i; j++)
		idx += words[j].since <= d->minor;
	return (int)idx;
}

/* The index in d->w of the word named @name, or -1. */
static int find_word(const struct debug_offsets *d, const char *name)
{
	for (size_t i = 0; i < NWORDS; i++)
		if (!strcmp(words[i].name, name))
			return word_index(d, i);
	return -1;
}

int debug_offsets__get(const struct debug_offsets *d, const char *name,
		       uint64_t *out)
{
	int idx = find_word(d, name);

	if (idx < 0)
		return -1;
	*out = d->w[idx];
	return 0;
}

int debug_offsets__set(struct debug_offsets *d, const char *name,
		       uint64_t value)
{
	int idx = find_word(d, name);

	if (idx < 0)
		return -1;
	d->w[idx] = value;
	return 0;
}

int debug_offsets__fill_from(struct debug_offsets *d,
			     const struct py_layout *l)
{
	int n = 0;

	for (size_t i = 0; i < NWORDS; i++) {
		int idx = word_index(d, i);

		if (idx < 0 || words[i].field == NO_FIELD ||
		    !layout_has(l, (enum layout_field)words[i].field))
			continue;
		d->w[idx] = (uint64_t)l->v[words[i].field];
		n++;
	}
	return n;
}

int debug_offsets__apply(const struct debug_offsets *d, struct py_layout *l,
			 debug_offsets_mismatch_fn fn, void *ctx)
{
	int diffs = 0;

	for (size_t i = 0; i < NWORDS; i++) {
		int idx = word_index(d, i);
		enum layout_field f;
		int64_t theirs;

		if (idx < 0 || words[i].field == NO_FIELD ||
		    (words[i].ft_only && !d->free_threaded))
			continue;
		f = (enum layout_field)words[i].field;
		theirs = (int64_t)d->w[idx];
		if (layout_has(l, f) && l->v[f] == theirs)
			continue;
		if (fn)
			fn(ctx, words[i].name, f, l->v[f], theirs);
		if (layout_field_kind(f) != LK_SIZE)
			diffs++;
		l->v[f] = theirs;
	}
	return diffs;
}
