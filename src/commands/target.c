/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opening a target for the commands: turns core error codes into one
 * "error:" line plus hints (permissions, ptrace_scope, version override).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../diag.h"
#include "../errors.h"
#include "../log.h"
#include "../proc_task.h"
#include "commands.h"

static void permission_hints(int pid)
{
	int scope = proc_task__ptrace_scope();
	uid_t owner = proc_task__uid(pid);

	if (owner != (uid_t)-1 && owner != getuid() && geteuid() != 0)
		hint("pid %d belongs to uid %u and you are uid %u: run peeka as that user, as root, or with CAP_SYS_PTRACE (containers: --cap-add=SYS_PTRACE)",
		     pid, (unsigned)owner, (unsigned)getuid());
	else
		hint("reading another process needs the same uid and a non-setuid target, or CAP_SYS_PTRACE (containers: --cap-add=SYS_PTRACE)");
	if (scope == 1)
		hint("kernel.yama.ptrace_scope is 1: only ancestors may read a process; use sudo, CAP_SYS_PTRACE, or 'sysctl kernel.yama.ptrace_scope=0'");
	else if (scope == 2)
		hint("kernel.yama.ptrace_scope is 2: only CAP_SYS_PTRACE may read a process");
	else if (scope == 3)
		hint("kernel.yama.ptrace_scope is 3: reading other processes is disabled until reboot");
}

int cmd_report_error(int pid, int err, const char *detail)
{
	char list[128], fallback[256];
	bool own = detail && *detail;

	if (!own) {
		snprintf(fallback, sizeof(fallback), "cannot read pid %d: %s",
			 pid, peeka_strerror(err));
		detail = fallback;
	}
	switch (err) {
	case -ESRCH:
	case -ENOENT:
		if (own)
			error("%s", detail);
		else
			error("no process with pid %d", pid);
		return CMD_FAILED;
	case -EPERM:
	case -EACCES:
		error("cannot read process %d: permission denied", pid);
		permission_hints(pid);
		return CMD_FAILED;
	case PE_NOT_PYTHON:
		error("pid %d is not a CPython process: %s", pid, detail);
		hint("peeka reads CPython 3.8 to 3.14; the interpreter must be mapped as an ELF file that defines _PyRuntime");
		return CMD_FAILED;
	case PE_UNSUPPORTED:
	case PE_VERSION_UNKNOWN:
		error("%s", detail);
		layout_supported_list(list, sizeof(list));
		hint("if you know which CPython it is, force its layout with --python-version X.Y (one of %s)",
		     list);
		return CMD_FAILED;
	case PE_NOT_INITIALIZED:
		error("%s", detail);
		hint("try again once the program has started");
		return CMD_FAILED;
	default:
		if (detail && *detail)
			error("%s", detail);
		else
			error("cannot read pid %d: %s", pid, peeka_strerror(err));
		return CMD_FAILED;
	}
}

int cmd_report_read_error(int pid, int err)
{
	char msg[96];

	/* The target was opened, so a missing process has exited since. */
	snprintf(msg, sizeof(msg), "process %d exited while being read", pid);
	return cmd_report_error(pid, err, err == -ESRCH ? msg : NULL);
}

int cmd_open_target(struct py_proc *pp, int pid, const unsigned version[2])
{
	struct py_proc_opts o = { { version[0], version[1] } };
	char err[512] = "";
	int ret = py_proc__open(pp, pid, &o, err, sizeof(err));

	if (ret) {
		py_proc__close(pp);
		ret = cmd_report_error(pid, ret, err);
		if (version[0])
			hint("the layout of --python-version %u.%u may not be this process's",
			     version[0], version[1]);
		return ret;
	}
	if (pp->debug_offsets_rejected)
		warning("the target's _Py_DebugOffsets are inconsistent; using peeka's own %u.%u table",
			pp->layout.major, pp->layout.minor);
	log_info("pid %d: _PyRuntime at %#llx in '%s' (opened as '%s', bias %#llx)",
		 pid, (unsigned long long)pp->rt.runtime_addr, pp->rt.map_path,
		 pp->rt.open_path, (unsigned long long)pp->rt.bias);
	log_info("pid %d: CPython %u.%u.%u from %s, layout %u.%u (%s)", pid,
		 pp->rt.version.major, pp->rt.version.minor, pp->rt.version.micro,
		 pp->rt.version.source ? pp->rt.version.source : "?",
		 pp->layout.major, pp->layout.minor, pp->layout.source);
	for (size_t i = 0; i < pp->nmismatch; i++) {
		const struct py_layout_mismatch *m = &pp->mismatch[i];

		if (layout_field_kind(m->field) == LK_SIZE) {
			log_info("size %s: target %lld, table %lld (patch-level growth)",
				 m->cpython_name, (long long)m->theirs,
				 (long long)m->ours);
			continue;
		}
		if (m->ours == LAYOUT_NONE)
			warning("layout mismatch: _Py_DebugOffsets has %s = %lld, our table has none; using the target's",
				m->cpython_name, (long long)m->theirs);
		else
			warning("layout mismatch: _Py_DebugOffsets has %s = %lld, our table says %lld; using the target's",
				m->cpython_name, (long long)m->theirs,
				(long long)m->ours);
	}
	return CMD_OK;
}

void cmd_json_begin(struct json_out *j, struct py_proc *pp)
{
	char vs[32];

	py_proc__version_text(pp, vs, sizeof(vs));
	json_out__init(j, stdout);
	json_out__begin_object(j);
	json_out__key(j, "pid");
	json_out__int(j, pp->pid);
	json_out__key(j, "python_version");
	json_out__string(j, vs);
}
