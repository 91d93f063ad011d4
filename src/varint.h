/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LEB128 varints (7 bits a byte, low first, high bit = more) and zigzag
 * for signed values, as the recording format (rec_format.h) uses them.
 */
#ifndef PEEKA_VARINT_H
#define PEEKA_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX 10   /* bytes of a 64-bit value */

/* Write @v at @p (room for VARINT_MAX bytes); returns the bytes written. */
static inline size_t varint__put(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

/*
 * Read a varint from [*p, end): advances *p and returns 0, or -1 when the
 * input ends first or the value does not fit 64 bits (then *p is unchanged).
 */
static inline int varint__get(const unsigned char **p,
			      const unsigned char *end, uint64_t *v)
{
	const unsigned char *q = *p;
	uint64_t r = 0;

	for (unsigned shift = 0; q < end && shift < 64; shift += 7) {
		unsigned char b = *q++;

		if (shift == 63 && b > 1)
			return -1;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*p = q;
			*v = r;
			return 0;
		}
	}
	return -1;
}

static inline uint64_t zigzag__enc(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t zigzag__dec(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
