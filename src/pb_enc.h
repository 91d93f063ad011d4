/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The protobuf wire format, the two wire types pprof needs: varints
 * (type 0) and length-delimited fields (type 2: bytes, strings, packed
 * numbers, sub-messages).  A sub-message is built in its own buffer and
 * appended with its length.  Errors are sticky: check pb__failed() once.
 */
#ifndef PEEKA_PB_ENC_H
#define PEEKA_PB_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb {
	unsigned char *b;
	size_t n, cap;
	bool oom;
};

void pb__init(struct pb *p);
void pb__release(struct pb *p);
/* Empty the buffer, keeping its memory. */
void pb__reset(struct pb *p);
bool pb__failed(const struct pb *p);

void pb__varint(struct pb *p, uint64_t v);
/* Field @field as a varint (omitted when 0, as proto3 defaults are). */
void pb__uint(struct pb *p, unsigned field, uint64_t v);
/* Field @field as length-delimited bytes. */
void pb__bytes(struct pb *p, unsigned field, const void *data, size_t len);
void pb__string(struct pb *p, unsigned field, const char *s);
/* Field @field as the message built in @sub. */
void pb__message(struct pb *p, unsigned field, const struct pb *sub);
/* Append @len encoded bytes as they are (fields built elsewhere). */
void pb__raw(struct pb *p, const void *data, size_t len);
/* Field @field as packed varints. */
void pb__packed(struct pb *p, unsigned field, const uint64_t *v, size_t n);

#endif
