/* SPDX-License-Identifier: Apache-2.0 */
/* Every Check suite of peeka, one per module; the runner adds them all. */
#ifndef PEEKA_TESTS_H
#define PEEKA_TESTS_H

#include <check.h>

Suite *proc_maps_suite(void);
Suite *proc_task_suite(void);
Suite *proc_replay_suite(void);
Suite *elf_sym_suite(void);
Suite *layout_suite(void);
Suite *debug_offsets_suite(void);
Suite *py_linetable_suite(void);
Suite *py_str_suite(void);
Suite *py_runtime_suite(void);
Suite *opts_suite(void);
Suite *json_out_suite(void);
Suite *commands_suite(void);
Suite *integration_suite(void);
Suite *bad_input_suite(void);
Suite *out_svg_suite(void);
Suite *record_suite(void);
Suite *report_suite(void);
Suite *diff_suite(void);
Suite *profile_suite(void);
Suite *rec_file_suite(void);
Suite *gzip_suite(void);
Suite *rec_clock_suite(void);
Suite *live_suite(void);
Suite *inject_suite(void);
Suite *agent_suite(void);

#endif
