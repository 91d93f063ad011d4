/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remote dicts and instance attributes: iterating a dict's entries (combined
 * and split tables), looking up str keys, reading ints, and finding an
 * object's attribute through its instance dict, managed dict or inline
 * values, per version.  Bounded in entries and lengths.
 */
#ifndef PEEKA_PY_DICT_H
#define PEEKA_PY_DICT_H

#include <stdint.h>

#include "py_proc.h"

/* Dicts with more entries than this are not walked (PE_TOO_DEEP). */
#define PY_DICT_MAX_ENTRIES 65536

/* Return non-zero from the callback to stop; that value is returned. */
typedef int (*py_dict_fn)(void *ctx, uint64_t key, uint64_t value);

/* Call @fn for each live entry of the dict object at @dict. */
int py_dict__foreach(struct py_proc *pp, uint64_t dict, py_dict_fn fn,
		     void *ctx);

/* The value for str key @key (exact match), or PE_NO_SYMBOL. */
int py_dict__get_str(struct py_proc *pp, uint64_t dict, const char *key,
		     uint64_t *value);

/*
 * The instance attribute @name of the object at @obj (no descriptors, no
 * class attributes).  Returns 0, PE_NO_SYMBOL, or an error.
 */
int py_obj__getattr(struct py_proc *pp, uint64_t obj, const char *name,
		    uint64_t *value);

/*
 * The value of an exact int (or bool) object into *out.  Returns 0,
 * -ERANGE when it does not fit in 64 bits, PE_CORRUPT when not an int.
 */
int py_long__read(struct py_proc *pp, uint64_t addr, int64_t *out,
		  bool *negative);

#endif
