/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka attach: put the agent into a CPython process (or find the one
 * already there) and make that process the current target of the agent
 * commands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../agent_attach.h"
#include "../diag.h"
#include "../errors.h"
#include "../json_out.h"
#include "../opts.h"
#include "agent_cmd.h"
#include "commands.h"
#include "record_opts.h"

#define DEFAULT_TIMEOUT 5.0

struct attach_opts {
	int pid;
	double timeout;
	bool force_ptrace;
	unsigned version[2];
};

static const struct opt_usage attach_usage = {
	"attach",
	"PID [--timeout SECONDS] [--force-ptrace]",
	"Load peeka's agent into a running CPython process, for the commands\n"
	"that need code inside it (watch, reset, detach), and remember PID as\n"
	"the current target, so that those commands need no --pid.  If an\n"
	"agent already runs in the process, it is reused.\n"
	"\n"
	"How the agent gets in:\n"
	"  pep768               CPython 3.14+: the interpreter's own remote\n"
	"                       execution (PEP 768); peeka only writes a request\n"
	"                       into a thread state, no ptrace.  It runs when\n"
	"                       that thread next runs bytecode: the main thread,\n"
	"                       or the GIL holder when the main thread is\n"
	"                       blocked in a system call.\n"
	"  ptrace-pending-call  3.8-3.13: the main thread is stopped for a few\n"
	"                       milliseconds to queue Py_AddPendingCall; it runs\n"
	"                       the bootstrap at its next bytecode boundary.\n"
	"  ptrace-gilstate      3.8-3.13, when the main thread is blocked in C:\n"
	"                       a thread blocked with the GIL released runs the\n"
	"                       bootstrap at once (PyGILState_Ensure).\n"
	"Only the thread used is stopped, all its registers are restored, and\n"
	"nothing is written into code.  The bootstrap starts one daemon thread\n"
	"that serves a Unix socket only the process's user (and root) can use,\n"
	"in a private directory under the process's /tmp.  'peeka detach'\n"
	"takes it all out again.\n"
	"\n"
	"Prints one JSON line: {\"type\":\"success\",\"command\":\"attach\",\n"
	"\"data\":{\"pid\",\"python\",\"method\",\"agent\",\"agent_version\",\"reused\"}}.",
	"options:\n"
	"  3.14 refuses PEP 768 when the target disabled remote debugging\n"
	"  (PYTHON_DISABLE_REMOTE_DEBUG, -X disable-remote-debug, or the\n"
	"  build); --force-ptrace then uses the ptrace way instead.\n"
	"\n"
	"examples:\n"
	"  peeka attach 1234\n"
	"  peeka watch app.orders.Order.total -n 5\n"
	"  peeka detach\n"
	"\n"
	"exit status: 0 when the agent answers, 1 when it cannot be loaded, 2\n"
	"on a usage error.",
};

static int parse(int argc, char **argv, struct attach_opts *o)
{
	const char *timeout = NULL, *operands[1];
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process (or give PID as the operand)", &o->pid },
		{ "timeout", 't', OPT_STRING, "SECONDS", "how long to wait for the agent (default 5)", &timeout },
		{ "force-ptrace", 0, OPT_FLAG, NULL, "3.14+: use ptrace instead of PEP 768 (needed when the target disabled it)", &o->force_ptrace },
		{ "python-version", 0, OPT_PYVERSION, "X.Y",
		  "use the layout of this CPython version instead of detecting it", o->version },
		{ 0 },
	};
	int n = 0;
	enum opts_result r = opts_parse_operands(&attach_usage, specs, argc, argv,
						 operands, 1, &n);

	if (r != OPTS_OK)
		return r == OPTS_HELP ? CMD_OK : CMD_USAGE;
	if (n == 1) {
		int pid;

		if (opts_parse_pid(operands[0], &pid))
			return opts_usage_error(&attach_usage, "invalid PID '%s'",
						operands[0]), CMD_USAGE;
		if (o->pid && o->pid != pid)
			return opts_usage_error(&attach_usage, "two different pids (%d and %d)",
						o->pid, pid), CMD_USAGE;
		o->pid = pid;
	}
	if (!o->pid)
		return opts_usage_error(&attach_usage, "missing PID"), CMD_USAGE;
	o->timeout = DEFAULT_TIMEOUT;
	if (timeout && (record_opts__duration(timeout, &o->timeout) ||
			o->timeout < 0.5 || o->timeout > 600))
		return opts_usage_error(&attach_usage,
					"invalid --timeout '%s' (expected seconds, 0.5 to 600)",
					timeout), CMD_USAGE;
	return -1;
}

static void note(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "peeka: %s\n", msg);
}

static void print(const struct py_proc *pp, const struct agent_session *s)
{
	char version[32], sock[320];
	struct json_out j;

	py_proc__version_text(pp, version, sizeof(version));
	snprintf(sock, sizeof(sock), "%s/agent.sock", s->dir.target);
	json_out__init(&j, stdout);
	json_out__begin_object(&j);
	json_out__key(&j, "type");
	json_out__string(&j, "success");
	json_out__key(&j, "command");
	json_out__string(&j, "attach");
	json_out__key(&j, "data");
	json_out__begin_object(&j);
	json_out__key(&j, "pid");
	json_out__int(&j, pp->pid);
	json_out__key(&j, "python");
	json_out__string(&j, version);
	json_out__key(&j, "method");
	json_out__string(&j, s->method);
	json_out__key(&j, "agent");
	json_out__string(&j, sock);
	json_out__key(&j, "agent_version");
	json_out__string(&j, s->agent_version);
	json_out__key(&j, "reused");
	json_out__bool(&j, s->reused);
	json_out__end_object(&j);
	json_out__end_object(&j);
	putchar('\n');
	fflush(stdout);
}

int cmd_attach(int argc, char **argv)
{
	struct attach_opts o = { 0 };
	struct agent_attach_opts ao = { 0 };
	struct agent_session s;
	struct agent_conn c = { -1, 0 };
	struct py_proc pp;
	char err[768];
	int status = parse(argc, argv, &o), ret;

	if (status >= 0)
		return status;
	status = cmd_open_target(&pp, o.pid, o.version);
	if (status)
		return status;
	ao.timeout = o.timeout;
	ao.force_ptrace = o.force_ptrace;
	ao.note = note;
	ret = agent_attach__attach(&pp, &ao, &s, &c, err, sizeof(err));
	if (ret) {
		if (ret == -EPERM && strstr(err, "ptrace"))
			error("%s", err), hint("see 'Permissions' in the README; as root: sysctl kernel.yama.ptrace_scope=0, or run peeka with CAP_SYS_PTRACE");
		else if (ret == -EPERM || ret == -EBUSY || ret == -ETIMEDOUT ||
			 ret == -EIO)
			error("%s", err);
		else
			cmd_report_error(o.pid, ret, err);
		py_proc__close(&pp);
		return CMD_FAILED;
	}
	agent_conn__close(&c);
	print(&pp, &s);
	ret = agent_cmd__remember(o.pid);
	if (ret)
		warning("cannot record process %d as the current target: %s",
			o.pid, peeka_strerror(ret));
	py_proc__close(&pp);
	return CMD_OK;
}
