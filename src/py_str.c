/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decodes remote unicode objects from their state word: kind (1/2/4 bytes
 * per char), compact and ascii bits, whose positions come from the layout.
 */
#include "py_str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define TPFLAGS_UNICODE_SUBCLASS (1UL << 28)
#define STR_HEADER_MAX 128

bool py_str__put_utf8(char *buf, size_t len, size_t *pos, uint32_t cp)
{
	unsigned char tmp[4];
	size_t n;

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		tmp[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		tmp[0] = (unsigned char)(0xc0 | (cp >> 6));
		tmp[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		tmp[0] = (unsigned char)(0xe0 | (cp >> 12));
		tmp[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		tmp[0] = (unsigned char)(0xf0 | (cp >> 18));
		tmp[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		tmp[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*pos + n + 1 > len)
		return false;
	memcpy(buf + *pos, tmp, n);
	*pos += n;
	return true;
}

static int check_type(struct py_proc *pp, const void *hdr, size_t hlen)
{
	uint64_t type = py_get(&pp->layout, hdr, hlen, LF_object_ob_type);
	uint64_t flags;

	if (!pp->rt.sym[PY_SYM_unicode_type] ||
	    type == pp->rt.sym[PY_SYM_unicode_type])
		return 0;
	if (!py_ptr_ok(type) ||
	    py_read_field(pp, type, LF_type_tp_flags, &flags) ||
	    !(flags & TPFLAGS_UNICODE_SUBCLASS))
		return PE_CORRUPT;
	return 0;
}

struct str_shape {
	unsigned kind;
	bool compact, ascii;
	int64_t length;
	uint64_t data;
};

static int shape_of(struct py_proc *pp, uint64_t addr, const void *hdr,
		    size_t hlen, struct str_shape *s)
{
	const struct py_layout *l = &pp->layout;
	uint64_t state = py_get(l, hdr, hlen, LF_unicode_state);
	int64_t ks = l->v[LF_const_unicode_kind_shift];

	s->kind = (unsigned)((state >> ks) & 7);
	s->compact = (state >> l->v[LF_const_unicode_compact_bit]) & 1;
	s->ascii = (state >> l->v[LF_const_unicode_ascii_bit]) & 1;
	s->length = (int64_t)py_get(l, hdr, hlen, LF_unicode_length);
	if (s->kind != 1 && s->kind != 2 && s->kind != 4)
		return PE_CORRUPT;
	if (s->length < 0 || s->length > (1LL << 40))
		return PE_CORRUPT;
	if (s->compact)
		s->data = addr + (uint64_t)(s->ascii ? l->v[LF_ascii___size__]
						     : l->v[LF_compact___size__]);
	else
		s->data = py_get(l, hdr, hlen, LF_unicode_data);
	return s->data ? 0 : PE_CORRUPT;
}

static uint32_t char_at(const unsigned char *p, unsigned kind, size_t i)
{
	if (kind == 1)
		return p[i];
	if (kind == 2) {
		uint16_t v;

		memcpy(&v, p + 2 * i, 2);
		return v;
	}
	{
		uint32_t v;

		memcpy(&v, p + 4 * i, 4);
		return v;
	}
}

int py_str__read(struct py_proc *pp, uint64_t addr, char *buf, size_t len,
		 bool *truncated)
{
	unsigned char hdr[STR_HEADER_MAX], *data;
	struct str_shape s;
	size_t nchars, pos = 0, i;
	size_t hlen = (size_t)pp->layout.v[LF_compact___size__];
	int ret;

	if ((size_t)pp->layout.v[LF_unicode_data] + 8 > hlen)
		hlen = (size_t)pp->layout.v[LF_unicode_data] + 8;
	if (truncated)
		*truncated = false;
	if (!len)
		return -EINVAL;
	buf[0] = '\0';
	if (!py_ptr_ok(addr) || hlen > sizeof(hdr))
		return PE_CORRUPT;
	ret = py_proc__read(pp, addr, hdr, hlen);
	if (ret)
		return ret;
	ret = check_type(pp, hdr, hlen);
	if (!ret)
		ret = shape_of(pp, addr, hdr, hlen, &s);
	if (ret)
		return ret;
	nchars = (size_t)s.length;
	if (nchars > PY_STR_MAX_CHARS || nchars > len) {
		nchars = nchars > len ? len : PY_STR_MAX_CHARS;
		if (truncated)
			*truncated = true;
	}
	data = malloc(nchars * s.kind + 1);
	if (!data)
		return -ENOMEM;
	ret = py_proc__read(pp, s.data, data, nchars * s.kind);
	for (i = 0; !ret && i < nchars; i++)
		if (!py_str__put_utf8(buf, len, &pos, char_at(data, s.kind, i)))
			break;
	free(data);
	if (!ret && i < nchars && truncated)
		*truncated = true;
	buf[pos] = '\0';
	return ret;
}

int py_str__dup(struct py_proc *pp, uint64_t addr, char **out)
{
	char *buf = malloc(4 * 256 + 1);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = py_str__read(pp, addr, buf, 4 * 256 + 1, NULL);
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	return 0;
}

int py_bytes__read(struct py_proc *pp, uint64_t addr, size_t max,
		   uint8_t **data, size_t *size)
{
	unsigned char hdr[64];
	size_t hlen = (size_t)pp->layout.v[LF_bytes_ob_sval];
	int64_t n;
	uint8_t *p;
	int ret;

	if (!py_ptr_ok(addr) || hlen > sizeof(hdr))
		return PE_CORRUPT;
	ret = py_proc__read(pp, addr, hdr, hlen);
	if (ret)
		return ret;
	n = (int64_t)py_get(&pp->layout, hdr, hlen, LF_varobject_ob_size);
	if (n < 0 || (uint64_t)n > max)
		return PE_CORRUPT;
	p = malloc((size_t)n + 1);
	if (!p)
		return -ENOMEM;
	ret = py_proc__read(pp, addr + hlen, p, (size_t)n);
	if (ret) {
		free(p);
		return ret;
	}
	*data = p;
	*size = (size_t)n;
	return 0;
}
