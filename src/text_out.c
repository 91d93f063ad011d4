/* SPDX-License-Identifier: Apache-2.0 */
/* Escaping of untrusted text for terminal and log output. */
#include "text_out.h"

#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

void text_out__put(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		size_t n;
		uint32_t cp = utf8__next(s, &n);

		if (utf8__invalid(cp, n) || cp < 0x20 || cp == 0x7f) {
			fprintf(f, "\\x%02x", *s);
			s++;
			continue;
		}
		fwrite(s, 1, n, f);
		s += n;
	}
}
