/* SPDX-License-Identifier: Apache-2.0 */
/*
 * String decoding for every kind (compact ASCII, compact Latin-1, UCS-2,
 * UCS-4, legacy) under every layout, on objects built in this process and
 * read back through process_vm_readv as if they were remote.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "py_str.h"
#include "tests.h"

struct str_case {
	uint32_t cp[8];
	size_t n;
	unsigned kind;
	int ascii, compact;
	const char *utf8;
};

static const struct str_case cases[] = {
	{ { 'a', 'b', 'c' }, 3, 1, 1, 1, "abc" },
	{ { 'n', 'a', 0xef, 'v', 'e' }, 5, 1, 0, 1, "na\xc3\xafve" },
	{ { 0x6df1, 0x3044 }, 2, 2, 0, 1, "\xe6\xb7\xb1\xe3\x81\x84" },
	{ { 0x20bb7, 'x' }, 2, 4, 0, 1, "\xf0\xa0\xae\xb7x" },
	{ { 'h', 0xe9, 0x2192 }, 3, 2, 0, 0, "h\xc3\xa9\xe2\x86\x92" },
	{ { 0xd800, 'z' }, 2, 2, 0, 1, "\xef\xbf\xbdz" },
	{ { 0 }, 0, 1, 1, 1, "" },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static uint64_t fake_type[64] __attribute__((aligned(16)));

static void setup_proc(struct py_proc *pp, const struct py_layout *l)
{
	memset(pp, 0, sizeof(*pp));
	pp->pid = getpid();
	proc_mem__init(&pp->mem, getpid());
	pp->layout = *l;
	pp->rt.sym[PY_SYM_unicode_type] = (uint64_t)(uintptr_t)fake_type;
}

static void put(unsigned char *obj, const struct py_layout *l,
		enum layout_field f, uint64_t v)
{
	size_t w = layout_kind_width(layout_field_kind(f));

	memcpy(obj + l->v[f], &v, w);
}

/* Build the str of @c in @obj (and @data for legacy strings). */
static void build(const struct py_layout *l, const struct str_case *c,
		  unsigned char *obj, unsigned char *data)
{
	uint64_t state = (uint64_t)c->kind << l->v[LF_const_unicode_kind_shift];
	unsigned char *chars;

	if (c->compact)
		state |= 1ULL << l->v[LF_const_unicode_compact_bit];
	if (c->ascii)
		state |= 1ULL << l->v[LF_const_unicode_ascii_bit];
	if (layout_has(l, LF_const_unicode_ready_bit))
		state |= 1ULL << l->v[LF_const_unicode_ready_bit];
	put(obj, l, LF_object_ob_type, (uint64_t)(uintptr_t)fake_type);
	put(obj, l, LF_unicode_length, c->n);
	put(obj, l, LF_unicode_state, state);
	if (c->compact) {
		chars = obj + (c->ascii ? l->v[LF_ascii___size__]
					: l->v[LF_compact___size__]);
	} else {
		chars = data;
		put(obj, l, LF_unicode_data, (uint64_t)(uintptr_t)data);
	}
	for (size_t i = 0; i < c->n; i++) {
		uint32_t v = c->cp[i];
		uint16_t v2 = (uint16_t)v;
		uint8_t v1 = (uint8_t)v;

		if (c->kind == 1)
			memcpy(chars + i, &v1, 1);
		else if (c->kind == 2)
			memcpy(chars + 2 * i, &v2, 2);
		else
			memcpy(chars + 4 * i, &v, 4);
	}
}

START_TEST(test_every_kind_every_layout)
{
	const struct py_layout *const *tables;
	size_t nt = layout_all(&tables);

	for (size_t t = 0; t < nt; t++) {
		const struct py_layout *l = tables[t];
		const struct str_case *c = &cases[_i];
		unsigned char *obj = calloc(1, 512), *data = calloc(1, 64);
		struct py_proc pp;
		char out[64];
		bool trunc = true;
		int ret;

		setup_proc(&pp, l);
		build(l, c, obj, data);
		ret = py_str__read(&pp, (uint64_t)(uintptr_t)obj, out,
				   sizeof(out), &trunc);
		ck_assert_msg(ret == 0, "%u.%u%s case %d: error %d", l->major,
			      l->minor, l->variant ? "t" : "", _i, ret);
		ck_assert_msg(!strcmp(out, c->utf8), "%u.%u%s case %d: got '%s'",
			      l->major, l->minor, l->variant ? "t" : "", _i, out);
		ck_assert(!trunc);
		free(obj);
		free(data);
	}
}
END_TEST

START_TEST(test_truncation_and_errors)
{
	const struct py_layout *l = layout_find(3, 12, LAYOUT_DEFAULT);
	unsigned char *obj = calloc(1, 512);
	struct py_proc pp;
	char out[4];
	bool trunc = false;
	uint64_t other_type[64] = { 0 };

	setup_proc(&pp, l);
	build(l, &cases[2], obj, NULL);
	/* 深 is 3 bytes: a 4-byte buffer holds it and the NUL, not い. */
	ck_assert_int_eq(py_str__read(&pp, (uint64_t)(uintptr_t)obj, out,
				      sizeof(out), &trunc), 0);
	ck_assert_str_eq(out, "\xe6\xb7\xb1");
	ck_assert(trunc);
	/* A kind of 3 is impossible: a torn or non-str object. */
	put(obj, l, LF_unicode_state, 3ULL << l->v[LF_const_unicode_kind_shift]);
	ck_assert_int_eq(py_str__read(&pp, (uint64_t)(uintptr_t)obj, out,
				      sizeof(out), NULL), PE_CORRUPT);
	/* Not a str (type without the unicode-subclass flag). */
	build(l, &cases[0], obj, NULL);
	put(obj, l, LF_object_ob_type, (uint64_t)(uintptr_t)other_type);
	ck_assert_int_eq(py_str__read(&pp, (uint64_t)(uintptr_t)obj, out,
				      sizeof(out), NULL), PE_CORRUPT);
	/* Unmapped memory. */
	ck_assert_int_ne(py_str__read(&pp, 4096, out, sizeof(out), NULL), 0);
	ck_assert_int_ne(py_str__read(&pp, 0, out, sizeof(out), NULL), 0);
	free(obj);
}
END_TEST

START_TEST(test_put_utf8_bounds)
{
	char buf[4];
	size_t pos = 0;

	ck_assert(py_str__put_utf8(buf, sizeof(buf), &pos, 'a'));
	ck_assert(!py_str__put_utf8(buf, sizeof(buf), &pos, 0x20bb7));
	ck_assert(py_str__put_utf8(buf, sizeof(buf), &pos, 0xe9));
	ck_assert_uint_eq(pos, 3);
}
END_TEST

Suite *py_str_suite(void)
{
	Suite *s = suite_create("py_str");
	TCase *tc = tcase_create("decode");

	tcase_add_loop_test(tc, test_every_kind_every_layout, 0, NCASES);
	tcase_add_test(tc, test_truncation_and_errors);
	tcase_add_test(tc, test_put_utf8_bounds);
	suite_add_tcase(s, tc);
	return s;
}
