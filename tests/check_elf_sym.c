/* SPDX-License-Identifier: Apache-2.0 */
/* elf_sym: symbols, sections and load bias, checked on this very binary. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elf_sym.h"
#include "errors.h"
#include "proc_maps.h"
#include "tests.h"

int peeka_test_elf_marker = 42;

START_TEST(test_symbol_address_matches_runtime)
{
	struct elf_file *ef;
	struct proc_maps maps;
	uint64_t value, size, vaddr, bias = 0;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	ck_assert_int_eq(elf_sym__open("/proc/self/exe", &ef), 0);
	ck_assert_int_eq(elf_sym__lookup(ef, "peeka_test_elf_marker", &value, &size), 0);
	ck_assert_uint_eq(size, sizeof(int));
	ck_assert_int_eq(elf_sym__first_load(ef, &vaddr), 0);
	ck_assert_int_eq(proc_maps__load(&maps, getpid()), 0);
	for (size_t i = 0; i < maps.n; i++)
		if (!maps.v[i].offset && !strcmp(maps.v[i].path, exe)) {
			bias = maps.v[i].start - vaddr;
			break;
		}
	ck_assert_uint_eq(bias + value, (uint64_t)(uintptr_t)&peeka_test_elf_marker);
	proc_maps__release(&maps);
	elf_sym__close(ef);
}
END_TEST

START_TEST(test_sections_and_missing)
{
	struct elf_file *ef;
	uint64_t addr, size, v;
	char buf[16];
	size_t got;

	ck_assert_int_eq(elf_sym__open("/proc/self/exe", &ef), 0);
	ck_assert_int_eq(elf_sym__section(ef, ".text", &addr, &size), 0);
	ck_assert_uint_gt(size, 0);
	ck_assert_int_eq(elf_sym__section(ef, ".PyRuntime", &addr, &size), PE_NO_SYMBOL);
	ck_assert_int_eq(elf_sym__lookup(ef, "no_such_symbol_here", &v, NULL), PE_NO_SYMBOL);
	ck_assert_int_eq(elf_sym__section_data(ef, ".interp", buf, sizeof(buf), &got), 0);
	ck_assert_int_gt(got, 0);
	ck_assert_int_eq(buf[0], '/');
	ck_assert(elf_sym__needs(ef, "libc.so"));
	ck_assert(!elf_sym__needs(ef, "libpython"));
	ck_assert_int_eq(elf_sym__type(ef), 3);
	elf_sym__close(ef);
}
END_TEST

START_TEST(test_not_elf)
{
	struct elf_file *ef = NULL;
	FILE *f = fopen("build/not-elf.txt", "w");

	ck_assert_ptr_nonnull(f);
	fputs("this is not an ELF file\n", f);
	fclose(f);
	ck_assert_int_eq(elf_sym__open("build/not-elf.txt", &ef), PE_ELF);
	ck_assert_int_lt(elf_sym__open("/nonexistent/file", &ef), 0);
}
END_TEST

Suite *elf_sym_suite(void)
{
	Suite *s = suite_create("elf_sym");
	TCase *tc = tcase_create("self");

	tcase_add_test(tc, test_symbol_address_matches_runtime);
	tcase_add_test(tc, test_sections_and_missing);
	tcase_add_test(tc, test_not_elf);
	suite_add_tcase(s, tc);
	return s;
}
