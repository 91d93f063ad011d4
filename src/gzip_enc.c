/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gzip writer: a bit stream (LSB first, Huffman codes reversed into
 * it), an LZ77 matcher over a 32 KiB window with hash chains, and the
 * gzip header and trailer.
 */
#include "gzip_enc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 32768
#define HASH_BITS 15
#define MAX_CHAIN 64
#define MIN_MATCH 3
#define MAX_MATCH 258

struct bits {
	unsigned char *b;
	size_t n, cap;
	uint64_t acc;
	unsigned nacc;
	bool oom;
};

static void put_byte(struct bits *w, unsigned char c)
{
	if (w->n == w->cap) {
		size_t ncap = w->cap ? 2 * w->cap : 4096;
		unsigned char *nb = realloc(w->b, ncap);

		if (!nb) {
			w->oom = true;
			return;
		}
		w->b = nb;
		w->cap = ncap;
	}
	w->b[w->n++] = c;
}

/* @count bits of @v, least significant first. */
static void put_bits(struct bits *w, uint32_t v, unsigned count)
{
	w->acc |= (uint64_t)v << w->nacc;
	w->nacc += count;
	while (w->nacc >= 8 && !w->oom) {
		put_byte(w, (unsigned char)w->acc);
		w->acc >>= 8;
		w->nacc -= 8;
	}
}

/* A Huffman code of @len bits, most significant bit first. */
static void put_code(struct bits *w, uint32_t code, unsigned len)
{
	uint32_t rev = 0;

	for (unsigned i = 0; i < len; i++)
		rev |= ((code >> i) & 1u) << (len - 1 - i);
	put_bits(w, rev, len);
}

/* Literal/length symbol 0..287 in the fixed code. */
static void put_symbol(struct bits *w, unsigned sym)
{
	if (sym < 144)
		put_code(w, 0x30 + sym, 8);
	else if (sym < 256)
		put_code(w, 0x190 + sym - 144, 9);
	else if (sym < 280)
		put_code(w, sym - 256, 7);
	else
		put_code(w, 0xc0 + sym - 280, 8);
}

static const uint16_t len_base[29] = {
	3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51,
	59, 67, 83, 99, 115, 131, 163, 195, 227, 258
};
static const uint8_t len_extra[29] = {
	0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4,
	4, 5, 5, 5, 5, 0
};
static const uint16_t dist_base[30] = {
	1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
	513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577
};
static const uint8_t dist_extra[30] = {
	0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10,
	10, 11, 11, 12, 12, 13, 13
};

static void put_match(struct bits *w, unsigned len, unsigned dist)
{
	unsigned i = 28, d = 29;

	while (len_base[i] > len)
		i--;
	put_symbol(w, 257 + i);
	put_bits(w, len - len_base[i], len_extra[i]);
	while (dist_base[d] > dist)
		d--;
	put_code(w, d, 5);
	put_bits(w, dist - dist_base[d], dist_extra[d]);
}

static uint32_t hash3(const unsigned char *p)
{
	uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];

	return (v * 2654435761u) >> (32 - HASH_BITS);
}

/* One fixed-Huffman block holding all of @in. */
static int deflate_fixed(struct bits *w, const unsigned char *in, size_t len)
{
	int32_t *head = malloc(sizeof(int32_t) << HASH_BITS);
	int32_t *prev = malloc(sizeof(int32_t) * WINDOW);
	size_t i = 0;

	if (!head || !prev) {
		free(head);
		free(prev);
		return -ENOMEM;
	}
	memset(head, 0xff, sizeof(int32_t) << HASH_BITS);
	put_bits(w, 1, 1);      /* BFINAL */
	put_bits(w, 1, 2);      /* BTYPE 01: fixed codes */
	while (i < len && !w->oom) {
		size_t best = 0, dist = 0;

		if (i + MIN_MATCH <= len) {
			uint32_t h = hash3(in + i);
			int32_t cand = head[h];
			size_t limit = len - i < MAX_MATCH ? len - i : MAX_MATCH;

			for (int k = 0; k < MAX_CHAIN && cand >= 0 &&
					i - (size_t)cand <= WINDOW; k++) {
				size_t m = 0;

				while (m < limit && in[(size_t)cand + m] == in[i + m])
					m++;
				if (m > best) {
					best = m;
					dist = i - (size_t)cand;
					if (m == limit)
						break;
				}
				cand = prev[cand & (WINDOW - 1)];
			}
			prev[i & (WINDOW - 1)] = head[h];
			head[h] = (int32_t)i;
		}
		if (best >= MIN_MATCH) {
			put_match(w, (unsigned)best, (unsigned)dist);
			/* Index the positions the match covers. */
			for (size_t j = i + 1; j < i + best && j + MIN_MATCH <= len; j++) {
				uint32_t h = hash3(in + j);

				prev[j & (WINDOW - 1)] = head[h];
				head[h] = (int32_t)j;
			}
			i += best;
		} else {
			put_symbol(w, in[i]);
			i++;
		}
	}
	put_symbol(w, 256);     /* end of block */
	if (w->nacc)
		put_bits(w, 0, 8 - w->nacc);
	free(head);
	free(prev);
	return w->oom ? -ENOMEM : 0;
}

uint32_t gzip__crc32(uint32_t crc, const void *p, size_t n)
{
	static uint32_t table[256];
	static bool ready;
	const unsigned char *b = p;

	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = true;
	}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put_le32(struct bits *w, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		put_byte(w, (unsigned char)(v >> (8 * i)));
}

int gzip__compress(const void *in, size_t len, unsigned char **out,
		   size_t *outlen)
{
	static const unsigned char header[10] = {
		0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255   /* deflate, no mtime, OS unknown */
	};
	struct bits w = { 0 };
	int ret;

	for (size_t i = 0; i < sizeof(header); i++)
		put_byte(&w, header[i]);
	ret = deflate_fixed(&w, in, len);
	put_le32(&w, gzip__crc32(0, in, len));
	put_le32(&w, (uint32_t)len);
	if (ret || w.oom) {
		free(w.b);
		return -ENOMEM;
	}
	*out = w.b;
	*outlen = w.n;
	return 0;
}
