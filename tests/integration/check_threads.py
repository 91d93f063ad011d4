#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`peeka threads` against live_fixture.py's "states" mode under one
interpreter: every thread's name, native id, Python id, OS state, system
call, current function and CPU use agree with what the fixture and the
kernel say.

Usage: check_threads.py PEEKA LAUNCHER MINOR
"""
import json
import subprocess
import sys

from live_util import Fixture, fail, finish, peeka

# What each parked thread waits in; the set allows for the libc and
# CPython version (time.sleep is select() before 3.11, for instance).
SYSCALLS = {
    "sleeper": {"clock_nanosleep", "nanosleep", "select", "pselect6"},
    "reader": {"recvfrom", "read", "recvmsg", "poll", "ppoll"},
    "locker": {"futex"},
}


def check(peeka_bin, launcher, minor):
    with Fixture(launcher, "states") as fx:
        want = {t["name"]: t for t in fx.truth["threads"]}
        for attempt in range(5):
            r = peeka(peeka_bin, "threads", "--pid", str(fx.pid), "--json")
            doc = json.loads(r.stdout)
            rows = {t["name"]: t for t in doc["threads"] if t["python"]}
            if rows.get("spinner", {}).get("os_state") == "R":
                break
        if doc["pid"] != fx.pid:
            fail("pid %r" % doc["pid"])
        if doc["python_version"] != fx.truth["version"]:
            fail("version %r, fixture says %r" % (doc["python_version"],
                                                 fx.truth["version"]))
        for name, t in want.items():
            row = rows.get(name)
            if not row:
                fail("thread %r missing: %s" % (name, sorted(rows)))
                continue
            if row["native_id"] != t["native_id"]:
                fail("%s: native id %r, fixture %r" % (name, row["native_id"],
                                                       t["native_id"]))
            if row["thread_id"] != t["thread_id"]:
                fail("%s: thread id %r, fixture %r" % (name, row["thread_id"],
                                                       t["thread_id"]))
            fn = (row["function"] or {}).get("function")
            if fn != name:
                fail("%s: current function %r" % (name, fn))
            if name in SYSCALLS:
                if row["os_state"] != "S":
                    fail("%s: OS state %r, wanted S" % (name, row["os_state"]))
                if row["syscall"] not in SYSCALLS[name]:
                    fail("%s: system call %r, wanted one of %s" % (
                        name, row["syscall"], sorted(SYSCALLS[name])))
                if row["cpu_percent"] is None or row["cpu_percent"] > 5:
                    fail("%s: CPU %r%% while blocked" % (name,
                                                         row["cpu_percent"]))
                if row["gil"]:
                    fail("%s: holds the GIL while blocked" % name)
                if minor >= (3, 13) and row["python_state"] != "detached":
                    fail("%s: python_state %r" % (name, row["python_state"]))
            else:
                if row["os_state"] != "R":
                    fail("spinner: OS state %r in 5 tries" % row["os_state"])
                if row["syscall"] is not None:
                    fail("spinner: system call %r" % row["syscall"])
                if row["cpu_percent"] is None or row["cpu_percent"] < 50:
                    fail("spinner: CPU %r%%" % row["cpu_percent"])
            if minor < (3, 13) and row["python_state"] is not None:
                fail("%s: python_state %r before 3.13" % (name,
                                                         row["python_state"]))
        # The text table: one row per thread, the columns in order.
        r = peeka(peeka_bin, "threads", "--pid", str(fx.pid))
        lines = r.stdout.splitlines()
        if len(lines) < 2 or not lines[1].split()[:3] == ["NATIVE", "THREAD",
                                                          "NAME"]:
            fail("text header: %r" % lines[:2])
        for name, t in want.items():
            row = [l for l in lines if l.split()[:1] == [str(t["native_id"])]]
            if len(row) != 1 or name not in row[0] or \
                    "%s (" % name not in row[0]:
                fail("text row of %s: %r" % (name, row))
        # --watch: a JSON line per refresh; the target's exit ends it.
        w = subprocess.Popen([peeka_bin, "threads", "--pid", str(fx.pid),
                              "--watch", "0.3", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        docs = [json.loads(w.stdout.readline()) for _ in range(2)]
        if [d["pid"] for d in docs] != [fx.pid, fx.pid]:
            fail("--watch: %r" % docs)
        if not 0.2 < docs[1]["cpu_window"] < 1.0:
            fail("--watch 0.3: CPU window %r" % docs[1]["cpu_window"])
        fx.kill()
        try:
            out, err = w.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            w.kill()
            out, err = w.communicate()
            fail("--watch did not end when the target exited")
        if w.returncode != 0 or "exited" not in err:
            fail("--watch after exit: status %r, stderr %r" % (w.returncode,
                                                              err))
    finish()


if __name__ == "__main__":
    minor = tuple(int(x) for x in sys.argv[3].split("."))
    check(sys.argv[1], sys.argv[2], minor)
