/* SPDX-License-Identifier: Apache-2.0 */
/* PEP 768 requests written with process_vm_writev. */
#include "inject_pep768.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cpython_layouts/debug_offsets.h"
#include "errors.h"

#define PLEASE_STOP_BIT (1ULL << 5)   /* _PY_EVAL_PLEASE_STOP_BIT */

struct pep768 {
	uint64_t support;       /* tstate: _PyRemoteDebuggerSupport */
	uint64_t pending;       /* … its debugger_pending_call (int32) */
	uint64_t script;        /* … its debugger_script_path (char[]) */
	uint64_t script_size;
	uint64_t eval_breaker;  /* tstate: uintptr_t */
	uint64_t enabled;       /* interp: config.remote_debug (int) */
};

static int offsets(struct py_proc *pp, struct pep768 *o)
{
	unsigned char buf[1024];
	struct debug_offsets d;
	size_t size;

	if (pp->layout.minor < 14 || !pp->rt.has_section)
		return PE_UNSUPPORTED;
	size = debug_offsets__size(pp->layout.minor);
	if (!size || size > sizeof(buf) ||
	    py_proc__read(pp, pp->rt.runtime_addr, buf, size) ||
	    debug_offsets__parse(&d, buf, size))
		return PE_CORRUPT;
	if (debug_offsets__get(&d, "debugger_support.remote_debugger_support", &o->support) ||
	    debug_offsets__get(&d, "debugger_support.debugger_pending_call", &o->pending) ||
	    debug_offsets__get(&d, "debugger_support.debugger_script_path", &o->script) ||
	    debug_offsets__get(&d, "debugger_support.debugger_script_path_size", &o->script_size) ||
	    debug_offsets__get(&d, "debugger_support.eval_breaker", &o->eval_breaker) ||
	    debug_offsets__get(&d, "debugger_support.remote_debugging_enabled", &o->enabled))
		return PE_UNSUPPORTED;
	if (o->script_size < 2 || o->script_size > 4096 || o->support > 65536 ||
	    o->eval_breaker > 65536 || o->enabled > 1 << 20)
		return PE_CORRUPT;
	return 0;
}

/* Whether @needle is one of the NUL-separated strings of /proc/PID/@file,
 * or (@prefix) begins one. */
static bool proc_strings_have(int pid, const char *file, const char *needle,
			      bool prefix)
{
	char path[64], buf[65536];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *p = buf; p < buf + n; p += strlen(p) + 1)
		if (prefix ? !strncmp(p, needle, strlen(needle)) : !strcmp(p, needle))
			return true;
	return false;
}

int inject_pep768__enabled(struct py_proc *pp, char *why, size_t len)
{
	struct pep768 o;
	uint64_t interp;
	int32_t on = 0;
	int ret = offsets(pp, &o);

	if (ret)
		return ret;
	ret = py_proc__main_interp(pp, &interp);
	if (ret)
		return ret;
	if (py_proc__read(pp, interp + o.enabled, &on, sizeof(on)))
		return PE_TORN;
	if (on == 1)
		return 1;
	if (proc_strings_have(pp->pid, "environ", "PYTHON_DISABLE_REMOTE_DEBUG=", true))
		snprintf(why, len, "remote debugging is disabled in the target by its environment (PYTHON_DISABLE_REMOTE_DEBUG): start it without that variable, or use --force-ptrace");
	else if (proc_strings_have(pp->pid, "cmdline", "disable-remote-debug", false) ||
		 proc_strings_have(pp->pid, "cmdline", "-Xdisable-remote-debug", false))
		snprintf(why, len, "remote debugging is disabled in the target by '-X disable-remote-debug': start it without that option, or use --force-ptrace");
	else
		snprintf(why, len, "remote debugging is disabled in the target (its configuration says so; a build configured --without-remote-debug, or an embedder's setting): use --force-ptrace");
	return 0;
}

static int write_remote(int pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	return process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)len
		       ? 0 : -errno;
}

int inject_pep768__request(struct py_proc *pp, uint64_t tstate,
			   const char *path, char *err, size_t errlen)
{
	struct pep768 o;
	uint64_t breaker = 0;
	int32_t one = 1;
	size_t len = strlen(path) + 1;
	int ret = offsets(pp, &o);

	if (ret) {
		snprintf(err, errlen, "the target's _Py_DebugOffsets have no remote-debugging fields (%s)",
			 peeka_strerror(ret));
		return ret;
	}
	if (len > o.script_size) {
		snprintf(err, errlen, "the script path is longer than the %llu bytes the interpreter accepts",
			 (unsigned long long)o.script_size - 1);
		return -ENAMETOOLONG;
	}
	ret = write_remote(pp->pid, tstate + o.support + o.script, path, len);
	if (!ret)
		ret = write_remote(pp->pid, tstate + o.support + o.pending, &one,
				   sizeof(one));
	/* The bit, read-modify-write as CPython's own sender does; read
	 * again to see it stuck (another thread may write the word). */
	for (int i = 0; !ret && i < 3; i++) {
		ret = py_proc__read(pp, tstate + o.eval_breaker, &breaker,
				    sizeof(breaker));
		if (ret || (breaker & PLEASE_STOP_BIT))
			break;
		breaker |= PLEASE_STOP_BIT;
		ret = write_remote(pp->pid, tstate + o.eval_breaker, &breaker,
				   sizeof(breaker));
	}
	if (ret)
		snprintf(err, errlen, "cannot write the request into the target: %s",
			 peeka_strerror(ret));
	return ret;
}

int inject_pep768__cancel(struct py_proc *pp, uint64_t tstate)
{
	struct pep768 o;
	int32_t flag = 0, zero = 0;
	int ret = offsets(pp, &o);
	uint64_t at = tstate + o.support + o.pending;

	if (ret)
		return ret;
	/* Only a request still pending is withdrawn. */
	ret = py_proc__read(pp, at, &flag, sizeof(flag));
	if (ret || flag != 1)
		return ret;
	return write_remote(pp->pid, at, &zero, sizeof(zero));
}
