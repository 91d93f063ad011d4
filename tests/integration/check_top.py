#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`peeka top` against live_fixture.py's "mix" mode under one interpreter.

Plain text: --once and piped output are parseable snapshots whose first
row is mix_hot, sorted by OwnTime.  Full screen, driven in tmux
(send-keys, capture-pane): mix_hot is on the first row within 3 s; keys
4 and 3 change the sort; L and T change the view; q quits and leaves the
alternate screen; resizes are followed; the target's exit and SIGTERM restore the terminal
with the last table kept; a too small terminal is refused.

tmux's server is started in the foreground (-D) on a private socket: it
needs no /dev/null character device to daemonise.

Usage: check_top.py PEEKA LAUNCHER
"""
import os
import re
import shlex
import signal
import subprocess
import sys
import time

from live_util import Fixture, fail, finish, peeka, wait_until

ROW = re.compile(r"^\s*(\d+\.\d)%\s+(\d+\.\d)%\s+(\d+\.\d\d)s\s+(\d+\.\d\d)s"
                 r"\s+(.+?) \(([^()]*)\)\s*$")


def parse_rows(lines):
    rows = []
    for line in lines:
        m = ROW.match(line)
        if m:
            rows.append({"own_pct": float(m.group(1)),
                         "total_pct": float(m.group(2)),
                         "own": float(m.group(3)), "total": float(m.group(4)),
                         "function": m.group(5), "where": m.group(6)})
    return rows


def snapshots(text):
    """Plain snapshots: header, command, view line, blank, titles, rows."""
    out = []
    for block in text.split("\npeeka top  ")[0:]:
        block = block if block.startswith("peeka top") else \
            "peeka top  " + block
        lines = block.splitlines()
        if len(lines) < 5 or "%Own" not in lines[4]:
            continue
        out.append({"header": lines[0], "rows": parse_rows(lines[5:])})
    return out


def check_plain(peeka_bin, fx):
    r = peeka(peeka_bin, "top", "--pid", str(fx.pid), "--once", "--delay",
              "1.5")
    snaps = snapshots(r.stdout)
    if len(snaps) != 1:
        fail("--once: %d snapshots in %r" % (len(snaps), r.stdout[:300]))
        return
    s = snaps[0]
    if not s["header"].startswith("peeka top  pid %d  CPython %s" % (
            fx.pid, fx.truth["version"])):
        fail("--once header %r" % s["header"])
    rows = s["rows"]
    if not rows or rows[0]["function"] != "mix_hot":
        fail("--once: first row %r" % (rows[:1],))
    owns = [x["own"] for x in rows]
    if owns != sorted(owns, reverse=True):
        fail("--once: not sorted by OwnTime: %r" % owns)
    # --threads --idle: a row per thread and function, idle threads too.
    r = peeka(peeka_bin, "top", "--pid", str(fx.pid), "--once", "--delay",
              "1", "--threads", "--idle")
    rows = (snapshots(r.stdout) or [{"rows": []}])[0]["rows"]
    for t in fx.truth["threads"]:
        want = 'thread %d "%s": mix_hot' % (t["native_id"], t["name"])
        if not any(x["function"] == want for x in rows):
            fail("--threads: no row %r in %r" % (want, rows[:6]))
    if not any(x["function"].endswith('"MainThread": main') for x in rows):
        fail("--idle: no idle MainThread row")
    # --nolineno: "function (file)", no line numbers.
    r = peeka(peeka_bin, "top", "--pid", str(fx.pid), "--once", "--delay",
              "0.5", "--nolineno")
    rows = (snapshots(r.stdout) or [{"rows": []}])[0]["rows"]
    if not rows or any(re.search(r":\d+$", x["where"]) for x in rows):
        fail("--nolineno: %r" % rows[:3])
    # Piped: a snapshot per --delay until SIGTERM, then exit 0.
    p = subprocess.Popen([peeka_bin, "top", "--pid", str(fx.pid), "--delay",
                          "0.4"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=10)
    snaps = snapshots(out)
    if p.returncode != 0 or len(snaps) < 2:
        fail("piped: status %r, %d snapshots, stderr %r" % (
            p.returncode, len(snaps), err))
    elif snaps[-1]["rows"][0]["function"] != "mix_hot":
        fail("piped: first row %r" % snaps[-1]["rows"][0])


class Tmux:
    def __init__(self):
        self.sock = "peeka-test-%d" % os.getpid()
        self.server = subprocess.Popen(["tmux", "-L", self.sock, "-f",
                                        os.devnull, "-D"],
                                       stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        wait_until(lambda: self.run("ls").returncode in (0, 1) and
                   os.path.exists("/tmp/tmux-%d/%s" % (os.getuid(),
                                                        self.sock)), 5)

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args),
                              capture_output=True, text=True, timeout=10)

    def start(self, name, cmd, cols=120, lines=30):
        shell = "%s; echo EXIT=$?; sleep 120" % cmd
        r = self.run("new-session", "-d", "-s", name, "-x", str(cols), "-y",
                     str(lines), shell)
        if r.returncode:
            raise SystemExit("tmux new-session: %s" % r.stderr)

    def screen(self, name):
        return self.run("capture-pane", "-p", "-t", name).stdout.splitlines()

    def keys(self, name, *keys):
        # A pane of a detached session sometimes drops into tmux's
        # view-mode, which would swallow the keys: leave it first.
        if self.run("display-message", "-p", "-t", name,
                    "#{pane_in_mode}").stdout.strip() == "1":
            self.run("send-keys", "-t", name, "-X", "cancel")
        self.run("send-keys", "-t", name, *keys)

    def press(self, name, key, done, timeout=3):
        """Send @key until done() holds (a dropped key is sent again)."""
        for _ in range(3):
            self.keys(name, key)
            if wait_until(done, timeout / 3):
                return True
        return False

    def alternate(self, name):
        return self.run("display-message", "-p", "-t", name,
                        "#{alternate_on}").stdout.strip()

    def pane_pid(self, name):
        return int(self.run("display-message", "-p", "-t", name,
                            "#{pane_pid}").stdout.strip())

    def close(self):
        self.run("kill-server")
        try:
            self.server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.server.kill()


def first_row(tm, name):
    rows = parse_rows(tm.screen(name))
    return rows[0] if rows else None


def wait_exit(tm, name, timeout=10):
    def ended():
        for line in tm.screen(name):
            m = re.match(r"^EXIT=(\d+)$", line)
            if m:
                return int(m.group(1)) + 1
        return 0
    v = wait_until(ended, timeout)
    return v - 1 if v else None


def check_screen(peeka_bin, launcher, tm, fx):
    top = "%s top --pid %d --delay 0.5" % (shlex.quote(peeka_bin), fx.pid)
    t0 = time.monotonic()
    tm.start("main", top)
    row = wait_until(lambda: (first_row(tm, "main") or {}).get("function")
                     == "mix_hot", 3.0)
    if not row:
        fail("screen: mix_hot not first within 3 s: %r" % tm.screen("main"))
    elif tm.alternate("main") != "1":
        fail("screen: not on the alternate screen")
    time.sleep(max(0, 1.2 - (time.monotonic() - t0)))
    # 4: by TotalTime, so a caller of mix_hot (more total, no own) leads.
    ok = tm.press("main", "4",
                  lambda: "sort: TotalTime" in "\n".join(tm.screen("main")))
    time.sleep(0.3)  # the rest of the redraw may still be on its way
    rows = parse_rows(tm.screen("main"))
    totals = [x["total"] for x in rows]
    if not ok or not rows or rows[0]["function"] == "mix_hot" or \
            totals != sorted(totals, reverse=True):
        fail("screen: key 4 gave %r" % rows[:3])
    if not tm.press("main", "3",
                    lambda: (first_row(tm, "main") or {}).get("function")
                    == "mix_hot" and "sort: OwnTime" in
                    "\n".join(tm.screen("main"))):
        fail("screen: key 3 did not bring mix_hot back: %r" %
             tm.screen("main")[:8])
    if not tm.press("main", "L", lambda: "by line" in tm.screen("main")[2]):
        fail("screen: L did not switch to lines")
    if not tm.press("main", "T",
                    lambda: 'threads: thread ' in tm.screen("main")[2]):
        fail("screen: T did not select a thread: %r" % tm.screen("main")[2])
    # ?: help, closed by any key; p: the display stops; R: counts restart.
    if not tm.press("main", "?", lambda: any("peeka top keys" in l for l in
                                             tm.screen("main"))):
        fail("?: no help")
    if not tm.press("main", "x", lambda: parse_rows(tm.screen("main"))):
        fail("help did not close")
    if not tm.press("main", "p", lambda: "[paused]" in tm.screen("main")[2]):
        fail("p: not paused")
    frozen = tm.screen("main")[0]
    time.sleep(1.2)
    if tm.screen("main")[0] != frozen:
        fail("p: the display still changes")
    tm.press("main", "p", lambda: "[paused]" not in tm.screen("main")[2])

    def samples():
        m = re.search(r"samples (\d+)", tm.screen("main")[0])
        return int(m.group(1)) if m else -1
    before = samples()
    if not tm.press("main", "R", lambda: 0 <= samples() < before / 2):
        fail("R: samples %d -> %d" % (before, samples()))
    # Resizes: the table follows; too small a window shows a note.
    tm.run("resize-window", "-t", "main", "-x", "70", "-y", "12")
    if not wait_until(lambda: parse_rows(tm.screen("main")) and
                      max(len(l) for l in tm.screen("main")) <= 70 and
                      len(tm.screen("main")) == 12, 3):
        fail("resize to 70x12: %r" % tm.screen("main"))
    tm.run("resize-window", "-t", "main", "-x", "50", "-y", "8")
    if not wait_until(lambda: any("terminal too small (50x8)" in l
                                  for l in tm.screen("main")), 3):
        fail("resize to 50x8: %r" % tm.screen("main"))
    tm.run("resize-window", "-t", "main", "-x", "120", "-y", "30")
    if not wait_until(lambda: parse_rows(tm.screen("main")), 3):
        fail("resize back: %r" % tm.screen("main"))
    tm.press("main", "q", lambda: wait_exit(tm, "main", 0.5) is not None)
    status = wait_exit(tm, "main")
    if status != 0:
        fail("screen: q gave exit %r" % status)
    if tm.alternate("main") != "0":
        fail("screen: the alternate screen is still on after q")
    if any(l.startswith("peeka top") for l in tm.screen("main")):
        fail("screen: the table is left after q")


def check_exits(peeka_bin, launcher, tm):
    # The target exits: the terminal is restored and the table kept.
    with Fixture(launcher, "mix") as fx:
        tm.start("exit", "%s top --pid %d --delay 0.3" % (
            shlex.quote(peeka_bin), fx.pid))
        wait_until(lambda: first_row(tm, "exit"), 3)
        fx.kill()
        status = wait_exit(tm, "exit")
        screen = tm.screen("exit")
        if status != 0:
            fail("target exit: peeka exit %r: %r" % (status, screen))
        if not any("process %d exited" % fx.pid in l for l in screen):
            fail("target exit: not reported: %r" % screen)
        if not parse_rows(screen):
            fail("target exit: the last table is gone: %r" % screen)
        if tm.alternate("exit") != "0":
            fail("target exit: alternate screen still on")
    # SIGTERM.
    with Fixture(launcher, "mix") as fx:
        tm.start("term", "%s top --pid %d" % (shlex.quote(peeka_bin), fx.pid))
        wait_until(lambda: first_row(tm, "term"), 3)
        shell = tm.pane_pid("term")
        kids = subprocess.run(["pgrep", "-P", str(shell)], capture_output=True,
                              text=True).stdout.split()
        for k in kids:
            os.kill(int(k), signal.SIGTERM)
        status = wait_exit(tm, "term")
        if not kids or status != 0 or tm.alternate("term") != "0":
            fail("SIGTERM: exit %r, alternate %r" % (status,
                                                     tm.alternate("term")))
        # Too small a terminal.
        tm.start("small", "%s top --pid %d" % (shlex.quote(peeka_bin), fx.pid),
                 cols=40, lines=8)
        status = wait_exit(tm, "small")
        screen = "\n".join(tm.screen("small"))
        if status != 1 or "error: the terminal is 40x8" not in screen:
            fail("small terminal: exit %r: %r" % (status, screen))


if __name__ == "__main__":
    peeka_bin, launcher = os.path.abspath(sys.argv[1]), sys.argv[2]
    with Fixture(launcher, "mix") as fx:
        check_plain(peeka_bin, fx)
        tm = Tmux()
        try:
            check_screen(peeka_bin, launcher, tm, fx)
            check_exits(peeka_bin, launcher, tm)
        finally:
            tm.close()
    finish()
