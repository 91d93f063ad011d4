/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_out: structure, commas and escaping (including invalid UTF-8);
 * json_in: parsing what json_out and Python's json module write, and
 * refusing malformed text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_in.h"
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

static struct json_val *parse_ok(const char *text)
{
	struct json_val *v = NULL;
	char err[128];
	int rc = json_in__parse(text, strlen(text), &v, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s: %s", text, err);
	return v;
}

START_TEST(test_parse)
{
	struct json_val *v = parse_ok(
		" {\"id\": 7, \"type\":\"result\", \"data\": {\"a\": [1, -2.5e3, "
		"true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"]}, "
		"\"big\": 18446744073709551615, \"k\": \"\xe6\xb7\xb1\"} ");
	const struct json_val *d, *a;

	ck_assert_int_eq(v->type, JSON_OBJ);
	ck_assert_int_eq(json_in__int(v, "id", -1), 7);
	ck_assert_str_eq(json_in__str(v, "type", ""), "result");
	ck_assert_str_eq(json_in__str(v, "k", ""), "\xe6\xb7\xb1");
	ck_assert_ptr_null(json_in__str(v, "id", NULL));
	ck_assert_int_eq(json_in__int(v, "missing", 42), 42);
	/* Too big for int64: the default, but the token is kept whole. */
	ck_assert_int_eq(json_in__int(v, "big", -1), -1);
	ck_assert_str_eq(json_in__get(v, "big")->str, "18446744073709551615");
	d = json_in__get(v, "data");
	a = json_in__get(d, "a");
	ck_assert_int_eq(a->type, JSON_ARR);
	ck_assert_uint_eq(a->n, 6);
	ck_assert(a->items[1].num == -2500.0);
	ck_assert(a->items[2].b && !a->items[3].b);
	ck_assert_int_eq(a->items[4].type, JSON_NULL);
	ck_assert_str_eq(a->items[5].str, "x\xc3\xa9\xf0\x9f\x98\x80\n");
	json_in__free(v);
}
END_TEST

START_TEST(test_parse_refused)
{
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.", "-",
		"\"abc", "\"a\x01\"", "\"\xff\"", "\"\\q\"", "tru", "{} x",
		"[\"\\u12\"]", "{1:2}",
	};
	char deep[200];
	struct json_val *v = NULL;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(json_in__parse(bad[i], strlen(bad[i]), &v, err,
					     sizeof(err)) == -EINVAL,
			      "accepted: %s", bad[i]);
		ck_assert_msg(strstr(err, "at byte"), "%s: %s", bad[i], err);
	}
	memset(deep, '[', 100);
	memset(deep + 100, ']', 99);
	deep[199] = '\0';
	ck_assert_int_eq(json_in__parse(deep, strlen(deep), &v, err,
					sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "deeply"), "%s", err);
}
END_TEST

Suite *json_out_suite(void)
{
	Suite *s = suite_create("json_out");
	TCase *tc = tcase_create("write");

	tcase_add_test(tc, test_document);
	suite_add_tcase(s, tc);
	tc = tcase_create("read");
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_refused);
	suite_add_tcase(s, tc);
	return s;
}
