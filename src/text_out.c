/* SPDX-License-Identifier: Apache-2.0 */
/* Escaping of untrusted text for terminal and log output. */
#include "text_out.h"

#include <stddef.h>

/* Length of a valid UTF-8 sequence at @s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
		n = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void text_out__put(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		size_t n = utf8_len(s);

		if (!n || (n == 1 && (*s < 0x20 || *s == 0x7f))) {
			fprintf(f, "\\x%02x", *s);
			s++;
			continue;
		}
		fwrite(s, 1, n, f);
		s += n;
	}
}
