/* SPDX-License-Identifier: Apache-2.0 */
/* A ptrace remote call on one thread of a CPython process (x86-64). */
#include "inject_ptrace.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "elf_sym.h"
#include "errors.h"
#include "proc_maps.h"
#include "proc_stop.h"
#include "rec_clock.h"

#define PAGE 4096
#define CODE_MAX 4000
#define XSTATE_MAX 16384
#define RED_ZONE 128
#define MAX_DEFERRED 16
#define CALL_TIMEOUT_NS 30000000000ULL   /* a call that takes longer is cut */
#define ERESTART_RESTARTBLOCK 516
#define ERESTARTNOINTR 513
#define EFLAGS_DF 0x400

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

struct call {
	int pid, tid;
	struct user_regs_struct saved;
	unsigned char xstate[XSTATE_MAX];
	size_t xstate_len;
	int deferred[MAX_DEFERRED];
	size_t ndeferred;
	char *err;
	size_t errlen;
	bool patient;   /* never cut a call short (see run_until) */
};

void (*inject__step_hook)(const char *step);

static void step(const char *name)
{
	if (inject__step_hook)
		inject__step_hook(name);
}

/* peeka itself runs under a seccomp filter (Seccomp: 2). */
static bool seccomp_filtered(void)
{
	char line[128];
	bool on = false;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Seccomp:", 8))
			on = strtol(line + 8, NULL, 10) == 2;
	if (f)
		fclose(f);
	return on;
}

static int fail(struct call *c, int ret, const char *msg)
{
	snprintf(c->err, c->errlen, "%s", msg);
	return ret;
}

int inject__resolve(struct py_proc *pp, struct inject_syms *s, char *err,
		    size_t errlen)
{
	static const char *const names[] = { "Py_AddPendingCall",
		"PyRun_SimpleString", "PyGILState_Ensure",
		"PyGILState_Release" };
	uint64_t *out[] = { &s->add_pending_call, &s->run_simple_string,
			    &s->gil_ensure, &s->gil_release };
	struct elf_file *ef = NULL;
	int ret = elf_sym__open(pp->rt.open_path, &ef);

	if (ret) {
		snprintf(err, errlen, "cannot read the interpreter's symbols in %s",
			 pp->rt.map_path);
		return ret;
	}
	for (size_t i = 0; i < 4; i++) {
		uint64_t v = 0, size = 0;

		ret = elf_sym__lookup(ef, names[i], &v, &size);
		if (ret || !v) {
			snprintf(err, errlen, "%s is not among the symbols of %s",
				 names[i], pp->rt.map_path);
			elf_sym__close(ef);
			return ret ? ret : PE_NO_SYMBOL;
		}
		*out[i] = pp->rt.bias + v;
	}
	elf_sym__close(ef);
	return 0;
}

int inject__preflight(struct py_proc *pp, char *err, size_t errlen)
{
	char path[64], line[256];
	int tracer = -1;
	char state = '?';
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pp->pid);
	f = fopen(path, "r");
	if (!f)
		return snprintf(err, errlen, "process %d is gone", pp->pid), -ESRCH;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "TracerPid:", 10))
			tracer = (int)strtol(line + 10, NULL, 10);
		else if (!strncmp(line, "State:", 6))
			sscanf(line + 6, " %c", &state);
	}
	fclose(f);
	if (tracer > 0) {
		snprintf(err, errlen, "process %d is already traced by pid %d (a debugger?)",
			 pp->pid, tracer);
		return -EBUSY;
	}
	if (state == 'T' || state == 't') {
		snprintf(err, errlen, "process %d is stopped (job control or a debugger): resume it first",
			 pp->pid);
		return -EBUSY;
	}
	if (state == 'Z' || state == 'X')
		return snprintf(err, errlen, "process %d has exited", pp->pid), -ESRCH;
	return 0;
}

static int write_mem(int pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	char path[64];
	ssize_t n;
	int fd;

	n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pwrite(fd, buf, len, (off_t)addr);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int read_mem(int pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len
		       ? 0 : -EIO;
}

/* A `syscall` instruction (0f 05) in the target: where the thread is
 * stopped in one, else in the vdso or libc text. */
static int find_syscall(struct call *c, uint64_t *at)
{
	struct proc_maps maps = { 0 };
	unsigned char b[2], *buf;
	int ret = -ENOENT;

	if ((long long)c->saved.orig_rax >= 0 &&
	    !read_mem(c->pid, c->saved.rip - 2, b, 2) && b[0] == 0x0f &&
	    b[1] == 0x05) {
		*at = c->saved.rip - 2;
		return 0;
	}
	buf = malloc(1 << 16);
	if (!buf || proc_maps__load(&maps, c->pid)) {
		free(buf);
		return -ENOMEM;
	}
	for (int pass = 0; pass < 2 && ret; pass++) {
		for (size_t i = 0; i < maps.n && ret; i++) {
			const struct proc_map *m = &maps.v[i];
			bool want = pass == 0 ? !strcmp(m->path, "[vdso]")
					      : m->perms[2] == 'x' &&
						strstr(m->path, "/libc");

			if (!want || m->perms[2] != 'x')
				continue;
			for (uint64_t a = m->start; a < m->end && ret; a += (1 << 16) - 1) {
				size_t len = m->end - a < (1 << 16) ? m->end - a : (1 << 16);

				if (read_mem(c->pid, a, buf, len))
					break;
				for (size_t k = 0; k + 1 < len; k++)
					if (buf[k] == 0x0f && buf[k + 1] == 0x05) {
						*at = a + k;
						ret = 0;
						break;
					}
			}
		}
	}
	proc_maps__release(&maps);
	free(buf);
	return ret;
}

static void defer(struct call *c, int sig)
{
	if (c->ndeferred < MAX_DEFERRED)
		c->deferred[c->ndeferred++] = sig;
}

/*
 * Run the thread until it stops with @want (SIGTRAP after a step, or
 * SIGSEGV at address 0 after a call returned).  Other signals are
 * deferred.  Returns 0, -ESRCH (the thread died), -ETIMEDOUT, or -EFAULT
 * when the code crashed.
 */
static int run_until(struct call *c, int resume_req, int want)
{
	uint64_t deadline = rec_clock__now() + CALL_TIMEOUT_NS;
	struct timespec nap = { 0, 100000 };

	if (ptrace(resume_req, c->tid, 0, 0))
		return -errno;
	step(resume_req == PTRACE_SINGLESTEP ? "syscall" : "call");
	for (;;) {
		struct user_regs_struct r;
		int st, sig;
		pid_t w = waitpid(c->tid, &st, __WALL | WNOHANG);

		if (w < 0 && errno != EINTR)
			return -errno;
		if (w <= 0) {
			/* A call into the interpreter that has started may hold or
			 * wait for locks (the GIL's mutex and condition variable,
			 * a parking-lot entry on 3.13+): taking the thread back in
			 * the middle could deadlock the whole process, so a
			 * patient call is waited for however long it takes. */
			if (!c->patient && rec_clock__now() > deadline) {
				/* Take the thread back where it is. */
				ptrace(PTRACE_INTERRUPT, c->tid, 0, 0);
				while (waitpid(c->tid, &st, __WALL) < 0 &&
				       errno == EINTR)
					;
				return -ETIMEDOUT;
			}
			nanosleep(&nap, NULL);
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return -ESRCH;
		if (!WIFSTOPPED(st))
			continue;
		sig = WSTOPSIG(st);
		if ((st >> 16) == PTRACE_EVENT_STOP) {
			/* A group stop (SIGSTOP meanwhile): finish first; it
			 * takes effect after we let go. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
			    sig == SIGTTOU)
				defer(c, sig);
		} else if (sig == want) {
			if (want == SIGTRAP)
				return 0;
			if (!ptrace(PTRACE_GETREGS, c->tid, 0, &r) && r.rip == 0)
				return 0;
			return -EFAULT;  /* a real fault inside the call */
		} else if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
			   sig == SIGFPE) {
			return -EFAULT;
		} else {
			defer(c, sig);
		}
		if (ptrace(resume_req, c->tid, 0, 0))
			return -errno;
	}
}

/* Run the stopped thread with registers @r (by @req, until signal @want);
 * @r gets the registers it stopped with. */
static int run_regs(struct call *c, struct user_regs_struct *r, int req,
		    int want)
{
	int ret;

	if (ptrace(PTRACE_SETREGS, c->tid, 0, r))
		return -errno;
	ret = run_until(c, req, want);
	if (ret)
		return ret;
	return ptrace(PTRACE_GETREGS, c->tid, 0, r) ? -errno : 0;
}

/* Make a function call in the stopped thread: fn(a, b).  *out = rax. */
static int remote_call(struct call *c, uint64_t fn, uint64_t a, uint64_t b,
		       uint64_t *out)
{
	struct user_regs_struct r = c->saved;
	uint64_t zero = 0;
	int ret;

	r.rsp = ((c->saved.rsp - RED_ZONE - 1024) & ~15ULL) - 8;
	if (write_mem(c->pid, r.rsp, &zero, sizeof(zero)))
		return fail(c, -EIO, "cannot write the target thread's stack");
	r.rip = fn;
	r.rdi = a;
	r.rsi = b;
	r.rax = 0;
	r.orig_rax = (unsigned long long)-1;  /* no syscall restart */
	r.eflags &= ~(unsigned long long)EFLAGS_DF;
	ret = run_regs(c, &r, PTRACE_CONT, SIGSEGV);
	if (!ret)
		*out = r.rax;
	return ret;
}

/* One anonymous read-write page in the target, by a remote mmap. */
static int remote_page(struct call *c, uint64_t *page)
{
	struct user_regs_struct r = c->saved;
	uint64_t gadget;
	int ret = find_syscall(c, &gadget);

	if (ret)
		return fail(c, ret, "no syscall instruction found in the target's vdso or libc");
	r.rip = gadget;
	r.rax = 9;                 /* mmap */
	r.orig_rax = (unsigned long long)-1;
	r.rdi = 0;
	r.rsi = PAGE;
	r.rdx = 3;                 /* PROT_READ | PROT_WRITE */
	r.r10 = 0x22;              /* MAP_PRIVATE | MAP_ANONYMOUS */
	r.r8 = (unsigned long long)-1;
	r.r9 = 0;
	ret = run_regs(c, &r, PTRACE_SINGLESTEP, SIGTRAP);
	if (ret)
		return ret;
	if ((long long)r.rax < 0 && (long long)r.rax > -4096) {
		snprintf(c->err, c->errlen, "mmap in the target failed: %s",
			 strerror((int)-(long long)r.rax));
		return (int)(long long)r.rax;
	}
	*page = r.rax;
	return 0;
}

static int save(struct call *c)
{
	struct iovec iov = { c->xstate, sizeof(c->xstate) };

	if (ptrace(PTRACE_GETREGS, c->tid, 0, &c->saved))
		return -errno;
	if (ptrace(PTRACE_GETREGSET, c->tid, (void *)NT_X86_XSTATE, &iov))
		return -errno;
	c->xstate_len = iov.iov_len;
	return 0;
}

/* Put every register back; let the thread go with a deferred signal. */
static int restore(struct call *c)
{
	struct user_regs_struct r = c->saved;
	struct iovec iov = { c->xstate, c->xstate_len };
	int first = 0, ret = 0;

	/* A restart block may have been reused by a deferred signal's
	 * handler: restart the call itself instead. */
	if (c->ndeferred && (long long)r.rax == -ERESTART_RESTARTBLOCK)
		r.rax = (unsigned long long)-ERESTARTNOINTR;
	step("restore");
	if (ptrace(PTRACE_SETREGS, c->tid, 0, &r))
		ret = -errno;
	if (ptrace(PTRACE_SETREGSET, c->tid, (void *)NT_X86_XSTATE, &iov) && !ret)
		ret = -errno;
	for (size_t i = 0; i < c->ndeferred; i++)
		if (c->deferred[i] != SIGSTOP && !first)
			first = c->deferred[i];
	if (ptrace(PTRACE_DETACH, c->tid, 0, (void *)(long)first) && !ret)
		ret = -errno;
	for (size_t i = 0; i < c->ndeferred; i++)
		if (c->deferred[i] != first || c->deferred[i] == SIGSTOP)
			syscall(SYS_tgkill, c->pid, c->tid, c->deferred[i]);
	return ret;
}

static int do_calls(struct call *c, const struct inject_syms *s,
		    enum inject_way way, const char *code, int *rc)
{
	uint64_t page = 0, out = 0, gil = 0;
	size_t len = strlen(code) + 1;
	int ret;

	if (len > CODE_MAX)
		return fail(c, -E2BIG, "the code is too long");
	ret = remote_page(c, &page);
	if (ret)
		return ret;
	if (write_mem(c->pid, page, code, len))
		return fail(c, -EIO, "cannot write into the target");
	if (way == INJECT_PENDING_CALL) {
		ret = remote_call(c, s->add_pending_call, s->run_simple_string,
				  page, &out);
		*rc = (int)out;
		return ret;
	}
	ret = remote_call(c, s->gil_ensure, 0, 0, &gil);
	if (ret)
		return ret;
	ret = remote_call(c, s->run_simple_string, page, 0, &out);
	*rc = (int)out;
	/* The GIL goes back whatever the code did. */
	if (remote_call(c, s->gil_release, gil, 0, &gil) && !ret)
		ret = -EIO;
	return ret;
}

int inject__run(struct py_proc *pp, const struct inject_syms *s, int tid,
		enum inject_way way, const char *code, int *rc, char *err,
		size_t errlen)
{
	struct call *c = calloc(1, sizeof(*c));
	sigset_t block, old;
	int ret, ret2;

	if (!c)
		return -ENOMEM;
	c->pid = pp->pid;
	c->tid = tid;
	c->err = err;
	c->errlen = errlen;
	c->patient = way == INJECT_GILSTATE;
	err[0] = '\0';
	*rc = -1;
	/* Once the thread is ours, nothing may end peeka before it is
	 * restored: a dying tracer would leave it returning to address 0. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	sigprocmask(SIG_BLOCK, &block, &old);
	ret = proc_stop__stop(tid);
	if (ret == -EAGAIN)
		snprintf(err, errlen, "thread %d did not stop within 20 ms (busy in the kernel?); try again",
			 tid);
	else if (ret == -EPERM && seccomp_filtered())
		snprintf(err, errlen, "ptrace is forbidden here: peeka runs under a seccomp filter (a container's default profile?) that refuses it; allow ptrace (e.g. docker --cap-add=SYS_PTRACE, or a seccomp profile with ptrace)");
	else if (ret == -EPERM)
		snprintf(err, errlen, "ptrace refused for thread %d (permission denied): peeka needs the target's uid and Yama ptrace_scope 0, or CAP_SYS_PTRACE",
			 tid);
	else if (ret)
		snprintf(err, errlen, "cannot stop thread %d: %s", tid,
			 peeka_strerror(ret));
	if (ret)
		goto out;
	step("stopped");
	ret = save(c);
	if (ret) {
		snprintf(err, errlen, "cannot save thread %d's registers: %s", tid,
			 peeka_strerror(ret));
		proc_stop__resume(tid);
		goto out;
	}
	step("saved");
	ret = do_calls(c, s, way, code, rc);
	if (ret && !err[0])
		snprintf(err, errlen, "%s",
			 ret == -EFAULT ? "the call crashed in the target (thread restored)"
			 : ret == -ETIMEDOUT ? "the call did not return in time (thread restored)"
			 : ret == -ESRCH ? "the thread exited during the call"
			 : peeka_strerror(ret));
	ret2 = ret == -ESRCH ? 0 : restore(c);
	if (!ret && ret2) {
		ret = ret2;
		snprintf(err, errlen, "cannot restore thread %d: %s", tid,
			 peeka_strerror(ret2));
	}
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(c);
	return ret;
}
