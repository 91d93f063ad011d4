/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoders for the three line-table formats.  Every loop is bounded by the
 * table length, so a torn or hostile table cannot run away.
 */
#include "py_linetable.h"

#include <stdbool.h>
#include <stdint.h>

int py_linetable__lnotab(const uint8_t *tab, size_t len, int firstlineno,
			 int64_t addrq)
{
	int64_t addr = 0;
	int64_t line = firstlineno;

	if (addrq < 0)
		return firstlineno;
	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += tab[i];
		if (addr > addrq)
			break;
		line += (int8_t)tab[i + 1];
	}
	return line >= 0 && line <= INT32_MAX ? (int)line : -1;
}

/* A cursor over address ranges, as CPython's PyCodeAddressRange. */
struct range {
	const uint8_t *p, *end;
	int64_t start, stop;
	int64_t computed, line;
};

/* A line outside int (only from a torn or hostile table) is no line. */
static int clamp_line(int64_t line)
{
	return line >= 0 && line <= INT32_MAX ? (int)line : -1;
}

static void advance_310(struct range *r)
{
	int ld = (int8_t)r->p[1];

	r->start = r->stop;
	r->stop += r->p[0];
	r->p += 2;
	if (ld == -128) {
		r->line = -1;
	} else {
		r->computed += ld;
		r->line = r->computed;
	}
}

static bool next_310(struct range *r)
{
	if (r->p + 1 >= r->end)
		return false;
	advance_310(r);
	while (r->start == r->stop) {
		if (r->p + 1 >= r->end)
			return false;
		advance_310(r);
	}
	return true;
}

int py_linetable__310(const uint8_t *tab, size_t len, int firstlineno,
		      int64_t addrq)
{
	struct range r = { tab, tab + len, -1, 0, firstlineno, -1 };

	if (addrq < 0)
		return firstlineno;
	while (r.stop <= addrq)
		if (!next_310(&r))
			return -1;
	return r.start <= addrq ? clamp_line(r.line) : -1;
}

static uint64_t read_varint(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	uint64_t val;
	unsigned shift = 0;
	uint8_t b;

	if (p >= end)
		return 0;
	b = *p++;
	val = b & 63;
	while ((b & 64) && p < end && shift < 60) {
		b = *p++;
		shift += 6;
		val |= (uint64_t)(b & 63) << shift;
	}
	*pp = p;
	return val;
}

static int64_t read_svarint(const uint8_t **pp, const uint8_t *end)
{
	uint64_t u = read_varint(pp, end) & ((1ULL << 40) - 1);

	return (u & 1) ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
}

static int64_t line_delta_311(const uint8_t *p, const uint8_t *end)
{
	unsigned code = (p[0] >> 3) & 15;
	const uint8_t *q = p + 1;

	switch (code) {
	case 15: /* no location */
		return 0;
	case 13: /* no columns */
	case 14: /* long form */
		return read_svarint(&q, end);
	case 10:
	case 11:
	case 12: /* one-line forms */
		return (int)code - 10;
	default: /* short forms */
		return 0;
	}
}

static void advance_311(struct range *r)
{
	r->computed += line_delta_311(r->p, r->end);
	r->line = ((r->p[0] >> 3) == 0x1f) ? -1 : r->computed;
	r->start = r->stop;
	r->stop += ((r->p[0] & 7) + 1) * 2;
	do
		r->p++;
	while (r->p < r->end && !(r->p[0] & 128));
}

static bool next_311(struct range *r)
{
	if (r->p >= r->end)
		return false;
	advance_311(r);
	while (r->start == r->stop) {
		if (r->p >= r->end)
			return false;
		advance_311(r);
	}
	return true;
}

int py_linetable__311(const uint8_t *tab, size_t len, int firstlineno,
		      int64_t addrq)
{
	struct range r = { tab, tab + len, -1, 0, firstlineno, -1 };

	if (addrq < 0)
		return firstlineno;
	while (r.stop <= addrq)
		if (!next_311(&r))
			return -1;
	return r.start <= addrq ? clamp_line(r.line) : -1;
}

int py_linetable__line(unsigned minor, const uint8_t *tab, size_t len,
		       int firstlineno, int64_t addrq)
{
	if (minor <= 9)
		return py_linetable__lnotab(tab, len, firstlineno, addrq);
	if (minor == 10)
		return py_linetable__310(tab, len, firstlineno, addrq);
	return py_linetable__311(tab, len, firstlineno, addrq);
}
