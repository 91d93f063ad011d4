#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`--native` against fixtures/native_fixture.py under one interpreter.

  interleave  dump --native: in the "sorter" thread, innermost first, the
              Python callback compare, then native frames including libc's
              qsort (qsort or qsort_r), then sort_with_qsort.
  blocked     the "sleeper" thread's innermost frames, below nap, are
              libc's and one of them is its sleep call (clock_nanosleep,
              nanosleep or select); the "reader" thread's innermost are
              libc's, with recv/recvfrom/read.
  gdb         dump --native-all agrees with gdb (gdb_stacks.py: real
              frames, not inlined ones or tail calls) for every blocked
              thread, frame for frame, address and function name, up to
              the first Python frame.
  (--native must never fail the merge on these parked threads.)

Usage: check_native.py PEEKA LAUNCHER
"""
import json
import os
import re
import subprocess
import sys

from live_util import fail, finish, peeka

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures",
                       "native_fixture.py")
GDB_SCRIPT = os.path.join(os.path.dirname(__file__), "gdb_stacks.py")
SLEEPS = {"clock_nanosleep", "nanosleep", "select", "pselect", "pselect6"}
RECVS = {"recv", "recvfrom", "read"}
BLOCKED = ("MainThread", "sorter", "sleeper", "reader")


def norm(name):
    """One name for a function's aliases: __GI___clock_nanosleep,
    __clock_nanosleep and clock_nanosleep@GLIBC_2.2.5 are one."""
    if not name:
        return "??"
    name = name.split("@")[0].split(".")[0]
    for prefix in ("__GI_", "__libc_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name.lstrip("_") or name


class Fixture:
    def __init__(self, launcher):
        self.p = subprocess.Popen([launcher, FIXTURE, "--timeout", "120"],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if self.p.stdout.readline().strip() != "READY":
            self.p.kill()
            raise SystemExit("fixture did not start: %r %s" % (
                line, self.p.stderr.read()))
        self.truth = json.loads(line)
        self.pid = self.p.pid

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def threads_by_name(doc):
    return {t["name"]: t for t in doc["threads"]}


def index(frames, pred):
    for i, f in enumerate(frames):
        if pred(f):
            return i
    return -1


def is_libc(f):
    return f["native"] and re.match(r"libc[.-]", f["module"] or "")


def check_dump(peeka_bin, fx):
    r = peeka(peeka_bin, "dump", "--pid", str(fx.pid), "--native", "--json")
    doc = json.loads(r.stdout)
    th = threads_by_name(doc)
    for name in BLOCKED:
        if th.get(name, {}).get("native_error"):
            fail("%s: %s" % (name, th[name]["native_error"]))
    fr = th["sorter"]["frames"]
    cb = index(fr, lambda f: not f["native"] and f["function"] == "compare")
    qs = index(fr, lambda f: is_libc(f) and norm(f["function"]) in
               ("qsort", "qsort_r"))
    caller = index(fr, lambda f: not f["native"] and
                   f["function"] == "sort_with_qsort")
    if not 0 <= cb < qs < caller:
        fail("interleave: compare %d, qsort %d, sort_with_qsort %d in %r" % (
            cb, qs, caller, [(f["native"], f["function"]) for f in fr]))
    elif any(not f["native"] for f in fr[cb + 1:caller]):
        fail("interleave: Python frames between compare and its caller")
    for name, py_fn, want in (("sleeper", "nap", SLEEPS),
                              ("reader", "wait_for_data", RECVS)):
        fr = th[name]["frames"]
        at = index(fr, lambda f: not f["native"])
        if at < 1 or fr[at]["function"] != py_fn:
            fail("%s: no native frames below %s: %r" % (name, py_fn, fr[:4]))
            continue
        inner = [f for f in fr[:at]]
        if not is_libc(inner[0]):
            fail("%s: innermost frame %r is not libc's" % (name, inner[0]))
        named = {norm(f["function"]) for f in inner if is_libc(f)}
        if not named & want:
            fail("%s: none of %s in %r" % (name, sorted(want), sorted(named)))


def loader_started_binary(pid):
    """The interpreter's file when the process was started by running the
    dynamic loader on it (ld.so --library-path ... python3.14): gdb then
    takes ld.so for the program and must be told of the real one."""
    exe = os.readlink("/proc/%d/exe" % pid)
    if not os.path.basename(exe).startswith("ld-"):
        return None
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            path = line.split(None, 5)[5].strip() if len(line.split()) > 5 \
                else ""
            if re.search(r"/python3\.\d+$", path):
                return path
    return None


def check_gdb(peeka_bin, fx):
    extra = []
    real = loader_started_binary(fx.pid)
    if real:
        # A non-PIE executable: its addresses are its link-time ones.
        extra = ["-ex", "add-symbol-file %s -o 0" % real]
    g = subprocess.run(["gdb", "-batch", "-nx", "-p", str(fx.pid)] + extra +
                       ["-x", GDB_SCRIPT], capture_output=True, text=True,
                       timeout=120)
    line = [l for l in g.stdout.splitlines() if l.startswith("GDB-STACKS ")]
    if not line:
        fail("gdb printed no stacks: %s" % g.stderr[-500:])
        return
    truth = json.loads(line[0].split(" ", 1)[1])
    r = peeka(peeka_bin, "dump", "--pid", str(fx.pid), "--native-all",
              "--json")
    doc = json.loads(r.stdout)
    for t in doc["threads"]:
        if t["name"] not in BLOCKED:
            continue
        ours = []
        for f in t["frames"]:
            if not f["native"]:
                break
            ours.append((norm(f["function"]), f["address"]))
        theirs = [(norm(n), pc) for n, pc in truth.get(str(t["native_id"]),
                                                     [])]
        if not ours or theirs[:len(ours)] != ours or len(theirs) <= len(ours):
            fail("gdb: thread %s: peeka %r, gdb %r" % (
                t["name"], ours, theirs[:len(ours) + 1]))


if __name__ == "__main__":
    peeka_bin, launcher = os.path.abspath(sys.argv[1]), sys.argv[2]
    fx = Fixture(launcher)
    try:
        check_dump(peeka_bin, fx)
        check_gdb(peeka_bin, fx)
    finally:
        fx.kill()
    finish()
