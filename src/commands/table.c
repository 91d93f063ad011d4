/* SPDX-License-Identifier: Apache-2.0 */
/* The command table: one row per subcommand, looked up by name. */
#include "commands.h"

#include <string.h>

const struct command commands[] = {
	{ "dump", cmd_dump, CMD_NEEDS_PID | CMD_ZERO_INJECTION,
	  "print the Python stack of every thread" },
	{ "record", cmd_record, CMD_NEEDS_PID | CMD_ZERO_INJECTION,
	  "sample stacks into a flame graph or collapsed stacks" },
	{ "top", cmd_top, CMD_NEEDS_PID | CMD_ZERO_INJECTION,
	  "live view of the functions using the most time" },
	{ "threads", cmd_threads, CMD_NEEDS_PID | CMD_ZERO_INJECTION,
	  "every thread: state, CPU, GIL, system call, current function" },
	{ "gil", cmd_gil, CMD_NEEDS_PID | CMD_ZERO_INJECTION,
	  "GIL held %, switch rate, who holds and who waits" },
	{ "attach", cmd_attach, CMD_NEEDS_PID,
	  "load the agent into a process (for watch, reset, detach)" },
	{ "watch", cmd_watch, 0,
	  "show a function's calls: arguments, result, exception, time" },
	{ "reset", cmd_reset, 0,
	  "remove the agent's hooks, restoring the original functions" },
	{ "detach", cmd_detach, 0,
	  "remove the agent and everything it changed" },
	{ "report", cmd_report, 0,
	  "render a .peeka recording (any filter, any format)" },
	{ "diff", cmd_diff, 0,
	  "compare two profiles: differential flame graph and top changes" },
	{ "info", cmd_info, CMD_NEEDS_PID | CMD_ZERO_INJECTION,
	  "describe the interpreter in a process" },
};

const size_t commands_count = sizeof(commands) / sizeof(commands[0]);

const struct command *commands_find(const char *name)
{
	for (size_t i = 0; i < commands_count; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}
