/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layout registry: every generated table validates, lookups work, and
 * each compiled table equals its offsets/cpython-3.X.tsv source, value by value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython_layouts/layout.h"
#include "tests.h"

START_TEST(test_table_validates)
{
	const struct py_layout *const *tables;
	size_t n = layout_all(&tables);
	char err[256] = "";

	ck_assert_uint_lt((size_t)_i, n);
	if (layout_validate(tables[_i], err, sizeof(err)))
		ck_abort_msg("%s", err);
}
END_TEST

START_TEST(test_table_matches_tsv)
{
	const struct py_layout *const *tables;
	const struct py_layout *l;
	char path[128], line[512];
	int seen[LF__COUNT] = { 0 };
	FILE *f;

	layout_all(&tables);
	l = tables[_i];
	snprintf(path, sizeof(path), "offsets/cpython-%u.%u%s.tsv", l->major,
		 l->minor, l->variant == LAYOUT_FREE_THREADED ? "t" : "");
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char key[128], val[64];
		int idx;

		if (line[0] == '#' || sscanf(line, "%127s %63s", key, val) != 2)
			continue;
		idx = layout_field_lookup(key);
		ck_assert_msg(idx >= 0, "%s: unknown field %s", path, key);
		seen[idx] = 1;
		if (!strcmp(val, "-"))
			ck_assert_msg(!layout_has(l, idx), "%s: %s should be absent",
				      path, key);
		else
			ck_assert_msg(layout_has(l, idx) &&
					      l->v[idx] == strtoll(val, NULL, 10),
				      "%s: %s is %s in the tsv", path, key, val);
	}
	fclose(f);
	for (int i = 0; i < LF__COUNT; i++)
		ck_assert_msg(seen[i], "%s lacks %s", path, layout_field_name(i));
}
END_TEST

START_TEST(test_find_and_names)
{
	char list[128];

	for (unsigned m = 8; m <= 14; m++) {
		const struct py_layout *l = layout_find(3, m, LAYOUT_DEFAULT);

		ck_assert_ptr_nonnull(l);
		ck_assert_uint_eq(l->minor, m);
		ck_assert(l->tested);
	}
	ck_assert_ptr_null(layout_find(3, 7, LAYOUT_DEFAULT));
	ck_assert_ptr_null(layout_find(3, 15, LAYOUT_DEFAULT));
	ck_assert_ptr_null(layout_find(3, 12, LAYOUT_FREE_THREADED));
	ck_assert(!layout_find(3, 14, LAYOUT_FREE_THREADED)->tested);
	ck_assert_int_eq(layout_field_lookup("tstate.current_frame"),
			 LF_tstate_current_frame);
	ck_assert_int_eq(layout_field_lookup("no.such"), -1);
	ck_assert_str_eq(layout_field_name(LF_iframe_owner), "iframe.owner");
	ck_assert_uint_eq(layout_kind_width(layout_field_kind(LF_iframe_owner)), 1);
	layout_supported_list(list, sizeof(list));
	ck_assert_str_eq(list, "3.8, 3.9, 3.10, 3.11, 3.12, 3.13, 3.14");
}
END_TEST

START_TEST(test_absent_is_not_zero)
{
	const struct py_layout *l38 = layout_find(3, 8, LAYOUT_DEFAULT);
	const struct py_layout *l14 = layout_find(3, 14, LAYOUT_DEFAULT);

	ck_assert(!layout_has(l38, LF_code_qualname));
	ck_assert(layout_has(l14, LF_code_qualname));
	/* A real zero offset stays present. */
	ck_assert(layout_has(l14, LF_iframe_executable));
	ck_assert_int_eq(layout_off(l14, LF_iframe_executable), 0);
	ck_assert_int_eq(layout_off(l14, LF_const_owner_interpreter), 3);
}
END_TEST

START_TEST(test_validate_rejects_bad_tables)
{
	struct py_layout bad = *layout_find(3, 12, LAYOUT_DEFAULT);
	char err[256];

	bad.v[LF_tstate_cframe] = LAYOUT_NONE;
	ck_assert_int_ne(layout_validate(&bad, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "tstate.cframe"));
	bad = *layout_find(3, 12, LAYOUT_DEFAULT);
	bad.v[LF_tstate_thread_id] = bad.v[LF_tstate___size__];
	ck_assert_int_ne(layout_validate(&bad, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "outside"));
}
END_TEST

Suite *layout_suite(void)
{
	const struct py_layout *const *tables;
	Suite *s = suite_create("layout");
	TCase *tc = tcase_create("registry");
	int n = (int)layout_all(&tables);

	tcase_add_loop_test(tc, test_table_validates, 0, n);
	tcase_add_loop_test(tc, test_table_matches_tsv, 0, n);
	tcase_add_test(tc, test_find_and_names);
	tcase_add_test(tc, test_absent_is_not_zero);
	tcase_add_test(tc, test_validate_rejects_bad_tables);
	suite_add_tcase(s, tc);
	return s;
}
