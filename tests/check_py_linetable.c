/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Line-table decoders against vectors extracted from real code objects of
 * each version by fixtures/linetable_vectors.py (co_lines() and
 * dis.findlinestarts are the truth), plus edge cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "py_linetable.h"
#include "tests.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (!strcmp(s, "-"))
		return 0;
	while (s[0] && s[1] && n < cap) {
		unsigned v;

		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

START_TEST(test_vectors)
{
	unsigned minor = 8 + (unsigned)_i;
	static uint8_t table[1 << 16];
	static char line[1 << 18];
	char path[64], name[256], *hex = malloc(sizeof(line));
	size_t len = 0, codes = 0, checked = 0, bad = 0;
	int first = 0;
	FILE *f;

	snprintf(path, sizeof(path), "tests/vectors/linetable-3.%u.txt", minor);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "missing %s", path);
	while (fgets(line, sizeof(line), f)) {
		long long off;
		int want, nbytes;

		if (line[0] == '#')
			continue;
		if (!strncmp(line, "code ", 5)) {
			ck_assert_int_eq(sscanf(line, "code %255s %d %s %d", name,
						&first, hex, &nbytes), 4);
			len = unhex(hex, table, sizeof(table));
			codes++;
			continue;
		}
		if (sscanf(line, "%lld %d", &off, &want) != 2)
			continue;
		checked++;
		{
			int got = py_linetable__line(minor, table, len, first, off);

			if (got != want && bad++ < 5)
				fprintf(stderr, "3.%u %s offset %lld: got %d want %d\n",
					minor, name, off, got, want);
		}
	}
	fclose(f);
	free(hex);
	ck_assert_uint_gt(codes, 10);
	ck_assert_uint_gt(checked, 500);
	ck_assert_msg(bad == 0, "3.%u: %zu of %zu offsets decoded wrongly", minor,
		      bad, checked);
}
END_TEST

START_TEST(test_edges)
{
	/* Before the first instruction every version answers co_firstlineno. */
	ck_assert_int_eq(py_linetable__lnotab(NULL, 0, 7, -2), 7);
	ck_assert_int_eq(py_linetable__310(NULL, 0, 7, -2), 7);
	ck_assert_int_eq(py_linetable__311(NULL, 0, 7, -2), 7);
	/* Empty tables: the first line (lnotab), or no line (later formats). */
	ck_assert_int_eq(py_linetable__lnotab(NULL, 0, 7, 10), 7);
	ck_assert_int_eq(py_linetable__310(NULL, 0, 7, 10), -1);
	ck_assert_int_eq(py_linetable__311(NULL, 0, 7, 10), -1);
	{
		/* 3.11: one "no columns" entry of 2 units, line +3, then a
		 * "no location" entry of 1 unit. */
		const uint8_t t[] = { 0x80 | (13 << 3) | 1, 6, 0x80 | (15 << 3) | 0 };

		ck_assert_int_eq(py_linetable__311(t, sizeof(t), 10, 0), 13);
		ck_assert_int_eq(py_linetable__311(t, sizeof(t), 10, 2), 13);
		ck_assert_int_eq(py_linetable__311(t, sizeof(t), 10, 4), -1);
		ck_assert_int_eq(py_linetable__311(t, sizeof(t), 10, 6), -1);
	}
	{
		/* A truncated (torn) 3.11 varint must not read past the end. */
		const uint8_t t[] = { 0x80 | (14 << 3) | 7, 0x7f };

		py_linetable__311(t, sizeof(t), 1, 4);
	}
}
END_TEST

Suite *py_linetable_suite(void)
{
	Suite *s = suite_create("py_linetable");
	TCase *tc = tcase_create("vectors");

	tcase_add_loop_test(tc, test_vectors, 0, 7);
	tcase_add_test(tc, test_edges);
	suite_add_tcase(s, tc);
	return s;
}
