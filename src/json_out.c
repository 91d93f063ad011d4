/* SPDX-License-Identifier: Apache-2.0 */
/* Streams JSON text to a FILE; keeps only comma state per nesting level. */
#include "json_out.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "utf8.h"

void json_out__init(struct json_out *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void value_prefix(struct json_out *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && j->need_comma[j->depth - 1])
		fputc(',', j->f);
	if (j->depth > 0)
		j->need_comma[j->depth - 1] = true;
}

static void open_(struct json_out *j, char c)
{
	value_prefix(j);
	fputc(c, j->f);
	if (j->depth < JSON_MAX_DEPTH)
		j->need_comma[j->depth] = false;
	j->depth++;
}

static void close_(struct json_out *j, char c)
{
	j->depth--;
	fputc(c, j->f);
}

void json_out__begin_object(struct json_out *j)
{
	open_(j, '{');
}

void json_out__end_object(struct json_out *j)
{
	close_(j, '}');
}

void json_out__begin_array(struct json_out *j)
{
	open_(j, '[');
}

void json_out__end_array(struct json_out *j)
{
	close_(j, ']');
}

void json_out__key(struct json_out *j, const char *key)
{
	value_prefix(j);
	fputc('"', j->f);
	json_out__escape(j->f, key);
	fputs("\":", j->f);
	j->after_key = true;
}

void json_out__escape(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		size_t n;
		uint32_t cp = utf8__next(s, &n);

		if (utf8__invalid(cp, n)) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		if (n > 1) {
			fwrite(s, 1, n, f);
		} else if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
		} else if (*s == '\t') {
			fputs("\\t", f);
		} else if (*s == '\r') {
			fputs("\\r", f);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s);
		} else {
			fputc(*s, f);
		}
		s += n;
	}
}

void json_out__string(struct json_out *j, const char *s)
{
	value_prefix(j);
	fputc('"', j->f);
	json_out__escape(j->f, s);
	fputc('"', j->f);
}

void json_out__int(struct json_out *j, int64_t v)
{
	value_prefix(j);
	fprintf(j->f, "%" PRId64, v);
}

void json_out__number_text(struct json_out *j, const char *token)
{
	value_prefix(j);
	fputs(token, j->f);
}

void json_out__uint(struct json_out *j, uint64_t v)
{
	value_prefix(j);
	fprintf(j->f, "%" PRIu64, v);
}

void json_out__double(struct json_out *j, double v)
{
	value_prefix(j);
	if (isfinite(v))
		fprintf(j->f, "%.9g", v);
	else
		fputs("0", j->f);   /* JSON has no NaN or infinity */
}

void json_out__bool(struct json_out *j, bool v)
{
	value_prefix(j);
	fputs(v ? "true" : "false", j->f);
}

void json_out__null(struct json_out *j)
{
	value_prefix(j);
	fputs("null", j->f);
}
