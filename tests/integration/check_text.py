#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check the text form of `peeka dump` against the fixture's truth.

Usage: check_text.py TRUTH.json DUMP.txt

Parses 'Thread <native id> (0x<ident>) "<name>" active|idle[, gil]' headers
and '    <function> (<file>:<line>)' frames, and requires every blocked
thread of the truth with exactly its frames, and the busy one as active.
"""
import json
import re
import sys

HEADER = re.compile(r'^Thread (\d+|\?) \(0x([0-9a-f]+)\) "(.*)" (active|idle)(, gil)?$')
FRAME = re.compile(r'^    (.*) \((.*):(-?\d+)\)$')


def parse(text):
    threads, cur = {}, None
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            cur = {"native_id": m.group(1), "name": m.group(3),
                   "active": m.group(4) == "active", "frames": []}
            threads[int(m.group(2), 16)] = cur
            continue
        m = FRAME.match(line)
        if m and cur is not None:
            cur["frames"].append((m.group(1), m.group(2), int(m.group(3))))
    return threads


def main(argv):
    truth = json.load(open(argv[1], encoding="utf-8"))
    got = parse(open(argv[2], encoding="utf-8").read())
    problems, transient = [], []
    for t in truth["threads"]:
        g = got.get(t["thread_id"])
        if g is None:
            problems.append("thread %r missing" % t["name"])
            continue
        if g["name"] != t["name"] or g["native_id"] != str(t["native_id"]):
            problems.append("thread %r: header %r" % (t["name"], g))
        if t["busy"]:
            if not g["active"]:
                transient.append("busy thread shown idle")
            continue
        want = [(f["function"], f["file"], f["line"]) for f in t["frames"]]
        if g["frames"] != want:
            problems.append("thread %r: frames differ: %r" % (
                t["name"], [x for x in zip(g["frames"], want) if x[0] != x[1]][:3]))
        if g["active"]:
            problems.append("blocked thread %r shown active" % t["name"])
    for p in problems + transient:
        print("mismatch: " + p)
    if not problems and not transient:
        print("ok: %d threads in the text dump" % len(truth["threads"]))
    # Exit 3: only the spinning thread was caught waiting for the GIL.
    return 1 if problems else 3 if transient else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
