#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`peeka gil` against live_fixture.py under one interpreter.

  cpu: four spinning threads.  The GIL is held >= 90% of samples; each
       thread's share is 25% +- 10 and within 10 points of the CPU share
       the kernel measured for it over the same run; the other three wait;
       the switch rate is non-zero and equals the counter's delta over the
       run; the holder runs cpu_spin; -o writes a flame graph.
  io:  four threads that sleep: the GIL is held <= 20%.
  Also the text form's first line.

Usage: check_gil.py PEEKA LAUNCHER
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from live_util import Fixture, cpu_ticks, fail, finish, peeka

FIRST = re.compile(r"^GIL held: (\d+\.\d)% of (\d+) samples, (\d+) switches/s$")


def check_cpu(peeka_bin, launcher):
    hz = os.sysconf("SC_CLK_TCK")
    with Fixture(launcher, "cpu", "--threads", "4") as fx, \
            tempfile.TemporaryDirectory() as tmp:
        tids = [t["native_id"] for t in fx.truth["threads"]]
        t0 = time.monotonic()
        c0 = {t: cpu_ticks(fx.pid, t) for t in tids}
        svg = os.path.join(tmp, "gil.svg")
        r = peeka(peeka_bin, "gil", "--pid", str(fx.pid), "--duration", "3",
                  "--json", "-o", svg)
        c1 = {t: cpu_ticks(fx.pid, t) for t in tids}
        wall = time.monotonic() - t0
        doc = json.loads(r.stdout)
        if doc["held_percent"] < 90:
            fail("cpu: GIL held %.1f%% < 90" % doc["held_percent"])
        rows = {t["native_id"]: t for t in doc["threads"]}
        for t in fx.truth["threads"]:
            row = rows.get(t["native_id"])
            if not row:
                fail("cpu: thread %s missing" % t["name"])
                continue
            if row["name"] != t["name"] or row["thread_id"] != t["thread_id"]:
                fail("cpu: %r is not %r" % (row, t))
            held = row["held_percent"]
            cpu = 100.0 * (c1[t["native_id"]] - c0[t["native_id"]]) / hz / wall
            if not 15 <= held <= 35:
                fail("cpu: %s held %.1f%%, wanted 25 +- 10" % (t["name"], held))
            if abs(held - cpu) > 10:
                fail("cpu: %s held %.1f%% but used %.1f%% CPU" % (
                    t["name"], held, cpu))
            if row["waiting_percent"] < 30:
                fail("cpu: %s waited only %.1f%%" % (t["name"],
                                                     row["waiting_percent"]))
        delta = doc["switch_number_end"] - doc["switch_number_start"]
        rate = doc["switches_per_second"]
        if delta <= 0 or rate <= 0:
            fail("cpu: no GIL switches (%d)" % delta)
        if abs(rate - delta / doc["switch_seconds"]) > 0.01 * rate + 0.5 \
                or not 0.9 * doc["duration"] < doc["switch_seconds"] <= \
                doc["duration"] + 0.01:
            fail("cpu: %.1f switches/s is not %d / %.3f s (run %.3f s)" % (
                rate, delta, doc["switch_seconds"], doc["duration"]))
        # 4 threads wanting the GIL: a forced switch every interval at most.
        if rate > 1.5 / fx.truth["switch_interval"]:
            fail("cpu: %.0f switches/s with a %.3f s switch interval" % (
                rate, fx.truth["switch_interval"]))
        top = doc["top_functions"]
        if not top or top[0]["function"] != "cpu_spin":
            fail("cpu: top functions %r" % top[:2])
        with open(svg, encoding="utf-8") as f:
            if "cpu_spin" not in f.read():
                fail("cpu: the flame graph lacks cpu_spin")
        # The text form.
        r = peeka(peeka_bin, "gil", "--pid", str(fx.pid), "--duration", "0.5")
        first = r.stdout.splitlines()[0] if r.stdout else ""
        m = FIRST.match(first)
        if not m or float(m.group(1)) < 90 or int(m.group(3)) <= 0:
            fail("text first line: %r" % first)


def check_io(peeka_bin, launcher):
    with Fixture(launcher, "io", "--threads", "4") as fx:
        r = peeka(peeka_bin, "gil", "--pid", str(fx.pid), "--duration", "2",
                  "--json")
        doc = json.loads(r.stdout)
        if doc["held_percent"] > 20:
            fail("io: GIL held %.1f%% > 20" % doc["held_percent"])
        names = {t["name"] for t in doc["threads"]}
        if not {t["name"] for t in fx.truth["threads"]} <= names:
            fail("io: threads %r" % sorted(names))
    # The target exits during the measurement: what was measured is kept.
    with Fixture(launcher, "io", "--threads", "2") as fx:
        p = subprocess.Popen([peeka_bin, "gil", "--pid", str(fx.pid),
                              "--duration", "5", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        time.sleep(1)
        fx.kill()
        out, err = p.communicate(timeout=20)
        doc = json.loads(out) if p.returncode == 0 and out else {}
        if not doc.get("exited") or "exited" not in err or \
                not 0.5 < doc.get("duration", 0) < 3 or \
                not doc.get("switches_per_second", 0) > 0:
            fail("exit during gil: status %r, %r, stderr %r" % (
                p.returncode, out[:200], err))


if __name__ == "__main__":
    check_cpu(sys.argv[1], sys.argv[2])
    check_io(sys.argv[1], sys.argv[2])
    finish()
