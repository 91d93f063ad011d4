/* SPDX-License-Identifier: Apache-2.0 */
/* The protobuf encoder: a growing byte buffer and the field writers. */
#include "pb_enc.h"

#include <stdlib.h>
#include <string.h>

#include "varint.h"

void pb__init(struct pb *p)
{
	memset(p, 0, sizeof(*p));
}

void pb__release(struct pb *p)
{
	free(p->b);
	pb__init(p);
}

void pb__reset(struct pb *p)
{
	p->n = 0;
}

bool pb__failed(const struct pb *p)
{
	return p->oom;
}

static bool room(struct pb *p, size_t more)
{
	size_t ncap;
	unsigned char *nb;

	if (p->oom)
		return false;
	if (p->n + more <= p->cap)
		return true;
	ncap = p->cap ? p->cap : 256;
	while (ncap < p->n + more)
		ncap *= 2;
	nb = realloc(p->b, ncap);
	if (!nb) {
		p->oom = true;
		return false;
	}
	p->b = nb;
	p->cap = ncap;
	return true;
}

static void append(struct pb *p, const void *data, size_t len)
{
	if (len && room(p, len)) {
		memcpy(p->b + p->n, data, len);
		p->n += len;
	}
}

void pb__raw(struct pb *p, const void *data, size_t len)
{
	append(p, data, len);
}

void pb__varint(struct pb *p, uint64_t v)
{
	if (room(p, VARINT_MAX))
		p->n += varint__put(p->b + p->n, v);
}

static void key(struct pb *p, unsigned field, unsigned wire)
{
	pb__varint(p, (uint64_t)field << 3 | wire);
}

void pb__uint(struct pb *p, unsigned field, uint64_t v)
{
	if (!v)
		return;
	key(p, field, 0);
	pb__varint(p, v);
}

void pb__bytes(struct pb *p, unsigned field, const void *data, size_t len)
{
	key(p, field, 2);
	pb__varint(p, len);
	append(p, data, len);
}

void pb__string(struct pb *p, unsigned field, const char *s)
{
	pb__bytes(p, field, s, strlen(s));
}

void pb__message(struct pb *p, unsigned field, const struct pb *sub)
{
	if (sub->oom)
		p->oom = true;
	pb__bytes(p, field, sub->b, sub->n);
}

void pb__packed(struct pb *p, unsigned field, const uint64_t *v, size_t n)
{
	unsigned char tmp[VARINT_MAX];
	size_t len = 0;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		len += varint__put(tmp, v[i]);
	key(p, field, 2);
	pb__varint(p, len);
	for (size_t i = 0; i < n; i++)
		pb__varint(p, v[i]);
}
