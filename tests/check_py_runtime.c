/* SPDX-License-Identifier: Apache-2.0 */
/* py_runtime: version decoding and scanning, and locating on a non-Python. */
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "py_runtime.h"
#include "tests.h"

#define T(s) s, sizeof(s) - 1

static const struct {
	const char *text;
	size_t len;
	int ok;
	const char *formatted;
} scan_cases[] = {
	{ T("\0003.9.18 (main, May  9 2026, 07:33:49)"), 1, "3.9.18" },
	{ T("3.10.13 (main, Jan 1 2026)"), 1, "3.10.13" },
	{ T("xx\0003.8.0rc1 (default"), 1, "3.8.0rc1" },
	{ T("\0003.11.0a7+ (heads/main"), 1, "3.11.0a7" },
	{ T("\0003.12.0b4 (tags"), 1, "3.12.0b4" },
	{ T("build/Python-3.9.18"), 0, NULL },
	{ T("x3.9.18 (main"), 0, NULL },
	{ T("\0003.9 (main"), 0, NULL },
	{ T("\0003.9.1234 (main"), 0, NULL },
};

START_TEST(test_scan_text)
{
	struct py_version v;
	char buf[32];
	size_t len = scan_cases[_i].len;
	int ret = py_version__scan_text(scan_cases[_i].text, len, &v);

	if (!scan_cases[_i].ok) {
		ck_assert_int_ne(ret, 0);
		return;
	}
	ck_assert_int_eq(ret, 0);
	py_version__format(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, scan_cases[_i].formatted);
}
END_TEST

START_TEST(test_hex_and_names)
{
	struct py_version v = { 0 };
	unsigned a = 0, b = 0;
	char buf[32];

	py_version__from_hex(&v, 0x030e0af0);
	py_version__format(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3.14.10");
	py_version__from_hex(&v, 0x030d00c2);
	py_version__format(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3.13.0rc2");
	v.micro_known = false;
	py_version__format(&v, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3.13");
	ck_assert_int_eq(py_version__from_filename("libpython3.9.so.1.0", &a, &b), 0);
	ck_assert_uint_eq(a, 3);
	ck_assert_uint_eq(b, 9);
	ck_assert_int_eq(py_version__from_filename("python3.14", &a, &b), 0);
	ck_assert_uint_eq(b, 14);
	ck_assert_int_ne(py_version__from_filename("libc.so.6", &a, &b), 0);
}
END_TEST

START_TEST(test_locate_in_non_python)
{
	struct proc_maps maps;
	struct py_runtime rt;
	char err[256] = "";

	ck_assert_int_eq(proc_maps__load(&maps, getpid()), 0);
	ck_assert_int_eq(py_runtime__locate(&rt, getpid(), &maps, err, sizeof(err)),
			 PE_NOT_PYTHON);
	ck_assert_ptr_nonnull(strstr(err, "_PyRuntime"));
	proc_maps__release(&maps);
}
END_TEST

Suite *py_runtime_suite(void)
{
	Suite *s = suite_create("py_runtime");
	TCase *tc = tcase_create("version");

	tcase_add_loop_test(tc, test_scan_text, 0,
			    sizeof(scan_cases) / sizeof(scan_cases[0]));
	tcase_add_test(tc, test_hex_and_names);
	tcase_add_test(tc, test_locate_in_non_python);
	suite_add_tcase(s, tc);
	return s;
}
