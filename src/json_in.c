/* SPDX-License-Identifier: Apache-2.0 */
/* A strict recursive-descent JSON parser into a value tree. */
#include "json_in.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

struct parser {
	const char *s;
	size_t len, pos;
	char *err;
	size_t errlen;
	int oom;
};

static int fail(struct parser *p, const char *what)
{
	if (p->err && p->errlen && !p->err[0])
		snprintf(p->err, p->errlen, "%s at byte %zu", what, p->pos);
	return -EINVAL;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int hex4(struct parser *p, unsigned *out)
{
	unsigned v = 0;

	if (p->len - p->pos < 4)
		return fail(p, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(p, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A string at p->pos (the opening quote); *out is malloc'd. */
static int parse_string(struct parser *p, char **out, size_t *outlen)
{
	size_t start = ++p->pos, n = 0;
	char *o;

	/* Decoded text is never longer than the source. */
	while (p->pos < p->len && p->s[p->pos] != '"') {
		if (p->s[p->pos] == '\\')
			p->pos++;
		p->pos++;
	}
	if (p->pos >= p->len)
		return fail(p, "unterminated string");
	o = malloc(p->pos - start + 1);
	if (!o) {
		p->oom = 1;
		return -ENOMEM;
	}
	p->pos = start;
	while (p->s[p->pos] != '"') {
		unsigned char c = (unsigned char)p->s[p->pos];
		unsigned cp, lo;

		if (c < 0x20) {
			free(o);
			return fail(p, "control character in string");
		}
		if (c != '\\') {
			size_t k;
			uint32_t u = utf8__next((const unsigned char *)p->s +
						p->pos, &k);

			if (utf8__invalid(u, k) || k > p->len - p->pos) {
				free(o);
				return fail(p, "invalid UTF-8 in string");
			}
			memcpy(o + n, p->s + p->pos, k);
			n += k;
			p->pos += k;
			continue;
		}
		p->pos++;
		c = (unsigned char)p->s[p->pos++];
		switch (c) {
		case '"': o[n++] = '"'; break;
		case '\\': o[n++] = '\\'; break;
		case '/': o[n++] = '/'; break;
		case 'b': o[n++] = '\b'; break;
		case 'f': o[n++] = '\f'; break;
		case 'n': o[n++] = '\n'; break;
		case 'r': o[n++] = '\r'; break;
		case 't': o[n++] = '\t'; break;
		case 'u':
			if (hex4(p, &cp)) {
				free(o);
				return -EINVAL;
			}
			if (cp >= 0xD800 && cp < 0xDC00 && p->len - p->pos >= 6 &&
			    p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
				size_t save = p->pos;

				p->pos += 2;
				if (!hex4(p, &lo) && lo >= 0xDC00 && lo < 0xE000)
					cp = 0x10000 + ((cp - 0xD800) << 10) +
					     (lo - 0xDC00);
				else
					p->pos = save;
			}
			if (cp >= 0xD800 && cp < 0xE000)
				cp = 0xFFFD;  /* a lone surrogate */
			n += put_utf8(o + n, cp);
			break;
		default:
			free(o);
			return fail(p, "bad escape in string");
		}
	}
	p->pos++;
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
}

static int parse_number(struct parser *p, struct json_val *v)
{
	size_t start = p->pos;
	char *end;

	if (p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
		return fail(p, "bad number");
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
			return fail(p, "bad number");
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
			return fail(p, "bad number");
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	}
	v->type = JSON_NUM;
	v->str = strndup(p->s + start, p->pos - start);
	if (!v->str) {
		p->oom = 1;
		return -ENOMEM;
	}
	v->len = p->pos - start;
	v->num = strtod(v->str, &end);
	return 0;
}

static int parse_value(struct parser *p, struct json_val *v, int depth);

static int grow(struct parser *p, struct json_val *v, size_t *cap, bool keys)
{
	size_t nc = *cap ? *cap * 2 : 4;
	struct json_val *it;

	if (v->n < *cap)
		return 0;
	it = realloc(v->items, nc * sizeof(*it));
	if (!it) {
		p->oom = 1;
		return -ENOMEM;
	}
	v->items = it;
	if (keys) {
		char **k = realloc(v->keys, nc * sizeof(*k));

		if (!k) {
			p->oom = 1;
			return -ENOMEM;
		}
		v->keys = k;
	}
	*cap = nc;
	return 0;
}

static int parse_container(struct parser *p, struct json_val *v, int depth)
{
	bool obj = p->s[p->pos] == '{';
	char close = obj ? '}' : ']';
	size_t cap = 0;

	v->type = obj ? JSON_OBJ : JSON_ARR;
	if (depth >= JSON_IN_MAX_DEPTH)
		return fail(p, "nested too deeply");
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		int rc;

		if ((rc = grow(p, v, &cap, obj)))
			return rc;
		memset(&v->items[v->n], 0, sizeof(v->items[0]));
		if (obj) {
			size_t kl;

			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return fail(p, "expected a key");
			if ((rc = parse_string(p, &v->keys[v->n], &kl)))
				return rc;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				free(v->keys[v->n]);
				return fail(p, "expected ':'");
			}
			p->pos++;
		}
		rc = parse_value(p, &v->items[v->n], depth + 1);
		v->n++;
		if (rc)
			return rc;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
		return fail(p, "unexpected character");
	p->pos += n;
	return 0;
}

static int parse_value(struct parser *p, struct json_val *v, int depth)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return fail(p, "unexpected end");
	switch (p->s[p->pos]) {
	case '{':
	case '[':
		return parse_container(p, v, depth);
	case '"':
		v->type = JSON_STR;
		return parse_string(p, &v->str, &v->len);
	case 't':
		v->type = JSON_BOOL;
		v->b = true;
		return literal(p, "true");
	case 'f':
		v->type = JSON_BOOL;
		return literal(p, "false");
	case 'n':
		v->type = JSON_NULL;
		return literal(p, "null");
	default:
		return parse_number(p, v);
	}
}

static void free_inner(struct json_val *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free_inner(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
}

void json_in__free(struct json_val *v)
{
	if (!v)
		return;
	free_inner(v);
	free(v);
}

int json_in__parse(const char *s, size_t len, struct json_val **out,
		   char *err, size_t errlen)
{
	struct parser p = { s, len, 0, err, errlen, 0 };
	struct json_val *v = calloc(1, sizeof(*v));
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!v)
		return -ENOMEM;
	rc = parse_value(&p, v, 0);
	if (!rc) {
		skip_ws(&p);
		if (p.pos != p.len)
			rc = fail(&p, "trailing characters");
	}
	if (rc) {
		json_in__free(v);
		return p.oom ? -ENOMEM : rc;
	}
	*out = v;
	return 0;
}

const struct json_val *json_in__get(const struct json_val *v, const char *key)
{
	if (!v || v->type != JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->keys[i], key))
			return &v->items[i];
	return NULL;
}

const char *json_in__str(const struct json_val *v, const char *key,
			 const char *def)
{
	const struct json_val *m = json_in__get(v, key);

	return m && m->type == JSON_STR ? m->str : def;
}

int64_t json_in__int(const struct json_val *v, const char *key, int64_t def)
{
	const struct json_val *m = json_in__get(v, key);
	char *end;
	long long x;

	if (!m || m->type != JSON_NUM)
		return def;
	errno = 0;
	x = strtoll(m->str, &end, 10);
	if (errno || *end)
		return def;
	return x;
}

double json_in__num(const struct json_val *v, const char *key, double def)
{
	const struct json_val *m = json_in__get(v, key);

	return m && m->type == JSON_NUM && isfinite(m->num) ? m->num : def;
}
