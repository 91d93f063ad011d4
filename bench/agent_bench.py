# SPDX-License-Identifier: Apache-2.0
"""The measuring half of bench/agent.sh, for one interpreter:

    agent_bench.py PEEKA LAUNCHER RUNS

prints: attach_ms first_obs_ms base_ns watched_ns filtered_ns
  attach_ms     wall time of `peeka attach` (median of RUNS, detached between)
  first_obs_ms  from the start of `attach` to the first observation of a
                `watch` started right after it
  base_ns       ns per call of calls.py's f, no hook (median of batches)
  watched_ns    the same while `watch __main__.f` reports every call
                (observations beyond what peeka reads are dropped, bounded)
  filtered_ns   the same with a condition that is never true
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

PEEKA, LAUNCHER, RUNS = sys.argv[1], sys.argv[2], int(sys.argv[3])
HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, PEEKA_STATE_DIR=tempfile.mkdtemp(prefix="peeka-b-"))


def batches(p, k):
    """k batch timings (ns/call) of batches that started from now on
    (older lines waiting in the pipe, and the batch running now, are
    skipped)."""
    since = time.monotonic()
    out = []
    first = True
    while len(out) < k:
        t, ns = p.stdout.readline().split()
        if float(t) <= since:
            continue
        if first:          # it began before `since`
            first = False
            continue
        out.append(float(ns))
    return out


def peeka(*args):
    return subprocess.run([PEEKA] + list(args), capture_output=True,
                          text=True, env=ENV, timeout=60)


def main():
    # Batches of 200000 calls (~20 ms; a target that flushes a line every
    # 2 ms starves every other thread of the GIL, the agent's included:
    # CPython's convoy effect).
    p = subprocess.Popen([LAUNCHER, os.path.join(HERE, "targets", "calls.py"),
                          "200000"],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "READY"
    pid = str(p.pid)
    attach, first = [], []
    try:
        for _ in range(RUNS):
            t0 = time.monotonic()
            r = peeka("attach", pid)
            t1 = time.monotonic()
            w = peeka("watch", "__main__.f", "-n", "1", "--json")
            t2 = time.monotonic()
            if r.returncode or w.returncode or '"observation"' not in w.stdout:
                raise SystemExit("attach/watch failed: %s %s" % (r.stderr,
                                                                 w.stderr))
            attach.append((t1 - t0) * 1000)
            first.append((t2 - t0) * 1000)
            peeka("detach")
        base = batches(p, 3 * RUNS)
        peeka("attach", pid)
        res = {}
        for name, extra in (("watched", []),
                            ("filtered", ["--condition", "params[0] < 0"])):
            w = subprocess.Popen([PEEKA, "watch", "__main__.f", "-n", "1000000",
                                  "--json"] + extra, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=ENV)
            time.sleep(0.5)
            # 4 batches: 800000 calls, under the watch's -n 1000000.
            res[name] = batches(p, 4)
            if w.poll() is not None:
                raise SystemExit("the %s watch ended early" % name)
            w.terminate()
            w.wait()
        peeka("detach")
    finally:
        p.kill()
    print("%.1f %.1f %.1f %.1f %.1f" % (
        statistics.median(attach), statistics.median(first),
        statistics.median(base), statistics.median(res["watched"]),
        statistics.median(res["filtered"])))


main()
