/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka detach: take the agent out of the target: every hook restored,
 * the agent's thread stopped, its socket and directory deleted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../diag.h"
#include "../opts.h"
#include "agent_cmd.h"
#include "commands.h"

#define DETACH_TIMEOUT_MS 10000
#define GONE_WAIT_US 5000000

static const struct opt_usage detach_usage = {
	"detach",
	"[--pid PID]",
	"Take peeka's agent out of the target: every hook is removed and the\n"
	"hooked functions get back their exact original objects, running\n"
	"watches end, the agent's thread stops, and its socket, its files and\n"
	"its private directory are deleted.  The process runs on as before.\n"
	"\n"
	"Prints one JSON line: {\"type\":\"success\",\"command\":\"detach\",\n"
	"\"data\":{\"restored\":[…],\"errors\":[…],\"removed\":[…]}}, after the\n"
	"agent's directory is gone.",
	"examples:\n"
	"  peeka detach\n"
	"  peeka detach --pid 1234\n"
	"\n"
	"exit status: 0 when the agent is gone and everything was restored, 1\n"
	"otherwise, 2 on a usage error.",
};

int cmd_detach(int argc, char **argv)
{
	int given = 0, pid = 0, first, status;
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process (default: the current target)", &given },
		{ 0 },
	};
	enum opts_result r = opts_parse(&detach_usage, specs, argc, argv, &first);
	struct agent_session s;
	struct json_val *reply = NULL;
	const struct json_val *data, *errs;
	int waited = 0;

	if (r != OPTS_OK)
		return r == OPTS_HELP ? CMD_OK : CMD_USAGE;
	if (first < argc)
		return opts_usage_error(&detach_usage, "unexpected argument '%s'",
					argv[first]), CMD_USAGE;
	status = agent_cmd__request(given, "detach", NULL, DETACH_TIMEOUT_MS, &s,
				    &pid, &reply);
	if (status)
		return status;
	/* The agent answers first, then shuts down: wait for its directory
	 * to go, so that afterwards nothing of peeka is left. */
	while (!access(s.dir.host, F_OK) && waited < GONE_WAIT_US) {
		usleep(20000);
		waited += 20000;
	}
	data = json_in__get(reply, "data");
	agent_cmd__success("detach", data);
	errs = json_in__get(data, "errors");
	status = errs && errs->type == JSON_ARR && errs->n ? CMD_FAILED : CMD_OK;
	if (!access(s.dir.host, F_OK)) {
		error("the agent's directory %s is still there after %d s",
		      s.dir.target, GONE_WAIT_US / 1000000);
		status = CMD_FAILED;
	}
	agent_cmd__forget(pid);
	json_in__free(reply);
	return status;
}
