/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libelf-backed symbol and section lookup.  Symbol tables are scanned
 * linearly per lookup; callers look up a handful of names per file.
 */
#include "elf_sym.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"

struct elf_file {
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
	size_t shstrndx;
};

int elf_sym__open(const char *path, struct elf_file **out)
{
	struct elf_file *ef;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return PE_ELF;
	ef = calloc(1, sizeof(*ef));
	if (!ef)
		return -ENOMEM;
	ef->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ef->fd < 0) {
		int err = -errno;

		free(ef);
		return err;
	}
	ef->elf = elf_begin(ef->fd, ELF_C_READ_MMAP, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF ||
	    gelf_getclass(ef->elf) != ELFCLASS64 ||
	    !gelf_getehdr(ef->elf, &ef->ehdr) ||
	    elf_getshdrstrndx(ef->elf, &ef->shstrndx)) {
		elf_sym__close(ef);
		return PE_ELF;
	}
	*out = ef;
	return 0;
}

void elf_sym__close(struct elf_file *ef)
{
	if (!ef)
		return;
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
	free(ef);
}

int elf_sym__type(const struct elf_file *ef)
{
	return ef->ehdr.e_type;
}

int elf_sym__first_load(const struct elf_file *ef, uint64_t *vaddr)
{
	size_t n;

	if (elf_getphdrnum(ef->elf, &n))
		return PE_ELF;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(ef->elf, (int)i, &ph))
			return PE_ELF;
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_align > 1)
			*vaddr = ph.p_vaddr & ~(ph.p_align - 1);
		else
			*vaddr = ph.p_vaddr;
		return 0;
	}
	return PE_ELF;
}

static int lookup_in(struct elf_file *ef, Elf_Scn *scn, const GElf_Shdr *sh,
		     const char *name, uint64_t *value, uint64_t *size)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count;

	if (!data || !sh->sh_entsize)
		return PE_NO_SYMBOL;
	count = sh->sh_size / sh->sh_entsize;
	for (size_t i = 1; i < count; i++) {
		GElf_Sym sym;
		const char *s;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		if (sym.st_shndx == SHN_UNDEF || !sym.st_name)
			continue;
		s = elf_strptr(ef->elf, sh->sh_link, sym.st_name);
		if (s && !strcmp(s, name)) {
			*value = sym.st_value;
			if (size)
				*size = sym.st_size;
			return 0;
		}
	}
	return PE_NO_SYMBOL;
}

int elf_sym__lookup(struct elf_file *ef, const char *name, uint64_t *value,
		    uint64_t *size)
{
	static const Elf64_Word types[] = { SHT_SYMTAB, SHT_DYNSYM };

	for (size_t t = 0; t < 2; t++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(ef->elf, scn)) != NULL) {
			GElf_Shdr sh;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != types[t])
				continue;
			if (!lookup_in(ef, scn, &sh, name, value, size))
				return 0;
		}
	}
	return PE_NO_SYMBOL;
}

static Elf_Scn *find_section(struct elf_file *ef, const char *name,
			     GElf_Shdr *out)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(ef->elf, scn)) != NULL) {
		const char *s;

		if (!gelf_getshdr(scn, out))
			continue;
		s = elf_strptr(ef->elf, ef->shstrndx, out->sh_name);
		if (s && !strcmp(s, name))
			return scn;
	}
	return NULL;
}

int elf_sym__section(struct elf_file *ef, const char *name, uint64_t *addr,
		     uint64_t *size)
{
	GElf_Shdr sh;

	if (!find_section(ef, name, &sh))
		return PE_NO_SYMBOL;
	*addr = sh.sh_addr;
	*size = sh.sh_size;
	return 0;
}

int elf_sym__section_data(struct elf_file *ef, const char *name, void *buf,
			  size_t len, size_t *got)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_section(ef, name, &sh);
	Elf_Data *data;

	*got = 0;
	if (!scn || sh.sh_type == SHT_NOBITS)
		return PE_NO_SYMBOL;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf)
		return PE_NO_SYMBOL;
	*got = data->d_size < len ? data->d_size : len;
	memcpy(buf, data->d_buf, *got);
	return 0;
}

bool elf_sym__needs(struct elf_file *ef, const char *needle)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(ef->elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && sh.sh_entsize &&
				   i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(data, (int)i, &dyn))
				break;
			if (dyn.d_tag != DT_NEEDED)
				continue;
			s = elf_strptr(ef->elf, sh.sh_link, dyn.d_un.d_val);
			if (s && strstr(s, needle))
				return true;
		}
	}
	return false;
}
