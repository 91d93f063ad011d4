#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compare `peeka dump --json --locals` with the locals the fixture saw.

Usage: compare_locals.py TRUTH.json DUMP.json

For every blocked thread of the truth and every optimized frame, each local
the interpreter reported (frame.f_locals) must be in peeka's output: scalars
(None, bool, int, float, short printable str/bytes) with the exact repr,
everything else as <type at 0xID[ len=N]> with the object's real id, type
name and length.  Frames must line up (compare_dump.py checks that).
Exit 0 when all match, 1 otherwise, 2 on unreadable input.
"""
import json
import re
import sys

OBJ = re.compile(r"^<([^ ]+) at 0x([0-9a-f]+)(?: len=(\d+))?>$")


def check_local(name, want, got):
    """Return None when peeka's repr agrees with the truth entry."""
    if got is None:
        return "missing"
    if "repr" in want:
        return None if got == want["repr"] else "repr %r != %r" % (
            got, want["repr"])
    if want["type"] in ("str", "bytes"):
        ok = got.startswith(("'", "b'"))
        return None if ok else "expected a %s repr, got %r" % (want["type"], got)
    m = OBJ.match(got)
    if not m:
        return "unexpected repr %r for a %s" % (got, want["type"])
    if m.group(1).rsplit(".", 1)[-1] != want["type"]:
        return "type %s != %s" % (m.group(1), want["type"])
    if int(m.group(2), 16) != want["id"]:
        return "address 0x%s != id 0x%x" % (m.group(2), want["id"])
    if "len" in want and (m.group(3) is None or int(m.group(3)) != want["len"]):
        return "len %s != %d" % (m.group(3), want["len"])
    return None


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            truth = json.load(f)
        with open(argv[2], encoding="utf-8") as f:
            dump = json.load(f)
    except (OSError, ValueError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    by_id = {t["thread_id"]: t for t in dump.get("threads", [])}
    problems, checked = [], 0
    for t in truth["threads"]:
        if t["busy"] or t["thread_id"] not in by_id:
            continue
        frames = by_id[t["thread_id"]]["frames"]
        for i, tf in enumerate(t["frames"]):
            if tf.get("locals") is None or i >= len(frames):
                continue
            got = {l["name"]: l["repr"] for l in frames[i].get("locals", [])}
            for name, want in tf["locals"].items():
                why = check_local(name, want, got.get(name))
                checked += 1
                if why:
                    problems.append("%s frame %d %s local %s: %s" % (
                        t["name"], i, tf["function"], name, why))
    for p in problems[:40]:
        print("mismatch: " + p)
    if problems:
        return 1
    if not checked:
        print("mismatch: no locals were checked")
        return 1
    print("ok: %d locals matched" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
