/* SPDX-License-Identifier: Apache-2.0 */
/* peeka reset: remove the agent's hooks, putting back the originals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../diag.h"
#include "../json_out.h"
#include "../opts.h"
#include "agent_cmd.h"
#include "commands.h"

#define RESET_TIMEOUT_MS 10000

static const struct opt_usage reset_usage = {
	"reset",
	"[PATTERN] [--pid PID]",
	"Remove the hooks the agent installed in the target: all of them, or\n"
	"those of the function PATTERN (module.func, module.Class.method).\n"
	"Each hooked function gets back the exact object it had before (the\n"
	"same object, not one found through __wrapped__); watches on it end.\n"
	"The agent itself stays; 'peeka detach' removes it too.\n"
	"\n"
	"Prints one JSON line: {\"type\":\"success\",\"command\":\"reset\",\n"
	"\"data\":{\"restored\":[{\"func\",\"method\",\"watches\"}],\"errors\":[…]}}.\n"
	"An error entry says which function could not be restored and why\n"
	"(for example, the program replaced it meanwhile).",
	"examples:\n"
	"  peeka reset\n"
	"  peeka reset app.shop.Cart.total --pid 1234\n"
	"\n"
	"exit status: 0 when everything asked was restored, 1 otherwise, 2 on\n"
	"a usage error.",
};

int cmd_reset(int argc, char **argv)
{
	const char *operands[1];
	int given = 0, pid = 0, n = 0, status;
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process (default: the current target)", &given },
		{ 0 },
	};
	enum opts_result r = opts_parse_operands(&reset_usage, specs, argc, argv,
						 operands, 1, &n);
	struct agent_session s;
	struct json_val *reply = NULL;
	const struct json_val *data, *errs;
	char *args = NULL;

	if (r != OPTS_OK)
		return r == OPTS_HELP ? CMD_OK : CMD_USAGE;
	if (n && strlen(operands[0]) > 512)
		return opts_usage_error(&reset_usage, "PATTERN too long"), CMD_USAGE;
	if (n) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct json_out j;

		if (!f)
			return error("out of memory"), CMD_FAILED;
		json_out__init(&j, f);
		json_out__begin_object(&j);
		json_out__key(&j, "pattern");
		json_out__string(&j, operands[0]);
		json_out__end_object(&j);
		if (fclose(f) || !buf)
			return free(buf), error("out of memory"), CMD_FAILED;
		args = buf;
	}
	status = agent_cmd__request(given, "reset", args, RESET_TIMEOUT_MS, &s,
				    &pid, &reply);
	free(args);
	if (status)
		return status;
	data = json_in__get(reply, "data");
	agent_cmd__success("reset", data);
	errs = json_in__get(data, "errors");
	status = errs && errs->type == JSON_ARR && errs->n ? CMD_FAILED : CMD_OK;
	json_in__free(reply);
	return status;
}
