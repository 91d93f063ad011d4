/* SPDX-License-Identifier: Apache-2.0 */
/* libunwind-ptrace with cached process_vm_readv reads. */
#include "native_unwind.h"

#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#include <elf.h>
#include <time.h>

#include <libunwind-ptrace.h>

#include "proc_maps.h"
#include "rec_clock.h"

/* Exported by libunwind (x86_64) but not declared in its headers: the
 * binary search of an .eh_frame_hdr table, here one in the target. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as,
					      unw_word_t ip,
					      unw_dyn_info_t *di,
					      unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

#define PAGE 4096ULL
#define RO_SLOTS 1024   /* read-only pages kept across unwinds */
#define RW_SLOTS 64     /* stack and data pages, one unwind */
#define MAX_UPT 256
#define MAX_MODULES 512
#define MAPS_CHECK_NS 1000000000ULL  /* look for new mappings every second */
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_datarel_sdata4 0x3b

/* One mapped ELF file's unwind table, found in the target's memory. */
struct module {
	uint64_t lo, hi;          /* the file's mappings */
	bool ok;                  /* has an .eh_frame_hdr we can search */
	unw_dyn_info_t di;
};

struct page {
	uint64_t addr;     /* page address; 0 = empty */
	unsigned char data[PAGE];
};

struct upt_slot {
	int tid;
	void *upt;
};

struct native_unwinder {
	int pid;
	unw_addr_space_t as;
	unw_accessors_t acc;
	struct page *ro, *rw;
	uint64_t rw_gen;
	struct upt_slot upt[MAX_UPT];
	size_t nupt;
	struct user_regs_struct regs;
	bool maps_loaded;
	struct proc_maps maps;
	uint64_t maps_hash, maps_checked;
	struct module mods[MAX_MODULES];
	size_t nmods;
};

/*
 * libunwind's ptrace accessors take their UPT_info as the argument, so
 * the unwinder of the current call is found here (peeka samples from one
 * thread).
 */
static struct native_unwinder *cur;

/* The mappings (cached across unwinds); the unwind tables found in them
 * go with them. */
static void load_maps(struct native_unwinder *u)
{
	u->nmods = 0;
	u->maps_loaded = true;
	proc_maps__release(&u->maps);
	proc_maps__load(&u->maps, u->pid);
}

/* Whether @addr is in a read-only mapping (text, read-only data): its
 * pages can stay cached from one unwind to the next. */
static bool read_only(struct native_unwinder *u, uint64_t addr)
{
	const struct proc_map *m;

	if (!u->maps_loaded)
		load_maps(u);
	m = proc_maps__find(&u->maps, addr);
	return m && m->perms[0] == 'r' && m->perms[1] != 'w';
}

static int fetch(struct native_unwinder *u, uint64_t page, unsigned char *buf)
{
	struct iovec local = { buf, PAGE };
	struct iovec remote = { (void *)(uintptr_t)page, PAGE };
	ssize_t n = process_vm_readv(u->pid, &local, 1, &remote, 1, 0);

	return n == (ssize_t)PAGE ? 0 : -UNW_EINVAL;
}

static int cached_word(struct native_unwinder *u, uint64_t addr,
		       unw_word_t *val)
{
	uint64_t page = addr & ~(PAGE - 1), off = addr - page;
	bool ro = read_only(u, addr);
	struct page *slots = ro ? u->ro : u->rw;
	size_t nslots = ro ? RO_SLOTS : RW_SLOTS;
	struct page *p = &slots[(page / PAGE) % nslots];

	if (off + sizeof(*val) > PAGE)
		return -UNW_EINVAL;
	/* rw pages are tagged with the unwind's generation in the low bits
	 * of the address (pages are aligned, so they are free). */
	if (p->addr != (ro ? page : page | (u->rw_gen & (PAGE - 1)))) {
		if (fetch(u, page, p->data)) {
			p->addr = 0;
			return -UNW_EINVAL;
		}
		p->addr = ro ? page : page | (u->rw_gen & (PAGE - 1));
	}
	memcpy(val, p->data + off, sizeof(*val));
	return 0;
}

static int read_remote(struct native_unwinder *u, uint64_t addr, void *buf,
		       size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(u->pid, &local, 1, &remote, 1, 0) ==
	       (ssize_t)len ? 0 : -1;
}

/*
 * The unwind table of the ELF file mapped at @m, from the target's own
 * memory: its ELF and program headers (mapped with the first segment),
 * then PT_GNU_EH_FRAME.  No file is opened, so deleted or replaced files
 * and other mount namespaces need nothing special.
 */
static void load_module(struct native_unwinder *u, const struct proc_map *m,
			struct module *mod)
{
	uint64_t base = 0, bias, hdr = 0, first_load = UINT64_MAX;
	unsigned char eh[12];
	Elf64_Ehdr eh64;
	Elf64_Phdr ph[64];
	uint32_t count;

	memset(mod, 0, sizeof(*mod));
	/* The one mapping that holds the code; the ELF headers are at the
	 * start of the same file's nearest offset-0 mapping below it (a file
	 * mapped twice must not cover the libraries in between). */
	mod->lo = m->start;
	mod->hi = m->end;
	for (size_t i = 0; i < u->maps.n; i++) {
		const struct proc_map *o = &u->maps.v[i];

		if (strcmp(o->path, m->path) || o->inode != m->inode ||
		    o->offset != 0 || o->start > m->start)
			continue;
		if (o->start > base)
			base = o->start;
	}
	if (!base || read_remote(u, base, &eh64, sizeof(eh64)) ||
	    memcmp(eh64.e_ident, ELFMAG, SELFMAG) ||
	    eh64.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh64.e_phentsize != sizeof(Elf64_Phdr) || !eh64.e_phnum ||
	    eh64.e_phnum > 64 ||
	    read_remote(u, base + eh64.e_phoff, ph, eh64.e_phnum * sizeof(*ph)))
		return;
	for (size_t i = 0; i < eh64.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && first_load == UINT64_MAX)
			first_load = ph[i].p_vaddr & ~(ph[i].p_align ? ph[i].p_align - 1 : 0);
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			hdr = ph[i].p_vaddr;
	}
	if (!hdr || first_load == UINT64_MAX)
		return;
	bias = eh64.e_type == ET_DYN ? base - first_load : 0;
	hdr += bias;
	/* version 1, then the encodings of eh_frame_ptr, fde_count and the
	 * table: the table must be datarel sdata4 pairs to be searched. */
	if (read_remote(u, hdr, eh, sizeof(eh)) || eh[0] != 1 ||
	    ((eh[1] & 0x0f) != DW_EH_PE_udata4 &&
	     (eh[1] & 0x0f) != DW_EH_PE_sdata4) ||
	    eh[2] != DW_EH_PE_udata4 || eh[3] != DW_EH_PE_datarel_sdata4)
		return;
	memcpy(&count, eh + 8, 4);
	mod->di.start_ip = mod->lo;
	mod->di.end_ip = mod->hi;
	mod->di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	mod->di.u.rti.segbase = hdr;
	mod->di.u.rti.table_len = count;  /* in words: 8-byte entries */
	mod->di.u.rti.table_data = hdr + 12;
	mod->ok = count > 0;
}

static void maps_check(struct native_unwinder *u);

static struct module *module_of(struct native_unwinder *u, uint64_t ip)
{
	const struct proc_map *m;

	if (!u->maps_loaded)
		load_maps(u);
	for (size_t i = 0; i < u->nmods; i++)
		if (ip >= u->mods[i].lo && ip < u->mods[i].hi)
			return &u->mods[i];
	m = proc_maps__find(&u->maps, ip);
	if (!m && rec_clock__now() - u->maps_checked > MAPS_CHECK_NS / 10) {
		/* Mapped since the last look (dlopen): look again. */
		u->maps_checked = 0;
		maps_check(u);
		if (!u->maps_loaded)
			load_maps(u);
		m = proc_maps__find(&u->maps, ip);
	}
	if (!m || (m->path[0] != '/' && strcmp(m->path, "[vdso]")) ||
	    u->nmods == MAX_MODULES)
		return NULL;
	load_module(u, m, &u->mods[u->nmods]);
	if (u->mods[u->nmods].hi <= u->mods[u->nmods].lo)
		return NULL;
	return &u->mods[u->nmods++];
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip,
			  unw_proc_info_t *pi, int need_unwind_info, void *arg)
{
	struct module *mod = cur ? module_of(cur, ip) : NULL;

	if (!mod || !mod->ok)
		return -UNW_ENOINFO;
	return _Ux86_64_dwarf_search_unwind_table(as, ip, &mod->di, pi,
						  need_unwind_info, arg);
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
		      int write, void *arg)
{
	if (write || !cur)
		return _UPT_access_mem(as, addr, val, write, arg);
	return cached_word(cur, addr, val);
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val,
		      int write, void *arg)
{
	const struct user_regs_struct *r;

	if (write || !cur)
		return _UPT_access_reg(as, reg, val, write, arg);
	r = &cur->regs;
	switch (reg) {
	case UNW_X86_64_RAX: *val = r->rax; break;
	case UNW_X86_64_RDX: *val = r->rdx; break;
	case UNW_X86_64_RCX: *val = r->rcx; break;
	case UNW_X86_64_RBX: *val = r->rbx; break;
	case UNW_X86_64_RSI: *val = r->rsi; break;
	case UNW_X86_64_RDI: *val = r->rdi; break;
	case UNW_X86_64_RBP: *val = r->rbp; break;
	case UNW_X86_64_RSP: *val = r->rsp; break;
	case UNW_X86_64_R8: *val = r->r8; break;
	case UNW_X86_64_R9: *val = r->r9; break;
	case UNW_X86_64_R10: *val = r->r10; break;
	case UNW_X86_64_R11: *val = r->r11; break;
	case UNW_X86_64_R12: *val = r->r12; break;
	case UNW_X86_64_R13: *val = r->r13; break;
	case UNW_X86_64_R14: *val = r->r14; break;
	case UNW_X86_64_R15: *val = r->r15; break;
	case UNW_X86_64_RIP: *val = r->rip; break;
	default:
		return _UPT_access_reg(as, reg, val, write, arg);
	}
	return 0;
}

struct native_unwinder *native_unwind__new(int pid)
{
	struct native_unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->pid = pid;
	u->ro = calloc(RO_SLOTS, sizeof(*u->ro));
	u->rw = calloc(RW_SLOTS, sizeof(*u->rw));
	u->acc = _UPT_accessors;
	u->acc.find_proc_info = find_proc_info;
	u->acc.access_mem = access_mem;
	u->acc.access_reg = access_reg;
	u->acc.get_proc_name = NULL;
	u->as = unw_create_addr_space(&u->acc, 0);
	if (!u->ro || !u->rw || !u->as) {
		native_unwind__free(u);
		return NULL;
	}
	unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
	return u;
}

void native_unwind__free(struct native_unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nupt; i++)
		_UPT_destroy(u->upt[i].upt);
	if (u->as)
		unw_destroy_addr_space(u->as);
	free(u->ro);
	free(u->rw);
	proc_maps__release(&u->maps);
	free(u);
}


/* Once a second: when the mappings changed (dlopen, dlclose), forget the
 * unwind tables and cached pages of the old ones. */
static void maps_check(struct native_unwinder *u)
{
	uint64_t now = rec_clock__now(), h;

	if (u->maps_checked && now - u->maps_checked < MAPS_CHECK_NS)
		return;
	u->maps_checked = now;
	h = proc_maps__code_hash(u->pid);
	if (h == u->maps_hash)
		return;
	u->maps_hash = h;
	unw_flush_cache(u->as, 0, 0);
	memset(u->ro, 0, RO_SLOTS * sizeof(*u->ro));
	u->maps_loaded = false;
}

/* The UPT_info of @tid (for the registers libunwind asks it for). */
static void *upt_of(struct native_unwinder *u, int tid)
{
	void *upt;

	for (size_t i = 0; i < u->nupt; i++)
		if (u->upt[i].tid == tid)
			return u->upt[i].upt;
	upt = _UPT_create(tid);
	if (!upt)
		return NULL;
	if (u->nupt == MAX_UPT) {
		_UPT_destroy(u->upt[0].upt);
		u->upt[0] = u->upt[--u->nupt];
	}
	u->upt[u->nupt].tid = tid;
	u->upt[u->nupt++].upt = upt;
	return upt;
}

int native_unwind__thread(struct native_unwinder *u, int tid, uint64_t *ips,
			  uint64_t *sps, size_t cap, size_t *n)
{
	unw_cursor_t c;
	void *upt;
	int ret;

	*n = 0;
	if (ptrace(PTRACE_GETREGS, tid, 0, &u->regs))
		return -errno;
	upt = upt_of(u, tid);
	if (!upt)
		return -ENOMEM;
	/* A new generation empties the stack pages; on wrap-around of the
	 * tag, empty them for real. */
	if ((++u->rw_gen & (PAGE - 1)) == 0) {
		for (size_t i = 0; i < RW_SLOTS; i++)
			u->rw[i].addr = 0;
		u->rw_gen++;
	}
	maps_check(u);
	cur = u;
	ret = unw_init_remote(&c, u->as, upt);
	while (!ret && *n < cap) {
		unw_word_t ip, sp = 0;

		if (unw_get_reg(&c, UNW_REG_IP, &ip) || !ip)
			break;
		unw_get_reg(&c, UNW_REG_SP, &sp);
		sps[*n] = sp;
		ips[(*n)++] = ip;
		if (unw_step(&c) <= 0)
			break;
	}
	cur = NULL;
	return ret < 0 && !*n ? ret : 0;
}
