/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gzip_enc and pb_enc: gzip members that Python's gzip module (zlib)
 * decompresses back to the input, for empty, tiny, repetitive, random and
 * long-distance inputs; protobuf bytes checked against hand-computed ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gzip_enc.h"
#include "pb_enc.h"
#include "test_util.h"
#include "tests.h"

static unsigned char *make_input(int kind, size_t *len)
{
	size_t n = kind == 0 ? 0 : kind == 1 ? 1 : 200000;
	unsigned char *b = calloc(1, n + 1);
	uint32_t x = 12345;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		switch (kind) {
		case 1:
			b[i] = 'a';
			break;
		case 2:   /* text-like: repetitive with variation */
			b[i] = "def f(x):\n    return x + 1\n"[i % 27] ^ (i % 1000 == 0);
			break;
		case 3:   /* random: incompressible */
			b[i] = (unsigned char)(x >> 24);
			break;
		default:  /* long runs and matches 20-32 KiB back */
			b[i] = (i / 30000) % 2 ? (unsigned char)(i % 251)
					       : (unsigned char)((i % 20000) & 0xff);
			break;
		}
	}
	*len = n;
	return b;
}

START_TEST(test_gzip_round_trip)
{
	char in_path[] = "/tmp/peeka-gz-in-XXXXXX", gz_path[] = "/tmp/peeka-gz-XXXXXX";
	char cmd[512], *err;
	unsigned char *in, *gz;
	size_t len, gzlen;
	int fd;
	FILE *f;

	in = make_input(_i, &len);
	ck_assert_int_eq(gzip__compress(in, len, &gz, &gzlen), 0);
	if (_i == 2 || _i == 4)
		ck_assert_msg(gzlen < len / 4, "%zu -> %zu", len, gzlen);
	fd = mkstemp(in_path);
	f = fdopen(fd, "wb");
	fwrite(in, 1, len, f);
	fclose(f);
	fd = mkstemp(gz_path);
	f = fdopen(fd, "wb");
	fwrite(gz, 1, gzlen, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import gzip,sys; a=gzip.decompress(open(sys.argv[1],\"rb\").read()); "
		 "b=open(sys.argv[2],\"rb\").read(); sys.exit(0 if a == b else 1)' %s %s",
		 gz_path, in_path);
	err = tu_run_expect(cmd, 0);
	free(err);
	unlink(in_path);
	unlink(gz_path);
	free(in);
	free(gz);
}
END_TEST

START_TEST(test_gzip_crc32)
{
	ck_assert_uint_eq(gzip__crc32(0, "123456789", 9), 0xcbf43926u);
	ck_assert_uint_eq(gzip__crc32(0, "", 0), 0);
}
END_TEST

START_TEST(test_pb_bytes)
{
	static const unsigned char sample[] = {   /* formats.md section 6.2 */
		0x12, 0x0c, 0x0a, 0x03, 0x03, 0x02, 0x01, 0x12, 0x05, 0x05,
		0x80, 0xe1, 0xeb, 0x17
	};
	uint64_t locs[] = { 3, 2, 1 }, vals[] = { 5, 50000000 };
	struct pb p, s;

	pb__init(&p);
	pb__init(&s);
	pb__uint(&s, 1, 1);
	pb__uint(&s, 2, 2);
	pb__message(&p, 1, &s);
	ck_assert_uint_eq(p.n, 6);
	ck_assert_mem_eq(p.b, "\x0a\x04\x08\x01\x10\x02", 6);
	pb__reset(&p);
	pb__reset(&s);
	pb__packed(&s, 1, locs, 3);
	pb__packed(&s, 2, vals, 2);
	pb__message(&p, 2, &s);
	ck_assert_uint_eq(p.n, sizeof(sample));
	ck_assert_mem_eq(p.b, sample, sizeof(sample));
	pb__reset(&p);
	pb__string(&p, 6, "");
	ck_assert_uint_eq(p.n, 2);
	ck_assert_mem_eq(p.b, "\x32\x00", 2);
	ck_assert(!pb__failed(&p));
	pb__release(&p);
	pb__release(&s);
}
END_TEST

Suite *gzip_suite(void)
{
	Suite *s = suite_create("gzip");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_gzip_round_trip, 0, 5);
	tcase_add_test(tc, test_gzip_crc32);
	tcase_add_test(tc, test_pb_bytes);
	suite_add_tcase(s, tc);
	return s;
}
