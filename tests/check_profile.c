/* SPDX-License-Identifier: Apache-2.0 */
/*
 * profile: interning (memory follows distinct stacks, not samples), label
 * sanitising for the collapsed format, sorted output, remapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "tests.h"

static char *collapsed(const struct profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_int_eq(profile__write_collapsed(p, f), 0);
	fclose(f);
	return buf;
}

START_TEST(test_intern_and_write)
{
	struct profile *p = profile__new();
	uint32_t a = profile__frame_id(p, "main", "app.py", 3, PROF_APP);
	uint32_t b = profile__frame_id(p, "work", "app.py", 9, PROF_APP);
	uint32_t s1[] = { a, b }, s2[] = { a };
	char *text;

	ck_assert_uint_eq(profile__frame_id(p, "main", "app.py", 3, PROF_APP), a);
	for (int i = 0; i < 100000; i++)
		profile__add(p, profile__stack_id(p, s1, 2), 1);
	profile__add(p, profile__stack_id(p, s2, 1), 5);
	ck_assert_uint_eq(profile__nstacks(p), 2);
	ck_assert_uint_eq(profile__nframes(p), 2);
	ck_assert_uint_eq(profile__total(p), 100005);
	text = collapsed(p);
	ck_assert_str_eq(text, "main (app.py:3) 5\n"
			       "main (app.py:3);work (app.py:9) 100000\n");
	free(text);
	profile__free(p);
}
END_TEST

static const struct {
	const char *function, *file;
	int line;
	const char *label;
} label_cases[] = {
	{ "f;g", "a;b.py", 1, "f:g (a:b.py:1)" },
	{ "x\ny\tz\x01", "f.py", 2, "x y z  (f.py:2)" },
	{ "thread 123", "", 0, "[thread 123]" },
	{ "", "", 0, "?" },
	{ "-", "", 0, "[-]" },
	{ "h", "m.py", 0, "h (m.py)" },
	{ "<&>\"'", "\xf0\x9f\x90\x8d.py", 7, "<&>\"' (\xf0\x9f\x90\x8d.py:7)" },
};

START_TEST(test_labels)
{
	struct profile *p = profile__new();
	uint32_t id = profile__frame_id(p, label_cases[_i].function,
					label_cases[_i].file,
					label_cases[_i].line, PROF_APP);

	ck_assert_str_eq(profile__frame(p, id)->label, label_cases[_i].label);
	profile__free(p);
}
END_TEST

static void shorten(void *ctx, const struct prof_frame *f, const char **file,
		    enum prof_class *cls)
{
	(void)ctx;
	if (!strncmp(f->file, "/lib/", 5)) {
		*file = f->file + 5;
		*cls = PROF_STDLIB;
	}
}

START_TEST(test_remap_merges)
{
	struct profile *p = profile__new(), *q;
	uint32_t a = profile__frame_id(p, "f", "/lib/x.py", 1, PROF_APP);
	uint32_t b = profile__frame_id(p, "f", "x.py", 1, PROF_APP);
	char *text;

	profile__add(p, profile__stack_id(p, &a, 1), 2);
	profile__add(p, profile__stack_id(p, &b, 1), 3);
	q = profile__remap(p, shorten, NULL);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(profile__total(q), 5);
	text = collapsed(q);
	ck_assert_str_eq(text, "f (x.py:1) 2\nf (x.py:1) 3\n");
	free(text);
	profile__free(q);
	profile__free(p);
}
END_TEST

Suite *profile_suite(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_intern_and_write);
	tcase_add_loop_test(tc, test_labels, 0,
			    sizeof(label_cases) / sizeof(label_cases[0]));
	tcase_add_test(tc, test_remap_merges);
	suite_add_tcase(s, tc);
	return s;
}
