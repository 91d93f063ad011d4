/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads local variable names (co_varnames/cellvars/freevars before 3.11,
 * co_localsplusnames after) and values from the frame's locals array, and
 * renders bounded reprs by exact type.
 */
#include "py_locals.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "py_dict.h"
#include "py_str.h"

#define REPR_STR_CHARS 60

static int tuple_items(struct py_proc *pp, uint64_t tuple, uint64_t *items,
		       size_t cap, size_t *n)
{
	uint64_t size;
	int ret;

	*n = 0;
	if (!tuple)
		return 0;
	ret = py_read_field(pp, tuple, LF_varobject_ob_size, &size);
	if (ret)
		return ret;
	if ((int64_t)size < 0 || size > (1u << 20))
		return PE_CORRUPT;
	*n = size > cap ? cap : (size_t)size;
	return py_proc__read(pp, tuple + (uint64_t)pp->layout.v[LF_tuple_ob_item],
			     items, *n * 8);
}

static void quote_str(const char *s, char q, char *buf, size_t len,
		      bool truncated)
{
	size_t pos = 0;

	buf[pos++] = q;
	for (; *s && pos + 8 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == (unsigned char)q || c == '\\')
			pos += (size_t)snprintf(buf + pos, len - pos, "\\%c", c);
		else if (c == '\n')
			pos += (size_t)snprintf(buf + pos, len - pos, "\\n");
		else if (c < 0x20 || c == 0x7f)
			pos += (size_t)snprintf(buf + pos, len - pos, "\\x%02x", c);
		else
			buf[pos++] = (char)c;
	}
	if (*s || truncated)
		pos += (size_t)snprintf(buf + pos, len - pos, "...");
	snprintf(buf + pos, len - pos, "%c", q);
}

static void repr_str(struct py_proc *pp, uint64_t obj, char *buf, size_t len)
{
	char tmp[4 * REPR_STR_CHARS + 1];
	bool trunc;

	if (py_str__read(pp, obj, tmp, sizeof(tmp), &trunc))
		snprintf(buf, len, "<str at 0x%" PRIx64 ">", obj);
	else
		quote_str(tmp, '\'', buf, len, trunc);
}

static void repr_bytes(struct py_proc *pp, uint64_t obj, char *buf,
		       size_t len)
{
	uint8_t *data = NULL;
	size_t n = 0, pos = 0, i;

	if (py_bytes__read(pp, obj, 1u << 20, &data, &n)) {
		snprintf(buf, len, "<bytes at 0x%" PRIx64 ">", obj);
		return;
	}
	pos += (size_t)snprintf(buf, len, "b'");
	for (i = 0; i < n && i < REPR_STR_CHARS && pos + 10 < len; i++) {
		uint8_t c = data[i];

		if (c == '\'' || c == '\\')
			pos += (size_t)snprintf(buf + pos, len - pos, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			buf[pos++] = (char)c;
		else
			pos += (size_t)snprintf(buf + pos, len - pos, "\\x%02x", c);
	}
	snprintf(buf + pos, len - pos, "%s'", i < n ? "..." : "");
	free(data);
}

static void repr_float(struct py_proc *pp, uint64_t obj, char *buf,
		       size_t len)
{
	double d;

	if (!layout_has(&pp->layout, LF_float_ob_fval) ||
	    py_proc__read(pp, obj + (uint64_t)pp->layout.v[LF_float_ob_fval],
			  &d, sizeof(d))) {
		snprintf(buf, len, "<float at 0x%" PRIx64 ">", obj);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (!strpbrk(buf, ".eni"))
		strncat(buf, ".0", len - strlen(buf) - 1);
}

static void repr_container(struct py_proc *pp, uint64_t obj, uint64_t type,
			   const char *tname, char *buf, size_t len)
{
	uint64_t n = 0;
	int ret = -1;

	if (type == pp->rt.sym[PY_SYM_dict_type])
		ret = py_read_field(pp, obj, LF_dict_ma_used, &n);
	else if (type != pp->rt.sym[PY_SYM_set_type])
		ret = py_read_field(pp, obj, LF_varobject_ob_size, &n);
	if (!ret)
		snprintf(buf, len, "<%s at 0x%" PRIx64 " len=%" PRIu64 ">",
			 tname, obj, n);
	else
		snprintf(buf, len, "<%s at 0x%" PRIx64 ">", tname, obj);
}

static void type_name(struct py_proc *pp, uint64_t type, char *buf,
		      size_t len)
{
	uint64_t p;
	size_t got = 0;

	snprintf(buf, len, "object");
	if (py_read_field(pp, type, LF_type_tp_name, &p) || !p)
		return;
	if (proc_mem__read_partial(&pp->mem, p, buf, len - 1, &got) || !got ||
	    !buf[0]) {
		snprintf(buf, len, "object");
		return;
	}
	buf[got < len ? got : len - 1] = '\0';
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = '?';
}

void py_repr(struct py_proc *pp, uint64_t obj, char *buf, size_t len)
{
	const uint64_t *sym = pp->rt.sym;
	uint64_t type;
	int64_t v;
	char tname[64];

	if (obj == sym[PY_SYM_none] && obj) {
		snprintf(buf, len, "None");
		return;
	}
	if (py_type_of(pp, obj, &type) || !py_ptr_ok(type)) {
		snprintf(buf, len, "<unreadable at 0x%" PRIx64 ">", obj);
		return;
	}
	if (type == sym[PY_SYM_bool_type] && !py_long__read(pp, obj, &v, NULL))
		snprintf(buf, len, "%s", v ? "True" : "False");
	else if (type == sym[PY_SYM_long_type] &&
		 !py_long__read(pp, obj, &v, NULL))
		snprintf(buf, len, "%" PRId64, v);
	else if (type == sym[PY_SYM_float_type])
		repr_float(pp, obj, buf, len);
	else if (type == sym[PY_SYM_unicode_type])
		repr_str(pp, obj, buf, len);
	else if (type == sym[PY_SYM_bytes_type])
		repr_bytes(pp, obj, buf, len);
	else {
		type_name(pp, type, tname, sizeof(tname));
		if (type == sym[PY_SYM_tuple_type] ||
		    type == sym[PY_SYM_list_type] ||
		    type == sym[PY_SYM_dict_type] || type == sym[PY_SYM_set_type])
			repr_container(pp, obj, type, tname, buf, len);
		else
			snprintf(buf, len, "<%s at 0x%" PRIx64 ">", tname, obj);
	}
}

/* Names of the locals array slots, and which are cells. */
struct slots {
	uint64_t names[PY_LOCALS_MAX];
	uint8_t kinds[PY_LOCALS_MAX];
	size_t n;
};

static int slots_before_311(struct py_proc *pp, const struct py_code *c,
			    struct slots *s)
{
	size_t n1, n2, n3;
	int ret;

	ret = tuple_items(pp, c->varnames, s->names, PY_LOCALS_MAX, &n1);
	if (!ret)
		ret = tuple_items(pp, c->cellvars, s->names + n1,
				  PY_LOCALS_MAX - n1, &n2);
	if (!ret)
		ret = tuple_items(pp, c->freevars, s->names + n1 + n2,
				  PY_LOCALS_MAX - n1 - n2, &n3);
	if (ret)
		return ret;
	s->n = n1 + n2 + n3;
	memset(s->kinds, 0, sizeof(s->kinds));
	for (size_t i = n1; i < s->n; i++)
		s->kinds[i] = 1;
	return 0;
}

static int slots_311(struct py_proc *pp, const struct py_code *c,
		     struct slots *s)
{
	const struct py_layout *l = &pp->layout;
	uint8_t cellmask = (uint8_t)(l->v[LF_const_co_fast_cell] |
				     l->v[LF_const_co_fast_free]);
	uint8_t *kinds = NULL;
	size_t nk = 0;
	int ret;

	ret = tuple_items(pp, c->localsplusnames, s->names, PY_LOCALS_MAX,
			  &s->n);
	if (!ret)
		ret = py_bytes__read(pp, c->localspluskinds, 1u << 20,
				     &kinds, &nk);
	if (ret)
		return ret;
	for (size_t i = 0; i < s->n; i++)
		s->kinds[i] = i < nk && (kinds[i] & cellmask);
	free(kinds);
	return 0;
}

static uint64_t slot_value(struct py_proc *pp, uint64_t v, bool cell)
{
	const struct py_layout *l = &pp->layout;
	uint64_t type, inner;

	if (layout_has(l, LF_const_stackref_tag_bits))
		v &= ~(uint64_t)l->v[LF_const_stackref_tag_bits];
	if (!v || !cell)
		return v;
	if (!py_type_of(pp, v, &type) && type == pp->rt.sym[PY_SYM_cell_type] &&
	    !py_read_field(pp, v, LF_cell_ob_ref, &inner))
		return inner;
	return v;
}

int py_locals__read(struct py_proc *pp, const struct py_frame *f,
		    struct py_local *out, size_t cap, size_t *n)
{
	const struct py_code *c = f->code;
	struct slots *s = calloc(1, sizeof(*s));
	uint64_t vals[PY_LOCALS_MAX];
	size_t nargs;
	int ret;

	*n = 0;
	if (!s)
		return -ENOMEM;
	ret = layout_has(&pp->layout, LF_code_localsplusnames)
		      ? slots_311(pp, c, s) : slots_before_311(pp, c, s);
	if (!ret && s->n)
		ret = py_proc__read(pp, f->localsplus, vals, s->n * 8);
	nargs = (size_t)(c->argcount + c->kwonlyargcount) +
		!!(c->flags & pp->layout.v[LF_const_co_varargs]) +
		!!(c->flags & pp->layout.v[LF_const_co_varkeywords]);
	for (size_t i = 0; !ret && i < s->n && *n < cap; i++) {
		uint64_t v = slot_value(pp, vals[i], s->kinds[i]);
		struct py_local *lo = &out[*n];

		if (!v)
			continue;
		if (py_str__read(pp, s->names[i], lo->name, sizeof(lo->name),
				 NULL))
			snprintf(lo->name, sizeof(lo->name), "?");
		py_repr(pp, v, lo->repr, sizeof(lo->repr));
		lo->is_arg = i < nargs;
		(*n)++;
	}
	free(s);
	return ret;
}
