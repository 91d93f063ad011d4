#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check `peeka info --json` against the fixture's truth.

Usage: check_info.py TRUTH.json INFO.json KIND
KIND is "static" or "shared" as fixtures/pythons.sh reports it.
"""
import json
import sys


def main(argv):
    truth = json.load(open(argv[1], encoding="utf-8"))
    info = json.load(open(argv[2], encoding="utf-8"))
    kind = argv[3]
    minor = int(truth["version"].split(".")[1])
    busy = {t["native_id"] for t in truth["threads"] if t["busy"]}
    nthreads = len(truth["threads"]) + len(truth["excluded_idents"])
    problems = []

    def expect(what, got, want):
        if got != want:
            problems.append("%s: got %r, want %r" % (what, got, want))

    expect("pid", info["pid"], truth["pid"])
    expect("version", info["version"], truth["version"])
    expect("build", info["build"], kind)
    expect("threads", info["threads"], nthreads)
    expect("interpreters", info["interpreters"], 1)
    expect("debug_offsets", info["debug_offsets"], minor >= 13)
    expect("offset_mismatches", info["offset_mismatches"], 0)
    expect("free_threaded", info["free_threaded"], False)
    if info["gil_holder"] is not None and info["gil_holder"] not in busy:
        problems.append("gil_holder %r is not the busy thread %r"
                        % (info["gil_holder"], busy))
    expect("remote_debug", info["remote_debug"], True if minor >= 14 else None)
    want_source = ("_Py_DebugOffsets" if minor >= 13 else
                   "Py_Version" if minor >= 11 else "sys.version")
    expect("version_source", info["version_source"], want_source)
    if (kind == "shared") != (info["libpython"] is not None):
        problems.append("libpython %r for a %s build" % (info["libpython"], kind))
    for p in problems:
        print("mismatch: " + p)
    if not problems:
        print("ok: info agrees with the target")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
