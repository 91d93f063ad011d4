/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ELF facts peeka needs from a mapped file: symbols (.symtab, then
 * .dynsym), sections, the first PT_LOAD, and section contents.  The only
 * module that includes libelf's headers.
 */
#ifndef PEEKA_ELF_SYM_H
#define PEEKA_ELF_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file;

/*
 * Open @path (read-only).  Returns 0 and a new handle in *out, -errno, or
 * PE_ELF when the file is not a 64-bit ELF object.
 */
int elf_sym__open(const char *path, struct elf_file **out);
void elf_sym__close(struct elf_file *ef);

/* e_type: ET_EXEC (2) or ET_DYN (3). */
int elf_sym__type(const struct elf_file *ef);

/*
 * The link-time address the first PT_LOAD maps at, rounded down to its
 * alignment.  load bias = mapping start (file offset 0) - this value.
 */
int elf_sym__first_load(const struct elf_file *ef, uint64_t *vaddr);

/*
 * Look up a defined symbol by name in .symtab, then .dynsym.  Returns 0 and
 * its value (and size, if @size), or PE_NO_SYMBOL.
 */
int elf_sym__lookup(struct elf_file *ef, const char *name, uint64_t *value,
		    uint64_t *size);

/* Find a section by name: its address and size.  0 or PE_NO_SYMBOL. */
int elf_sym__section(struct elf_file *ef, const char *name, uint64_t *addr,
		     uint64_t *size);

/*
 * Copy up to @len bytes from the start of section @name into @buf; *got
 * gets the count (sections of type NOBITS give PE_NO_SYMBOL).
 */
int elf_sym__section_data(struct elf_file *ef, const char *name, void *buf,
			  size_t len, size_t *got);

/* True when a DT_NEEDED entry's name contains @needle. */
bool elf_sym__needs(struct elf_file *ef, const char *needle);

#endif
