/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Symbols for native return addresses, with elfutils' libdwfl over the
 * target's mapped ELF files, opened through /proc/PID/root (other mount
 * namespaces) or /proc/PID/map_files (deleted or replaced files): the
 * function and offset from .symtab (else .dynsym), the source file and
 * line where DWARF is there, and the module's short name.  Results are
 * cached per address; a new mapping (dlopen) is picked up when an address
 * falls outside every known module.
 */
#ifndef PEEKA_NATIVE_SYM_H
#define PEEKA_NATIVE_SYM_H

#include <stdbool.h>
#include <stdint.h>

struct native_sym_info {
	const char *function;   /* NULL when no symbol covers the address */
	uint64_t offset;        /* from the function's start */
	const char *module;     /* short name ("libc.so.6"), or NULL */
	uint64_t module_offset; /* the address less the module's bias */
	const char *file;       /* source file (base name), or NULL */
	int line;               /* 0 when unknown */
	bool interp;            /* in the ELF file that holds the interpreter */
	bool eval;              /* the interpreter's frame evaluator */
};

struct native_sym;

/*
 * For process @pid whose interpreter lives in the file mapped as
 * @interp_path (as /proc/PID/maps writes it), started from @exe_path (its
 * frames count as the interpreter's too when it is a python* launcher).
 * NULL when out of memory.
 */
struct native_sym *native_sym__new(int pid, const char *interp_path,
				   const char *exe_path);
void native_sym__free(struct native_sym *s);

/*
 * Whether to look up source files and lines (DWARF; on by default).
 * Loading a large module's line tables takes a while, so the samplers,
 * which show function and module only, turn it off.
 */
void native_sym__set_lines(struct native_sym *s, bool on);

/*
 * At most once a second: when the target's mappings changed (dlopen,
 * dlclose), forget every address looked up and report the modules
 * afresh.  Results from earlier lookups are then invalid: call this only
 * between stacks, never while holding them.
 */
void native_sym__refresh(struct native_sym *s);

/*
 * What is at @ip.  A return address (@call_site) is looked up at ip - 1,
 * the call instruction.  The result is borrowed: valid until the next
 * native_sym__refresh (later lookups do not move it).  Never fails: an
 * unknown address has function NULL.
 */
const struct native_sym_info *native_sym__lookup(struct native_sym *s,
						 uint64_t ip, bool call_site);

#endif
