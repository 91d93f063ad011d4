/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dict internals across 3.8-3.14: keys objects with 1/2/4/8-byte indices,
 * 24-byte general and 16-byte unicode entries, split tables whose values
 * live in ma_values, managed dicts and inline values on instances.
 */
#include "py_dict.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "py_str.h"

struct keys_view {
	uint64_t entries;   /* remote address of the first entry */
	size_t esize;       /* 24 or 16 */
	size_t key_off, value_off;
	int64_t nentries;
};

static int read_keys(struct py_proc *pp, uint64_t keys, struct keys_view *kv)
{
	const struct py_layout *l = &pp->layout;
	unsigned char buf[64];
	size_t len = (size_t)l->v[LF_dictkeys_dk_indices];
	uint64_t index_bytes;

	if (!py_ptr_ok(keys) || len > sizeof(buf))
		return PE_CORRUPT;
	if (py_proc__read(pp, keys, buf, len))
		return PE_TORN;
	kv->nentries = (int64_t)py_get(l, buf, len, LF_dictkeys_dk_nentries);
	if (layout_has(l, LF_dictkeys_dk_size)) {
		uint64_t size = py_get(l, buf, len, LF_dictkeys_dk_size);
		size_t w = size <= 0xff ? 1 : size <= 0xffff ? 2
					    : size <= 0xffffffffu ? 4 : 8;

		if (size > (1u << 26))
			return PE_CORRUPT;
		index_bytes = size * w;
		kv->esize = 24;
	} else {
		unsigned lib = (unsigned)py_get(l, buf, len,
						LF_dictkeys_dk_log2_index_bytes);
		unsigned kind = (unsigned)py_get(l, buf, len, LF_dictkeys_dk_kind);

		if (lib > 40)
			return PE_CORRUPT;
		index_bytes = 1ULL << lib;
		kv->esize = kind == (unsigned)l->v[LF_const_dict_keys_general]
				    ? 24 : 16;
	}
	kv->key_off = kv->esize == 24 ? 8 : 0;
	kv->value_off = kv->key_off + 8;
	kv->entries = keys + len + index_bytes;
	if (kv->nentries < 0 || kv->nentries > PY_DICT_MAX_ENTRIES)
		return kv->nentries < 0 ? PE_CORRUPT : PE_TOO_DEEP;
	return 0;
}

static uint64_t values_array(const struct py_layout *l, uint64_t values)
{
	if (!values)
		return 0;
	return values + (layout_has(l, LF_dictvalues_values)
				 ? (uint64_t)l->v[LF_dictvalues_values] : 0);
}

/* Walk a keys object; @values (split table) is NULL for combined dicts. */
static int foreach_keys(struct py_proc *pp, uint64_t keys, uint64_t values,
			py_dict_fn fn, void *ctx)
{
	struct keys_view kv;
	unsigned char *ents;
	uint64_t *vals = NULL;
	int ret;

	ret = read_keys(pp, keys, &kv);
	if (ret || !kv.nentries)
		return ret;
	ents = malloc((size_t)kv.nentries * kv.esize);
	if (values)
		vals = malloc((size_t)kv.nentries * 8);
	if (!ents || (values && !vals)) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = py_proc__read(pp, kv.entries, ents, (size_t)kv.nentries * kv.esize);
	if (!ret && vals)
		ret = py_proc__read(pp, values, vals, (size_t)kv.nentries * 8);
	if (ret) {
		ret = ret == -ESRCH ? ret : PE_TORN;
		goto out_free;
	}
	for (int64_t i = 0; i < kv.nentries && !ret; i++) {
		uint64_t k, v;

		memcpy(&k, ents + i * kv.esize + kv.key_off, 8);
		if (vals)
			v = vals[i];
		else
			memcpy(&v, ents + i * kv.esize + kv.value_off, 8);
		if (k && v)
			ret = fn(ctx, k, v);
	}
out_free:
	free(ents);
	free(vals);
	return ret;
}

int py_dict__foreach(struct py_proc *pp, uint64_t dict, py_dict_fn fn,
		     void *ctx)
{
	const struct py_layout *l = &pp->layout;
	unsigned char buf[64];
	size_t len = (size_t)l->v[LF_dict_ma_values] + 8;
	uint64_t keys, values;

	if (!py_ptr_ok(dict) || len > sizeof(buf))
		return PE_CORRUPT;
	if (py_proc__read(pp, dict, buf, len))
		return PE_TORN;
	keys = py_get(l, buf, len, LF_dict_ma_keys);
	values = py_get(l, buf, len, LF_dict_ma_values);
	return foreach_keys(pp, keys, values_array(l, values), fn, ctx);
}

struct str_match {
	struct py_proc *pp;
	const char *key;
	uint64_t value;
};

static int match_str(void *ctx, uint64_t key, uint64_t value)
{
	struct str_match *m = ctx;
	char buf[256];
	bool trunc;

	if (py_str__read(m->pp, key, buf, sizeof(buf), &trunc) || trunc)
		return 0;
	if (strcmp(buf, m->key))
		return 0;
	m->value = value;
	return 1;
}

int py_dict__get_str(struct py_proc *pp, uint64_t dict, const char *key,
		     uint64_t *value)
{
	struct str_match m = { pp, key, 0 };
	int ret = py_dict__foreach(pp, dict, match_str, &m);

	if (ret == 1) {
		*value = m.value;
		return 0;
	}
	return ret ? ret : PE_NO_SYMBOL;
}

static int getattr_in_values(struct py_proc *pp, uint64_t type,
			     uint64_t values, const char *name,
			     uint64_t *value)
{
	struct str_match m = { pp, name, 0 };
	uint64_t keys;
	int ret;

	ret = py_read_field(pp, type, LF_heaptype_ht_cached_keys, &keys);
	if (ret)
		return ret;
	ret = foreach_keys(pp, keys, values, match_str, &m);
	if (ret == 1) {
		*value = m.value;
		return 0;
	}
	return ret ? ret : PE_NO_SYMBOL;
}

/*
 * Where the attributes of @obj live: *dict (a dict object) or *values (a
 * values array paired with the type's cached keys).
 */
static int locate_attrs(struct py_proc *pp, uint64_t obj, uint64_t type,
			uint64_t *dict, uint64_t *values)
{
	const struct py_layout *l = &pp->layout;
	uint64_t flags, word, off, basic;
	int ret;

	*dict = *values = 0;
	ret = py_read_field(pp, type, LF_type_tp_flags, &flags);
	if (ret)
		return ret;
	if (!layout_has(l, LF_const_managed_dict_offset) ||
	    !(flags & (uint64_t)l->v[LF_const_tpflags_managed_dict])) {
		ret = py_read_field(pp, type, LF_type_tp_dictoffset, &off);
		if (ret || (int64_t)off <= 0)
			return ret ? ret : PE_NO_SYMBOL;
		return proc_mem__read_u64(&pp->mem, obj + off, dict);
	}
	ret = proc_mem__read_u64(
		&pp->mem, obj + (uint64_t)l->v[LF_const_managed_dict_offset],
		&word);
	if (ret)
		return ret;
	if (l->minor == 12 && (word & 1)) {
		*values = word + 1;
		return 0;
	}
	if (word) {
		*dict = word;
		return 0;
	}
	if (layout_has(l, LF_const_managed_values_offset))
		return proc_mem__read_u64(
			&pp->mem,
			obj + (uint64_t)l->v[LF_const_managed_values_offset],
			values);
	if (layout_has(l, LF_const_tpflags_inline_values) &&
	    (flags & (uint64_t)l->v[LF_const_tpflags_inline_values])) {
		ret = py_read_field(pp, type, LF_type_tp_basicsize, &basic);
		if (!ret)
			*values = obj + basic;
		return ret;
	}
	return PE_NO_SYMBOL;
}

int py_obj__getattr(struct py_proc *pp, uint64_t obj, const char *name,
		    uint64_t *value)
{
	uint64_t type, dict, values;
	int ret;

	if (!py_ptr_ok(obj))
		return PE_CORRUPT;
	ret = py_type_of(pp, obj, &type);
	if (!ret && !py_ptr_ok(type))
		ret = PE_CORRUPT;
	if (!ret)
		ret = locate_attrs(pp, obj, type, &dict, &values);
	if (ret)
		return ret;
	if (dict)
		return py_dict__get_str(pp, dict, name, value);
	if (values)
		return getattr_in_values(pp, type,
					 values_array(&pp->layout, values),
					 name, value);
	return PE_NO_SYMBOL;
}

int py_long__read(struct py_proc *pp, uint64_t addr, int64_t *out,
		  bool *negative)
{
	const struct py_layout *l = &pp->layout;
	unsigned char buf[64] = { 0 };
	int64_t off = l->v[LF_long_ob_digit];
	size_t hlen = (size_t)off, got = 12;
	uint32_t digits[3] = { 0 };
	uint64_t ndigits, val = 0;
	unsigned shift = (unsigned)l->v[LF_const_long_shift];
	int64_t size;
	bool neg;

	if (!py_ptr_ok(addr) || off < 0 || off > (int64_t)sizeof(buf) - 12 ||
	    shift < 15 || shift > 30)
		return PE_CORRUPT;
	if (py_proc__read(pp, addr, buf, hlen + 12)) {
		/* The object may end at a page edge: one digit at least. */
		if (py_proc__read(pp, addr, buf, hlen + 4))
			return PE_TORN;
		got = 4;
	}
	if (layout_has(l, LF_long_lv_tag)) {
		uint64_t tag = py_get(l, buf, hlen + 12, LF_long_lv_tag);

		ndigits = tag >> 3;
		neg = (tag & 3) == 2;
	} else {
		size = (int64_t)py_get(l, buf, hlen + 12, LF_varobject_ob_size);
		neg = size < 0;
		ndigits = neg ? 0 - (uint64_t)size : (uint64_t)size;
	}
	if (ndigits > 3 || ndigits * 4 > got)
		return -ERANGE;
	memcpy(digits, buf + hlen, ndigits * 4);
	for (uint64_t i = ndigits; i-- > 0;) {
		if (val >> (64 - shift))
			return -ERANGE;
		val = (val << shift) | digits[i];
	}
	/* Only values an int64_t holds: up to 2^63 - 1, down to -2^63. */
	if (val > (uint64_t)INT64_MAX + neg)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - val) : (int64_t)val;
	if (negative)
		*negative = neg;
	return 0;
}
