/* SPDX-License-Identifier: Apache-2.0 */
/* proc_maps: line parsing (table-driven) and the live maps of this process. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "proc_maps.h"
#include "tests.h"

static const struct {
	const char *line;
	int ok;
	uint64_t start, end, offset;
	const char *perms, *path;
	int deleted;
} cases[] = {
	{ "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/python3.11\n",
	  1, 0x400000, 0x452000, 0, "r-xp", "/usr/bin/python3.11", 0 },
	{ "7f2c1a000000-7f2c1a021000 rw-p 00000000 00:00 0 \n", 1,
	  0x7f2c1a000000, 0x7f2c1a021000, 0, "rw-p", "", 0 },
	{ "7ffd5e5f1000-7ffd5e612000 rw-p 00000000 00:00 0                          [stack]",
	  1, 0x7ffd5e5f1000, 0x7ffd5e612000, 0, "rw-p", "[stack]", 0 },
	{ "7f00-7f10 r--p 0001a000 fd:01 99 /opt/my app/lib python.so (deleted)",
	  1, 0x7f00, 0x7f10, 0x1a000, "r--p", "/opt/my app/lib python.so", 1 },
	{ "garbage", 0, 0, 0, 0, NULL, NULL, 0 },
	{ "10-5 r--p 0 00:00 0 /x", 0, 0, 0, 0, NULL, NULL, 0 },
	{ "", 0, 0, 0, 0, NULL, NULL, 0 },
};

START_TEST(test_parse_line_cases)
{
	struct proc_map m;
	int ret = proc_maps__parse_line(cases[_i].line, &m);

	if (!cases[_i].ok) {
		ck_assert_int_ne(ret, 0);
		return;
	}
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(m.start, cases[_i].start);
	ck_assert_uint_eq(m.end, cases[_i].end);
	ck_assert_uint_eq(m.offset, cases[_i].offset);
	ck_assert_str_eq(m.perms, cases[_i].perms);
	ck_assert_str_eq(m.path, cases[_i].path);
	ck_assert_int_eq(m.deleted, cases[_i].deleted);
	free(m.path);
}
END_TEST

static int marker;

START_TEST(test_load_self_finds_own_data)
{
	struct proc_maps maps;
	const struct proc_map *m;

	ck_assert_int_eq(proc_maps__load(&maps, getpid()), 0);
	ck_assert_uint_gt(maps.n, 5);
	m = proc_maps__find(&maps, (uint64_t)(uintptr_t)&marker);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->perms[1], 'w');
	ck_assert_ptr_null(proc_maps__find(&maps, 16));
	proc_maps__release(&maps);
}
END_TEST

START_TEST(test_load_text_and_basename)
{
	struct proc_maps maps;

	ck_assert_int_eq(proc_maps__load_text(&maps,
		"1000-2000 r-xp 00000000 08:01 1 /usr/lib/libpython3.12.so.1.0\n"
		"2000-3000 rw-p 00001000 08:01 1 /usr/lib/libpython3.12.so.1.0\n"
		"3000-4000 rw-p 00000000 00:00 0\n"), 0);
	ck_assert_uint_eq(maps.n, 3);
	ck_assert_str_eq(proc_map__basename(&maps.v[0]), "libpython3.12.so.1.0");
	ck_assert_str_eq(proc_map__basename(&maps.v[2]), "");
	ck_assert_ptr_eq(proc_maps__find(&maps, 0x2fff), &maps.v[1]);
	proc_maps__release(&maps);
	ck_assert_int_ne(proc_maps__load_text(&maps, "nonsense\n"), 0);
}
END_TEST

START_TEST(test_load_missing_process)
{
	struct proc_maps maps;

	ck_assert_int_lt(proc_maps__load(&maps, 0x7ffffff0), 0);
}
END_TEST

Suite *proc_maps_suite(void)
{
	Suite *s = suite_create("proc_maps");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_parse_line_cases, 0,
			    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_load_text_and_basename);
	suite_add_tcase(s, tc);
	tc = tcase_create("live");
	tcase_add_test(tc, test_load_self_finds_own_data);
	tcase_add_test(tc, test_load_missing_process);
	suite_add_tcase(s, tc);
	return s;
}
