# SPDX-License-Identifier: Apache-2.0
"""Shared by the live-view checks: start fixtures/live_fixture.py under a
test interpreter, read its truth line, run peeka, read /proc."""
import json
import os
import subprocess
import sys
import time

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures",
                       "live_fixture.py")
problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def finish():
    if problems:
        print("%d problem(s)" % len(problems), file=sys.stderr)
        sys.exit(1)
    print("ok")
    sys.exit(0)


class Fixture:
    """A fixture that prints a JSON truth line, then READY: live_fixture.py
    in MODE (with ARGS), or the script @script.  .truth is the JSON line,
    .pid its pid."""

    def __init__(self, launcher, *args, script=FIXTURE):
        self.p = subprocess.Popen([launcher, script, "--timeout", "120"]
                                  + list(args), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        ready = self.p.stdout.readline()
        if ready.strip() != "READY":
            self.kill()
            raise SystemExit("fixture %s %s did not start: %r %r %s" % (
                os.path.basename(script), args, line, ready,
                self.p.stderr.read()))
        self.truth = json.loads(line)
        self.pid = self.p.pid

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def peeka(peeka_bin, *args, want=0, timeout=60):
    r = subprocess.run([peeka_bin] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    if want is not None and r.returncode != want:
        fail("peeka %s: exit %d, wanted %d; stderr: %s" % (
            " ".join(args), r.returncode, want, r.stderr.strip()))
    return r


def cpu_ticks(pid, tid):
    """utime + stime of a thread, from the kernel (the truth)."""
    with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def wait_until(pred, timeout, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
