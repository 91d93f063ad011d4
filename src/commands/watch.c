/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peeka watch: every call of one function in the target, as it happens:
 * its arguments, its result or exception, how long it took, which thread
 * ran it.  The agent installs the hook, streams observations, and removes
 * the hook when -n is reached or the watch is stopped.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../diag.h"
#include "../errors.h"
#include "../json_out.h"
#include "../opts.h"
#include "../rec_clock.h"
#include "../text_out.h"
#include "agent_cmd.h"
#include "commands.h"
#include "live.h"

#define POLL_MS 250
#define STOP_GRACE_NS 5000000000ULL
#define PRETTY_WIDTH 100

struct watch_opts {
	int pid;
	const char *pattern;
	const char *condition;
	unsigned n;
	unsigned depth;
	bool before, exception, success, finish;
	bool json;
};

static const struct opt_usage watch_usage = {
	"watch",
	"PATTERN [CONDITION] [--pid PID] [-n N] [--condition EXPR] [-x DEPTH]\n"
	"       [-b] [-e] [-s] [-f] [--json]",
	"Show the calls of one Python function in the target as they happen:\n"
	"arguments, result or exception, duration and thread.  Needs the agent\n"
	"('peeka attach PID' first; without --pid the current target is used).\n"
	"\n"
	"PATTERN names the function where it is defined: module.func,\n"
	"module.Class.method, module.Outer.Inner.method (static and class\n"
	"methods too; a decorated function is watched through its decorator).\n"
	"The module must already be imported in the target (__main__ for the\n"
	"script itself); nothing is imported for you.\n"
	"\n"
	"When to report (any combination; default -f):\n"
	"  -b  AtEnter, before the call: the arguments as they come in\n"
	"  -s  AtExit, when it returns: the arguments and the result\n"
	"  -e  AtExceptionExit, when it raises: the arguments and the exception\n"
	"  -f  both -s and -e\n"
	"\n"
	"CONDITION (or --condition) filters the calls: a Python expression\n"
	"over params (list of positional values), kwargs (dict), target (self\n"
	"or cls), result, exception and cost (milliseconds), with comparisons,\n"
	"and/or/not, arithmetic (size-limited), indexing, slicing, plain\n"
	"attributes and len().  Anything else (other calls, names starting\n"
	"with '_', imports, comprehensions, lambdas) is refused before the\n"
	"hook is installed.  The expression is evaluated in the target by an\n"
	"allow-list walker, never by eval.\n"
	"\n"
	"Values are rendered by the agent without running the program's code\n"
	"(no __repr__): numbers, strings, bytes as themselves, containers and\n"
	"objects expanded DEPTH levels (-x, default 1, at most 4), then\n"
	"summarised.\n"
	"\n"
	"Output: on a terminal, a readable block per call; otherwise (or with\n"
	"--json) JSON lines: a \"start\" line, one \"observation\" per call\n"
	"({\"type\",\"watch_id\",\"timestamp\",\"func_name\",\"location\",\"data\":\n"
	"{\"params\",\"kwargs\",\"target\",\"result\",\"exception\",\"duration_ms\",\n"
	"\"thread_id\",\"thread_name\"}}), and an \"end\" line with the reason\n"
	"(limit, user, reset, detach) and how many observations were dropped\n"
	"because peeka read them too slowly.  The watch ends after N\n"
	"observations (-n, default 100) or on Ctrl-C; either way the hook is\n"
	"removed from the target.",
	"examples:\n"
	"  peeka watch __main__.handle -n 5\n"
	"  peeka watch app.shop.Cart.total 'cost > 10' -x 2\n"
	"  peeka watch app.db.query -e --condition 'len(params) > 1' --json\n"
	"\n"
	"exit status: 0 when the watch ran (even if the target exits), 1 when\n"
	"it could not start (no agent, unknown function, refused condition),\n"
	"2 on a usage error.",
};

static int parse(int argc, char **argv, struct watch_opts *o)
{
	const char *operands[2], *cond = NULL;
	const struct opt_spec specs[] = {
		{ "pid", 'p', OPT_PID, "PID", "the process (default: the current target)", &o->pid },
		{ "limit", 'n', OPT_UINT, "N", "stop after N observations (default 100)", &o->n },
		{ "condition", 'c', OPT_STRING, "EXPR", "only calls for which EXPR is true", &cond },
		{ "expand", 'x', OPT_UINT, "DEPTH", "expand values DEPTH levels (0-4, default 1)", &o->depth },
		{ "before", 'b', OPT_FLAG, NULL, "report at entry (AtEnter)", &o->before },
		{ "exception", 'e', OPT_FLAG, NULL, "report when it raises (AtExceptionExit)", &o->exception },
		{ "success", 's', OPT_FLAG, NULL, "report when it returns (AtExit)", &o->success },
		{ "finish", 'f', OPT_FLAG, NULL, "report at either exit (the default)", &o->finish },
		{ "json", 0, OPT_FLAG, NULL, "print JSON lines even on a terminal", &o->json },
		{ 0 },
	};
	int n = 0;
	enum opts_result r;

	o->n = 100;
	o->depth = 1;
	r = opts_parse_operands(&watch_usage, specs, argc, argv, operands, 2, &n);
	if (r != OPTS_OK)
		return r == OPTS_HELP ? CMD_OK : CMD_USAGE;
	if (n < 1)
		return opts_usage_error(&watch_usage, "missing PATTERN"), CMD_USAGE;
	o->pattern = operands[0];
	if (n == 2 && cond)
		return opts_usage_error(&watch_usage, "two conditions (an operand and --condition)"),
		       CMD_USAGE;
	o->condition = n == 2 ? operands[1] : cond;
	if (!*o->pattern || strchr(o->pattern, ' ') || o->pattern[0] == '.' ||
	    o->pattern[strlen(o->pattern) - 1] == '.' || strstr(o->pattern, ".."))
		return opts_usage_error(&watch_usage,
					"invalid PATTERN '%s' (expected module.func or module.Class.method)",
					o->pattern), CMD_USAGE;
	if (!o->n || o->n > 1000000)
		return opts_usage_error(&watch_usage, "invalid -n %u (1 to 1000000)", o->n),
		       CMD_USAGE;
	if (o->depth > 4)
		return opts_usage_error(&watch_usage, "invalid -x %u (0 to 4)", o->depth),
		       CMD_USAGE;
	if (!o->before && !o->exception && !o->success && !o->finish)
		o->finish = true;
	if (!isatty(STDOUT_FILENO))
		o->json = true;
	return -1;
}

static char *request(const struct watch_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json_out j;

	if (!f)
		return NULL;
	json_out__init(&j, f);
	json_out__begin_object(&j);
	json_out__key(&j, "pattern");
	json_out__string(&j, o->pattern);
	json_out__key(&j, "n");
	json_out__uint(&j, o->n);
	json_out__key(&j, "condition");
	if (o->condition)
		json_out__string(&j, o->condition);
	else
		json_out__null(&j);
	json_out__key(&j, "depth");
	json_out__uint(&j, o->depth);
	json_out__key(&j, "at");
	json_out__begin_array(&j);
	if (o->before)
		json_out__string(&j, "AtEnter");
	if (o->success || o->finish)
		json_out__string(&j, "AtExit");
	if (o->exception || o->finish)
		json_out__string(&j, "AtExceptionExit");
	json_out__end_array(&j);
	json_out__end_object(&j);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A frame as a JSON line, without the request id. */
static void print_json(const struct json_val *m)
{
	struct json_out j;

	json_out__init(&j, stdout);
	json_out__begin_object(&j);
	for (size_t i = 0; i < m->n; i++) {
		if (!strcmp(m->keys[i], "id"))
			continue;
		json_out__key(&j, m->keys[i]);
		agent_cmd__json(&j, &m->items[i]);
	}
	json_out__end_object(&j);
	putchar('\n');
	fflush(stdout);
}

static char *compact(const struct json_val *v, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct json_out j;

	if (!f)
		return NULL;
	json_out__init(&j, f);
	agent_cmd__json(&j, v);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A value on one line when it fits, else indented by structure. */
static void pretty(const struct json_val *v, int indent, int used)
{
	size_t len = 0;
	char *one = compact(v, &len);
	bool obj = v->type == JSON_OBJ;

	if (one && ((v->type != JSON_ARR && !obj) || !v->n ||
		    (int)len + used <= PRETTY_WIDTH)) {
		fputs(one, stdout);
		free(one);
		return;
	}
	free(one);
	putchar(obj ? '{' : '[');
	for (size_t i = 0; i < v->n; i++) {
		struct json_out j;
		int at = indent + 2;

		printf("\n%*s", at, "");
		if (obj) {
			json_out__init(&j, stdout);
			json_out__string(&j, v->keys[i]);
			fputs(": ", stdout);
			at += (int)strlen(v->keys[i]) + 4;
		}
		pretty(&v->items[i], indent + 2, at);
		if (i + 1 < v->n)
			putchar(',');
	}
	printf("\n%*s%c", indent, "", obj ? '}' : ']');
}

static void print_field(const struct json_val *d, const char *key)
{
	const struct json_val *v = json_in__get(d, key);

	if (!v)
		return;
	printf("  %-9s ", key);
	pretty(v, 2, 12);
	putchar('\n');
}

static void print_pretty(const struct json_val *m)
{
	const struct json_val *d = json_in__get(m, "data");
	const char *loc = json_in__str(m, "location", "?");
	double ts = json_in__num(m, "timestamp", 0);
	time_t sec = (time_t)ts;
	struct tm tm;
	char when[64] = "?";
	double ms = json_in__num(d, "duration_ms", -1);

	if (localtime_r(&sec, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s.%06d  ", when, (int)((ts - (double)sec) * 1e6));
	/* Text from the target: no escape sequences reach the terminal. */
	text_out__put(stdout, loc);
	fputs("  ", stdout);
	text_out__put(stdout, json_in__str(m, "func_name", "?"));
	fputs("  thread ", stdout);
	text_out__put(stdout, json_in__str(d, "thread_name", "?"));
	printf(" (%lld)", (long long)json_in__int(d, "thread_id", 0));
	if (ms >= 0)
		printf("  %.3f ms", ms);
	putchar('\n');
	if (json_in__get(d, "target") &&
	    json_in__get(d, "target")->type != JSON_NULL)
		print_field(d, "target");
	print_field(d, "params");
	print_field(d, "kwargs");
	if (!strcmp(loc, "AtExit"))
		print_field(d, "result");
	if (!strcmp(loc, "AtExceptionExit"))
		print_field(d, "exception");
	putchar('\n');
	fflush(stdout);
}

static void print_end(const struct watch_opts *o, const struct json_val *m)
{
	const char *reason = json_in__str(m, "reason", "?");
	long long count = json_in__int(m, "count", 0);
	long long dropped = json_in__int(m, "dropped", 0);

	if (o->json) {
		print_json(m);
		return;
	}
	if (!strcmp(reason, "error")) {
		fprintf(stderr, "peeka: the watch failed in the target after %lld observation%s: ",
			count, count == 1 ? "" : "s");
		text_out__put(stderr, json_in__str(m, "message", "?"));
		fputs("; the hook is removed\n", stderr);
	} else if (!strcmp(reason, "limit")) {
		fprintf(stderr, "peeka: %lld observation%s: the limit (-n %u) was reached; the hook is removed\n",
			count, count == 1 ? "" : "s", o->n);
	} else {
		fprintf(stderr, "peeka: watch ended (%s) after %lld observation%s; the hook is removed\n",
			reason, count, count == 1 ? "" : "s");
	}
	if (dropped)
		fprintf(stderr, "peeka: %lld observation%s dropped (peeka read them too slowly)\n",
			dropped, dropped == 1 ? " was" : "s were");
}

/* Stream until "end"; Ctrl-C asks the agent to stop.  CMD_* status. */
static int stream(const struct watch_opts *o, int pid, struct agent_conn *c,
		  int wid)
{
	uint64_t stop_at = 0;
	bool asked = false;

	for (;;) {
		struct json_val *m = NULL;
		char err[256];
		const char *type;
		int ret;

		if (live_stop && !asked) {
			char args[64];
			int id;

			snprintf(args, sizeof(args), "{\"watch_id\":%d}", wid);
			asked = true;
			stop_at = rec_clock__now() + STOP_GRACE_NS;
			if (agent_conn__send(c, "stop", args, &id))
				return CMD_OK;
		}
		if (asked && rec_clock__now() > stop_at) {
			warning("the agent did not confirm the end of the watch");
			return CMD_OK;
		}
		ret = agent_conn__recv(c, POLL_MS, &m, err, sizeof(err));
		if (ret == -ETIMEDOUT || ret == -EINTR)
			continue;
		if (ret == -EPIPE) {
			if (kill(pid, 0) && errno == ESRCH) {
				fprintf(stderr, "peeka: process %d exited\n", pid);
				return CMD_OK;
			}
			error("the agent in process %d closed the connection", pid);
			return CMD_FAILED;
		}
		if (ret) {
			error("%s", err[0] ? err : peeka_strerror(ret));
			return CMD_FAILED;
		}
		type = json_in__str(m, "type", "");
		if (!strcmp(type, "observation")) {
			if (o->json)
				print_json(m);
			else
				print_pretty(m);
		} else if (!strcmp(type, "end")) {
			print_end(o, m);
			json_in__free(m);
			return CMD_OK;
		}
		json_in__free(m);
	}
}

int cmd_watch(int argc, char **argv)
{
	struct watch_opts o = { 0 };
	struct agent_session s;
	struct agent_conn c = { -1, 0 };
	struct json_val *m = NULL;
	char err[768] = "", *args;
	int status = parse(argc, argv, &o), pid = 0, id, ret;
	const char *type;

	if (status >= 0)
		return status;
	status = agent_cmd__pid(o.pid, &pid);
	if (status)
		return status;
	status = agent_cmd__connect(pid, &s, &c);
	if (status)
		return status;
	args = request(&o);
	if (!args) {
		agent_conn__close(&c);
		return error("out of memory"), CMD_FAILED;
	}
	live_install_signals();
	ret = agent_conn__send(&c, "watch", args, &id);
	free(args);
	while (!ret) {
		ret = agent_conn__recv(&c, 10000, &m, err, sizeof(err));
		if (ret == -EINTR)
			ret = live_stop ? -EINTR : 0;
		else if (!ret && json_in__int(m, "id", -1) != id) {
			json_in__free(m);
			m = NULL;
		} else
			break;
	}
	if (ret) {
		error("no answer from the agent in process %d: %s", pid,
		      ret == -EINTR ? "interrupted" : err[0] ? err : peeka_strerror(ret));
		agent_conn__close(&c);
		return CMD_FAILED;
	}
	type = json_in__str(m, "type", "");
	if (strcmp(type, "start")) {
		const char *msg = json_in__str(m, "message", "unexpected reply");

		error("%s", msg);
		if (o.condition && strstr(msg, "condition"))
			hint("a condition may use params, kwargs, target, result, exception, cost; comparisons, and/or/not, arithmetic, [i], len(x)");
		json_in__free(m);
		agent_conn__close(&c);
		return CMD_FAILED;
	}
	if (o.json)
		print_json(m);
	else
		fprintf(stderr, "peeka: watching %s in process %d (%s); Ctrl-C to stop\n",
			json_in__str(m, "func_name", o.pattern), pid,
			json_in__str(m, "method", "?"));
	status = stream(&o, pid, &c, (int)json_in__int(m, "watch_id", 0));
	json_in__free(m);
	agent_conn__close(&c);
	return status;
}
