/* SPDX-License-Identifier: Apache-2.0 */
/*
 * _Py_DebugOffsets parsing and diffing on tables built from our own
 * layouts (live targets are diffed by the integration suite, which fails
 * on any layout-mismatch warning).
 */
#include <stdio.h>
#include <string.h>

#include "cpython_layouts/debug_offsets.h"
#include "errors.h"
#include "tests.h"

START_TEST(test_sizes)
{
	ck_assert_uint_eq(debug_offsets__size(13), 584);
	ck_assert_uint_eq(debug_offsets__size(14), 760);
	ck_assert_uint_eq(debug_offsets__size(12), 0);
}
END_TEST

START_TEST(test_parse_rejects)
{
	unsigned char buf[800] = { 0 };
	struct debug_offsets d;
	uint64_t v = 0x030d00f0;

	ck_assert_int_eq(debug_offsets__parse(&d, buf, sizeof(buf)), PE_CORRUPT);
	memcpy(buf, "xdebugpy", 8);
	memcpy(buf + 8, &v, 8);
	ck_assert_int_eq(debug_offsets__parse(&d, buf, 100), PE_CORRUPT);
	ck_assert_int_eq(debug_offsets__parse(&d, buf, 584), 0);
	ck_assert_uint_eq(d.minor, 13);
	ck_assert_uint_eq(d.nwords, (584 - 24) / 8);
	v = 0x030c01f0;
	memcpy(buf + 8, &v, 8);
	ck_assert_int_eq(debug_offsets__parse(&d, buf, sizeof(buf)), PE_UNSUPPORTED);
}
END_TEST

static int ndiff;
static char diff_name[64];

static void on_diff(void *ctx, const char *name, enum layout_field f,
		    int64_t ours, int64_t theirs)
{
	(void)ctx;
	(void)f;
	(void)ours;
	(void)theirs;
	ndiff++;
	snprintf(diff_name, sizeof(diff_name), "%s", name);
}

static void parse_empty(struct debug_offsets *d, uint64_t hex)
{
	unsigned char buf[1024] = { 0 };

	memcpy(buf, "xdebugpy", 8);
	memcpy(buf + 8, &hex, 8);
	ck_assert_int_eq(debug_offsets__parse(d, buf, sizeof(buf)), 0);
}

START_TEST(test_apply_roundtrip)
{
	unsigned minor = 13 + (unsigned)_i;
	const struct py_layout *l = layout_find(3, minor, LAYOUT_DEFAULT);
	struct debug_offsets d;
	struct py_layout copy = *l;
	uint64_t v;

	parse_empty(&d, minor == 13 ? 0x030d00f0 : 0x030e0af0);
	ck_assert_int_gt(debug_offsets__fill_from(&d, l), 40);
	ndiff = 0;
	ck_assert_int_eq(debug_offsets__apply(&d, &copy, on_diff, NULL), 0);
	ck_assert_int_eq(ndiff, 0);
	ck_assert_int_eq(debug_offsets__get(&d, "thread_state.current_frame", &v), 0);
	ck_assert_int_eq((int64_t)v, l->v[LF_tstate_current_frame]);
	ck_assert_int_eq(debug_offsets__set(&d, "interpreter_frame.owner",
					    (uint64_t)l->v[LF_iframe_owner] + 2), 0);
	ck_assert_int_eq(debug_offsets__apply(&d, &copy, on_diff, NULL), 1);
	ck_assert_int_eq(ndiff, 1);
	ck_assert_str_eq(diff_name, "interpreter_frame.owner");
	ck_assert_int_eq(copy.v[LF_iframe_owner], l->v[LF_iframe_owner] + 2);
	/* A size change is reported but not counted as an offset mismatch. */
	ck_assert_int_eq(debug_offsets__set(&d, "thread_state.size",
					    (uint64_t)l->v[LF_tstate___size__] + 8), 0);
	ck_assert_int_eq(debug_offsets__apply(&d, &copy, on_diff, NULL), 0);
	ck_assert_str_eq(diff_name, "thread_state.size");
	/* 3.14-only words do not exist in 3.13. */
	ck_assert_int_eq(debug_offsets__get(&d, "interpreter_state.threads_main",
					    &v), minor == 13 ? -1 : 0);
}
END_TEST

Suite *debug_offsets_suite(void)
{
	Suite *s = suite_create("debug_offsets");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_loop_test(tc, test_apply_roundtrip, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
