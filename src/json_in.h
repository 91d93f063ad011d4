/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small JSON reader for the frames the agent sends: the whole text is
 * parsed into a tree of values (strictly: RFC 8259, UTF-8, no trailing
 * commas, nesting at most JSON_IN_MAX_DEPTH).  Numbers keep their text so
 * that integers print back exactly.
 */
#ifndef PEEKA_JSON_IN_H
#define PEEKA_JSON_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_IN_MAX_DEPTH 64

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUM,
	JSON_STR,
	JSON_ARR,
	JSON_OBJ,
};

struct json_val {
	enum json_type type;
	bool b;
	double num;
	char *str;               /* JSON_STR: decoded; JSON_NUM: the token */
	size_t len;              /* JSON_STR: bytes (may hold NULs) */
	size_t n;                /* JSON_ARR / JSON_OBJ: items */
	struct json_val *items;
	char **keys;             /* JSON_OBJ: decoded keys */
};

/*
 * Parse @len bytes at @s (s[len] must be NUL) into *out (free with json_in__free).  Returns 0,
 * or -EINVAL with the reason and byte offset in @err, or -ENOMEM.
 */
int json_in__parse(const char *s, size_t len, struct json_val **out,
		   char *err, size_t errlen);
void json_in__free(struct json_val *v);

/* Member @key of object @v, or NULL (also when @v is not an object). */
const struct json_val *json_in__get(const struct json_val *v, const char *key);

/* Member @key as a string / integer / number, or @def when absent or of
 * another type. */
const char *json_in__str(const struct json_val *v, const char *key,
			 const char *def);
int64_t json_in__int(const struct json_val *v, const char *key, int64_t def);
double json_in__num(const struct json_val *v, const char *key, double def);

#endif
