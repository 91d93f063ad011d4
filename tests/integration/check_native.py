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
  record      record --native --idle (collapsed): the sleeper's stacks end
              in libc below nap, the sorter's go through qsort; at most 5%
              of the thread samples fail to merge (the run's summary).
  top         top --native --idle --once has a libc row in brackets.
  dlopen      a library loaded while record --native runs (the fixture's
              --late-lib, built here with cc) shows up: park [libpark.so]
              with libc below it.
  deleted     (a static interpreter that is an ELF file) the interpreter
              copied, started and deleted: dump --native still merges.
  traced      while gdb is attached, dump --native cannot stop the threads:
              Python frames with a note per thread, one warning with a
              hint, exit 0.
  sigkill     peeka killed with SIGKILL during record --native at 1000 Hz
              leaves no thread stopped (state t) or traced (TracerPid),
              and the spinning thread still runs.
  (--native must never fail the merge on these parked threads in dump.)

Usage: check_native.py PEEKA LAUNCHER [static|shared]
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import live_util
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


def Fixture(launcher, *args):
    return live_util.Fixture(launcher, *args, script=FIXTURE)


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


def check_record(peeka_bin, fx, tmp):
    out = os.path.join(tmp, "n.txt")
    r = peeka(peeka_bin, "record", "--pid", str(fx.pid), "--native",
              "--idle", "--duration", "1.5", "--rate", "200", "-o", out)
    m = re.search(r"native: (\d+) thread samples merged, (\d+) not matched",
                  r.stderr)
    if not m:
        fail("record: no native summary in %r" % r.stderr)
        return
    merged, failed = int(m.group(1)), int(m.group(2))
    print("record --native: %d merged, %d not matched" % (merged, failed))
    if merged == 0 or failed > 0.05 * (merged + failed):
        fail("record: %d merged, %d not matched" % (merged, failed))
    with open(out, encoding="utf-8") as f:
        stacks = [l.rsplit(" ", 1)[0].split(";") for l in f if l.strip()]
    naps = [st for st in stacks if any(x.startswith("nap (") for x in st)]
    if not naps or not all(st[-1].endswith("]") and "libc" in st[-1]
                           for st in naps):
        fail("record: sleeper stacks %r" % naps[:2])
    elif not any(norm(x.split(" [")[0]) in SLEEPS for st in naps
                 for x in st[st.index(next(x for x in st
                                           if x.startswith("nap ("))) + 1:]):
        fail("record: no sleep call below nap: %r" % naps[:2])
    sorts = [st for st in stacks if any(x.startswith("compare (")
                                        for x in st)]
    if not sorts or not any(
            any(norm(x.split(" [")[0]) in ("qsort", "qsort_r") for x in st)
            for st in sorts):
        fail("record: no qsort under the sorter: %r" % sorts[:1])


def check_top(peeka_bin, fx):
    r = peeka(peeka_bin, "top", "--pid", str(fx.pid), "--native", "--idle",
              "--once", "--delay", "0.5")
    if not re.search(r"\[libc[.-][^]]*\]$", r.stdout, re.M):
        fail("top --native: no libc row in %r" % r.stdout[:600])


def task_facts(pid):
    facts = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        with open(base + "stat") as f:
            stat = f.read()
        with open(base + "status") as f:
            tracer = [l.split()[1] for l in f if l.startswith("TracerPid:")]
        fields = stat[stat.rindex(")") + 2:].split()
        facts[int(tid)] = (fields[0], tracer[0] if tracer else "?",
                           int(fields[11]) + int(fields[12]))
    return facts


def check_sigkill(peeka_bin, fx, tmp):
    spinner = [t["native_id"] for t in fx.truth["threads"]
               if t["name"] == "spinner"][0]
    for attempt in range(3):
        p = subprocess.Popen([peeka_bin, "record", "--pid", str(fx.pid),
                              "--native", "--idle", "--rate", "1000",
                              "-o", os.path.join(tmp, "k.txt")],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(0.5 + 0.13 * attempt)
        p.send_signal(signal.SIGKILL)
        p.wait()
        time.sleep(0.1)
        before = task_facts(fx.pid)
        time.sleep(0.3)
        after = task_facts(fx.pid)
        for tid, (state, tracer, _) in after.items():
            if state == "t" or tracer != "0":
                fail("sigkill: thread %d left in state %s, traced by %s" % (
                    tid, state, tracer))
        if after[spinner][2] <= before[spinner][2]:
            fail("sigkill: the spinner does not run (%d -> %d ticks)" % (
                before[spinner][2], after[spinner][2]))


def check_traced(peeka_bin, fx):
    g = subprocess.Popen(["gdb", "-batch", "-nx", "-p", str(fx.pid), "-ex",
                          "shell sleep 4"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with open("/proc/%d/status" % fx.pid) as f:
                if any(l.startswith("TracerPid:") and l.split()[1] != "0"
                       for l in f):
                    break
            time.sleep(0.05)
        r = peeka(peeka_bin, "dump", "--pid", str(fx.pid), "--native")
        notes = r.stdout.count("<native frames left out:")
        if notes < len(BLOCKED) or "sort_with_qsort (" not in r.stdout or \
                r.stderr.count("warning:") != 1 or "hint:" not in r.stderr:
            fail("traced: %d notes, stderr %r" % (notes, r.stderr))
    finally:
        g.wait(timeout=60)


PARK_C = """
#include <unistd.h>
void park(void) { for (;;) pause(); }
"""


def check_dlopen(peeka_bin, launcher, tmp):
    src, lib = os.path.join(tmp, "park.c"), os.path.join(tmp, "libpark.so")
    with open(src, "w") as f:
        f.write(PARK_C)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", lib, src],
                   check=True)
    fx = Fixture(launcher, "--late-lib", lib, "--late-after", "1.0")
    try:
        out = os.path.join(tmp, "late.txt")
        peeka(peeka_bin, "record", "--pid", str(fx.pid), "--native",
              "--idle", "--duration", "3", "-o", out)
        with open(out, encoding="utf-8") as f:
            stacks = [l.rsplit(" ", 1)[0].split(";") for l in f if l.strip()]
    finally:
        fx.kill()
    late = [st for st in stacks if "park [libpark.so]" in st]
    if not late:
        fail("dlopen: no park [libpark.so] frame in %d stacks" % len(stacks))
    elif not any(st[-1].endswith("]") and "libc" in st[-1] and
                 st.index("park [libpark.so]") < len(st) - 1 and
                 any(x.startswith("late_park (") for x in st) for st in late):
        fail("dlopen: park's stacks %r" % late[:2])


def check_deleted(peeka_bin, launcher, tmp):
    with open(launcher, "rb") as f:
        if f.read(4) != b"\x7fELF":
            return   # a launcher script: nothing to copy
    copy = os.path.join(tmp, os.path.basename(launcher))
    subprocess.run(["cp", launcher, copy], check=True)
    fx = Fixture(copy)
    try:
        os.unlink(copy)
        r = peeka(peeka_bin, "dump", "--pid", str(fx.pid), "--native",
                  "--json")
        doc = json.loads(r.stdout)
        bad = [t["name"] for t in doc["threads"]
               if t["name"] in BLOCKED and t.get("native_error")]
        natives = sum(f["native"] for t in doc["threads"]
                      for f in t["frames"])
        if bad or not natives:
            fail("deleted interpreter: %s, %d native frames" % (bad, natives))
    finally:
        fx.kill()


if __name__ == "__main__":
    peeka_bin, launcher = os.path.abspath(sys.argv[1]), sys.argv[2]
    static = sys.argv[3:4] == ["static"]
    fx = Fixture(launcher)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            check_dump(peeka_bin, fx)
            check_gdb(peeka_bin, fx)
            check_record(peeka_bin, fx, tmp)
            check_top(peeka_bin, fx)
            check_sigkill(peeka_bin, fx, tmp)
            check_traced(peeka_bin, fx)
            check_dlopen(peeka_bin, launcher, tmp)
            if static:
                check_deleted(peeka_bin, launcher, tmp)
    finally:
        fx.kill()
    finish()
