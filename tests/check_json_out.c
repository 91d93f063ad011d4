/* SPDX-License-Identifier: Apache-2.0 */
/* json_out: structure, commas and escaping (including invalid UTF-8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "tests.h"

START_TEST(test_document)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json_out j;

	json_out__init(&j, f);
	json_out__begin_object(&j);
	json_out__key(&j, "a");
	json_out__int(&j, -3);
	json_out__key(&j, "b");
	json_out__begin_array(&j);
	json_out__string(&j, "q\"\\\n\x01");
	json_out__bool(&j, true);
	json_out__null(&j);
	json_out__string(&j, "\xe6\xb7\xb1\xff");
	json_out__end_array(&j);
	json_out__key(&j, "c");
	json_out__uint(&j, 18446744073709551615ULL);
	json_out__end_object(&j);
	fclose(f);
	ck_assert_str_eq(buf, "{\"a\":-3,\"b\":[\"q\\\"\\\\\\n\\u0001\",true,null,"
			      "\"\xe6\xb7\xb1\\ufffd\"],\"c\":18446744073709551615}");
	free(buf);
}
END_TEST

Suite *json_out_suite(void)
{
	Suite *s = suite_create("json_out");
	TCase *tc = tcase_create("write");

	tcase_add_test(tc, test_document);
	suite_add_tcase(s, tc);
	return s;
}
