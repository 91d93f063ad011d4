/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registry of generated layout tables, field metadata from the
 * LAYOUT_FIELDS X-macro, and the self-check run by the unit tests.
 */
#include "layout.h"

#include <stdio.h>
#include <string.h>

extern const struct py_layout layout_3_8, layout_3_9, layout_3_10,
	layout_3_11, layout_3_12, layout_3_13, layout_3_14, layout_3_13t,
	layout_3_14t;

static const struct py_layout *const registry[] = {
	&layout_3_8,  &layout_3_9,  &layout_3_10,  &layout_3_11,  &layout_3_12,
	&layout_3_13, &layout_3_14, &layout_3_13t, &layout_3_14t,
};

#define REGISTRY_LEN (sizeof(registry) / sizeof(registry[0]))

static const char *const field_names[] = {
#define LAYOUT_NAME_ITEM(g, f, k) #g "." #f,
	LAYOUT_FIELDS(LAYOUT_NAME_ITEM)
#undef LAYOUT_NAME_ITEM
};

const enum layout_kind layout_field_kinds[LF__COUNT] = {
#define LAYOUT_KIND_ITEM(g, f, k) LK_##k,
	LAYOUT_FIELDS(LAYOUT_KIND_ITEM)
#undef LAYOUT_KIND_ITEM
};

const char *layout_field_name(enum layout_field f)
{
	return (unsigned)f < LF__COUNT ? field_names[f] : "?";
}

int layout_field_lookup(const char *name)
{
	for (int i = 0; i < LF__COUNT; i++)
		if (!strcmp(field_names[i], name))
			return i;
	return -1;
}

const struct py_layout *layout_find(unsigned major, unsigned minor,
				    enum layout_variant variant)
{
	for (size_t i = 0; i < REGISTRY_LEN; i++)
		if (registry[i]->major == major && registry[i]->minor == minor &&
		    registry[i]->variant == variant)
			return registry[i];
	return NULL;
}

size_t layout_all(const struct py_layout *const **tables)
{
	*tables = registry;
	return REGISTRY_LEN;
}

void layout_supported_list(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < REGISTRY_LEN && used < len; i++) {
		const struct py_layout *l = registry[i];
		int n;

		if (l->variant != LAYOUT_DEFAULT)
			continue;
		n = snprintf(buf + used, len - used, "%s%u.%u",
			     used ? ", " : "", l->major, l->minor);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Fields the walker cannot do without, by minor version range. */
static const struct {
	enum layout_field f;
	unsigned min, max;
} required[] = {
	{ LF_runtime_interpreters_head, 8, 99 },
	{ LF_runtime_interpreters_main, 8, 99 },
	{ LF_runtime_gil, 8, 11 },
	{ LF_gil_locked, 8, 99 },
	{ LF_gil_last_holder, 8, 99 },
	{ LF_interp_next, 8, 99 },
	{ LF_interp_id, 8, 99 },
	{ LF_interp_threads_head, 8, 99 },
	{ LF_interp_modules, 8, 99 },
	{ LF_interp_ceval_gil, 12, 99 },
	{ LF_tstate_next, 8, 99 },
	{ LF_tstate_interp, 8, 99 },
	{ LF_tstate_thread_id, 8, 99 },
	{ LF_tstate_native_thread_id, 11, 99 },
	{ LF_tstate_frame, 8, 10 },
	{ LF_tstate_cframe, 11, 12 },
	{ LF_cframe_current_frame, 11, 12 },
	{ LF_tstate_current_frame, 13, 99 },
	{ LF_frameobj_f_back, 8, 10 },
	{ LF_frameobj_f_code, 8, 10 },
	{ LF_frameobj_f_lasti, 8, 10 },
	{ LF_frameobj_f_localsplus, 8, 10 },
	{ LF_iframe_executable, 11, 99 },
	{ LF_iframe_previous, 11, 99 },
	{ LF_iframe_instr_ptr, 11, 99 },
	{ LF_iframe_owner, 11, 99 },
	{ LF_iframe_localsplus, 11, 99 },
	{ LF_code_firstlineno, 8, 99 },
	{ LF_code_filename, 8, 99 },
	{ LF_code_name, 8, 99 },
	{ LF_code_qualname, 11, 99 },
	{ LF_code_linetable, 8, 99 },
	{ LF_code_firsttraceable, 11, 99 },
	{ LF_code_code_adaptive, 11, 99 },
	{ LF_code_varnames, 8, 10 },
	{ LF_code_localsplusnames, 11, 99 },
	{ LF_code_localspluskinds, 11, 99 },
	{ LF_object_ob_type, 8, 99 },
	{ LF_varobject_ob_size, 8, 99 },
	{ LF_type_tp_name, 8, 99 },
	{ LF_type_tp_flags, 8, 99 },
	{ LF_type_tp_dictoffset, 8, 99 },
	{ LF_heaptype_ht_cached_keys, 11, 99 },
	{ LF_ascii___size__, 8, 99 },
	{ LF_compact___size__, 8, 99 },
	{ LF_unicode_length, 8, 99 },
	{ LF_unicode_state, 8, 99 },
	{ LF_unicode_data, 8, 99 },
	{ LF_bytes_ob_sval, 8, 99 },
	{ LF_tuple_ob_item, 8, 99 },
	{ LF_dict_ma_keys, 8, 99 },
	{ LF_dict_ma_values, 8, 99 },
	{ LF_dictkeys_dk_size, 8, 10 },
	{ LF_dictkeys_dk_log2_index_bytes, 11, 99 },
	{ LF_dictkeys_dk_kind, 11, 99 },
	{ LF_dictkeys_dk_nentries, 8, 99 },
	{ LF_dictkeys_dk_indices, 8, 99 },
	{ LF_module_md_dict, 8, 99 },
	{ LF_long_ob_digit, 8, 99 },
	{ LF_const_owner_cstack, 12, 99 },
	{ LF_const_owner_interpreter, 14, 99 },
	{ LF_const_stackref_tag_bits, 14, 99 },
	{ LF_const_unicode_kind_shift, 8, 99 },
	{ LF_const_unicode_compact_bit, 8, 99 },
	{ LF_const_unicode_ascii_bit, 8, 99 },
	{ LF_const_managed_dict_offset, 11, 99 },
	{ LF_const_long_shift, 8, 99 },
};

static int group_size(enum layout_field f, const struct py_layout *l,
		      int64_t *size)
{
	const char *name = field_names[f];
	const char *dot = strchr(name, '.');
	char key[64];
	int idx;

	snprintf(key, sizeof(key), "%.*s.__size__", (int)(dot - name), name);
	idx = layout_field_lookup(key);
	if (idx < 0 || !layout_has(l, (enum layout_field)idx))
		return -1;
	*size = l->v[idx];
	return 0;
}

int layout_validate(const struct py_layout *l, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (l->minor < required[i].min || l->minor > required[i].max)
			continue;
		if (!layout_has(l, required[i].f)) {
			snprintf(err, errlen, "%u.%u%s: required field %s is absent",
				 l->major, l->minor,
				 l->variant ? "t" : "",
				 field_names[required[i].f]);
			return -1;
		}
	}
	for (int f = 0; f < LF__COUNT; f++) {
		enum layout_kind k = layout_field_kinds[f];
		int64_t size;

		if (k == LK_SIZE || k == LK_CONST || !layout_has(l, f) ||
		    group_size(f, l, &size))
			continue;
		if (l->v[f] < 0 ||
		    l->v[f] + (int64_t)layout_kind_width(k) > size) {
			snprintf(err, errlen,
				 "%u.%u%s: %s = %lld lies outside its struct (size %lld)",
				 l->major, l->minor, l->variant ? "t" : "",
				 field_names[f], (long long)l->v[f],
				 (long long)size);
			return -1;
		}
	}
	return 0;
}
