/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal streaming JSON writer: objects, arrays, escaped strings,
 * numbers, booleans and null, with commas handled by a small stack.
 */
#ifndef PEEKA_JSON_OUT_H
#define PEEKA_JSON_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json_out {
	FILE *f;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool after_key;
};

void json_out__init(struct json_out *j, FILE *f);
void json_out__begin_object(struct json_out *j);
void json_out__end_object(struct json_out *j);
void json_out__begin_array(struct json_out *j);
void json_out__end_array(struct json_out *j);
void json_out__key(struct json_out *j, const char *key);
/* Write @s (UTF-8) as a JSON string; invalid UTF-8 bytes become U+FFFD. */
void json_out__string(struct json_out *j, const char *s);
void json_out__int(struct json_out *j, int64_t v);
void json_out__uint(struct json_out *j, uint64_t v);
/* A number already in JSON form (a token json_in kept), written as is. */
void json_out__number_text(struct json_out *j, const char *token);
/* A finite number, shortest form with 9 significant digits. */
void json_out__double(struct json_out *j, double v);
void json_out__bool(struct json_out *j, bool v);
void json_out__null(struct json_out *j);

/* Write a JSON-escaped string body (no quotes) to @f. */
void json_out__escape(FILE *f, const char *s);

#endif
