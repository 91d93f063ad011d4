/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UTF-8 decoding shared by every writer of text that came from a target
 * (JSON, terminal text, SVG): strict, shortest-form, no surrogates.
 */
#ifndef PEEKA_UTF8_H
#define PEEKA_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The code point at @s and its length in *@len.  A byte that does not
 * start a valid sequence decodes as U+FFFD of length one (a real U+FFFD
 * has length three).  Stops at a NUL, so it never reads past a string.
 */
uint32_t utf8__next(const unsigned char *s, size_t *len);

/* True when utf8__next reported an invalid byte rather than a character. */
static inline int utf8__invalid(uint32_t cp, size_t len)
{
	return cp == 0xfffd && len == 1;
}

#endif
