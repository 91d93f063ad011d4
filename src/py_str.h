/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote str and bytes objects: decoding every string kind (compact ASCII,
 * compact Latin-1/UCS-2/UCS-4, legacy) into UTF-8, with bounded lengths.
 */
#ifndef PEEKA_PY_STR_H
#define PEEKA_PY_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "py_proc.h"

/* Longest string decoded, in characters; longer ones are truncated. */
#define PY_STR_MAX_CHARS 4096

/*
 * Decode the str at remote @addr into @buf as NUL-terminated UTF-8,
 * truncated at a character boundary to fit @len.  *truncated (optional)
 * tells whether characters were dropped.  Checks ob_type against str (or a
 * str subclass) when the str type's address is known.  Returns 0, -errno,
 * or PE_CORRUPT.
 */
int py_str__read(struct py_proc *pp, uint64_t addr, char *buf, size_t len,
		 bool *truncated);

/* Like py_str__read into a new malloc'd string (*out, caller frees). */
int py_str__dup(struct py_proc *pp, uint64_t addr, char **out);

/*
 * Copy the bytes object at remote @addr: *data (malloc'd, caller frees)
 * and *size.  At most @max bytes.  Returns 0, -errno or PE_CORRUPT.
 */
int py_bytes__read(struct py_proc *pp, uint64_t addr, size_t max,
		   uint8_t **data, size_t *size);

/*
 * Append one code point as UTF-8 to @buf at *pos (bounded by @len, leaving
 * room for the NUL).  Lone surrogates become U+FFFD.  False when full.
 */
bool py_str__put_utf8(char *buf, size_t len, size_t *pos, uint32_t cp);

#endif
