/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A gzip member (RFC 1952) around one deflate block (RFC 1951) with the
 * fixed Huffman codes and LZ77 matches from hash chains: real compression
 * with no library, for the pprof files peeka writes (the format requires
 * gzip).  Not fast and not the smallest; profiles are small.
 */
#ifndef PEEKA_GZIP_ENC_H
#define PEEKA_GZIP_ENC_H

#include <stddef.h>
#include <stdint.h>

/* Compress @len bytes at @in into a new buffer *out of *outlen bytes.
 * Returns 0 or -ENOMEM. */
int gzip__compress(const void *in, size_t len, unsigned char **out,
		   size_t *outlen);

/* CRC-32 (ISO 3309, as gzip uses it) of @n bytes, continuing @crc (0 to
 * start). */
uint32_t gzip__crc32(uint32_t crc, const void *p, size_t n);

#endif
