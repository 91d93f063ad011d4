/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The single Check runner: every suite, fork mode, CK_* environment
 * selection.  After the integration tests it prints which interpreters
 * were exercised and, with CI=true, fails unless every minor version
 * 3.8-3.14 and both static and shared builds were.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "tests.h"

#define MIN_MINOR 8
#define MAX_MINOR 14

static int coverage_report(void)
{
	bool minors[MAX_MINOR + 1] = { false }, stat = false, shared = false;
	bool ci = getenv("CI") && !strcmp(getenv("CI"), "true");
	char line[512];
	int missing = 0;
	FILE *f = fopen(tu_exercised_path(), "r");

	printf("interpreters exercised by the integration tests:\n");
	while (f && fgets(line, sizeof(line), f)) {
		char label[64], minor[16], kind[16], full[32];
		unsigned maj, min;

		if (sscanf(line, "%63s %15s %15s %31s", label, minor, kind,
			   full) != 4 || sscanf(minor, "%u.%u", &maj, &min) != 2)
			continue;
		printf("  %-12s %-6s %s\n", label, kind, full);
		if (maj == 3 && min <= MAX_MINOR)
			minors[min] = true;
		stat |= !strcmp(kind, "static");
		shared |= !strcmp(kind, "shared");
	}
	if (f)
		fclose(f);
	for (unsigned m = MIN_MINOR; m <= MAX_MINOR; m++)
		if (!minors[m]) {
			printf("%s: CPython 3.%u was not exercised\n",
			       ci ? "FAIL" : "SKIP", m);
			missing++;
		}
	if (!stat || !shared) {
		printf("%s: no %s build was exercised\n", ci ? "FAIL" : "SKIP",
		       !stat ? "static" : "shared");
		missing++;
	}
	return ci && missing ? 1 : 0;
}

int main(void)
{
	SRunner *sr = srunner_create(proc_maps_suite());
	bool integration;
	int failed;

	srunner_add_suite(sr, proc_task_suite());
	srunner_add_suite(sr, proc_replay_suite());
	srunner_add_suite(sr, elf_sym_suite());
	srunner_add_suite(sr, layout_suite());
	srunner_add_suite(sr, debug_offsets_suite());
	srunner_add_suite(sr, py_linetable_suite());
	srunner_add_suite(sr, py_str_suite());
	srunner_add_suite(sr, py_runtime_suite());
	srunner_add_suite(sr, opts_suite());
	srunner_add_suite(sr, json_out_suite());
	srunner_add_suite(sr, commands_suite());
	srunner_add_suite(sr, integration_suite());
	srunner_add_suite(sr, bad_input_suite());
	srunner_add_suite(sr, out_svg_suite());
	srunner_add_suite(sr, profile_suite());
	srunner_add_suite(sr, rec_file_suite());
	srunner_add_suite(sr, gzip_suite());
	srunner_add_suite(sr, rec_clock_suite());
	srunner_add_suite(sr, record_suite());
	srunner_add_suite(sr, report_suite());
	srunner_add_suite(sr, diff_suite());
	srunner_add_suite(sr, live_suite());
	srunner_add_suite(sr, inject_suite());
	srunner_add_suite(sr, agent_suite());
	integration = !getenv("PEEKA_SANITIZED");
	if (integration)
		unlink(tu_exercised_path());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (integration && coverage_report())
		failed++;
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
