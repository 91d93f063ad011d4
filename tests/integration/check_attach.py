# SPDX-License-Identifier: Apache-2.0
"""attach / watch / reset / detach against fixtures/agent_fixture.py under
one interpreter, compared with what the fixture says about itself.

    check_attach.py PEEKA LAUNCHER MINOR [all|kill]

all:  attach (method, reuse), watch of every kind of function (params,
      result, exception, duration, thread), conditions (filtering and
      refusals), -n, -b, Ctrl-C, reset, detach (identity of the originals,
      no thread, no files, no names, output unchanged), re-attach; the
      main thread blocked in sleep and in accept; another user turned
      away; 3.14 with PYTHON_DISABLE_REMOTE_DEBUG.
kill: peeka SIGKILLed at each step of the ptrace injection, 50 times;
      the target must run on, untraced, unstopped, unharmed.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_util import fail, finish, wait_until  # noqa: E402

PEEKA, LAUNCHER, MINOR = sys.argv[1], sys.argv[2], sys.argv[3]
WHAT = sys.argv[4] if len(sys.argv) > 4 else "all"
V = tuple(int(x) for x in MINOR.split("."))
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "..", "fixtures", "agent_fixture.py")
STATE = tempfile.mkdtemp(prefix="peeka-state-")
ENV = dict(os.environ, PEEKA_STATE_DIR=STATE)
ENV.pop("PEEKA_TEST_KILL_AT", None)


class Target:
    """agent_fixture.py in MODE; .truth, .pid, .status(), .output()."""

    def __init__(self, mode, env=None, uid=None):
        def drop():
            os.setgid(uid)
            os.setgroups([])
            os.setuid(uid)
        self.p = subprocess.Popen(
            [LAUNCHER, FIXTURE, mode, "--timeout", "150"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env,
            preexec_fn=drop if uid is not None else None)
        self.truth = json.loads(self.p.stdout.readline())
        if self.p.stdout.readline().strip() != "READY":
            raise SystemExit("fixture did not start: " + self.p.stderr.read())
        self.pid = self.p.pid
        self.lines = []

    def status(self):
        self.p.stdin.write("status\n")
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise SystemExit("fixture died: " + self.p.stderr.read())
            self.lines.append(line)
            if line.startswith("{"):
                return json.loads(line)["status"]

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()

    def finish(self):
        """Stop it and check that it only ever wrote its own lines."""
        self.p.kill()
        out, err = self.p.communicate()
        for line in self.lines + out.splitlines(True):
            if not (line.startswith("tick ") or line.startswith("{")):
                fail("%s: the target printed %r" % (self.truth["mode"], line))
        if err:
            fail("%s: the target wrote to stderr: %s" % (self.truth["mode"],
                                                         err[:500]))


RUNS = [0]


def peeka(*args, want=0, env=ENV, timeout=60):
    RUNS[0] += 1
    r = subprocess.run([PEEKA] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=env)
    if want is not None and r.returncode != want:
        fail("peeka %s: exit %d, wanted %d; stderr: %s" % (
            " ".join(args), r.returncode, want, r.stderr.strip()))
    return r


def lines(r):
    out = []
    for line in r.stdout.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            fail("not a JSON line: %r" % line)
    return out


def expected_method(mode, forced=False):
    if V >= (3, 14) and not forced:
        return "pep768"
    return "ptrace-pending-call" if mode == "loop" else "ptrace-gilstate"


def attach(t, *extra, method=None):
    r = peeka("attach", str(t.pid), *extra)
    got = lines(r)
    if len(got) != 1:
        fail("attach printed %r" % r.stdout)
        return None
    d = got[0].get("data", {})
    if got[0].get("type") != "success" or got[0].get("command") != "attach":
        fail("attach: %r" % got[0])
    if d.get("pid") != t.pid or d.get("python") != t.truth["python"]:
        fail("attach data %r, fixture says %r" % (d, t.truth))
    if method and d.get("method") != method:
        fail("attach method %r, wanted %r" % (d.get("method"), method))
    return d


def watch(*args, want=0):
    r = peeka("watch", *args, "--json", want=want)
    got = lines(r) if want == 0 else []
    obs = [x for x in got if x.get("type") == "observation"]
    end = [x for x in got if x.get("type") == "end"]
    if want == 0 and (not got or got[0].get("type") != "start" or
                      len(end) != 1 or got[-1] is not end[0]):
        fail("watch %s: not start…end: %r" % (" ".join(args), r.stdout[:800]))
    return obs, (end[0] if end else {}), r


def check_observation(o, func, location):
    for k in ("watch_id", "timestamp", "func_name", "location", "data"):
        if k not in o:
            fail("observation without %s: %r" % (k, o))
            return None
    if o["func_name"] != func or o["location"] != location:
        fail("observation %s/%s, wanted %s/%s" % (
            o["func_name"], o["location"], func, location))
    if abs(o["timestamp"] - time.time()) > 60:
        fail("timestamp %r is not now" % o["timestamp"])
    d = o["data"]
    for k in ("params", "kwargs", "target", "result", "exception",
              "duration_ms", "thread_id", "thread_name"):
        if k not in d:
            fail("observation data without %s: %r" % (k, d))
    return d


def check_watches(t, thread_id, thread_name):
    # A module function called in a loop: params (scale passed by keyword
    # is still a positional parameter), result, duration, thread.
    obs, end, _ = watch("__main__.compute", "-n", "3")
    if len(obs) != 3 or end.get("reason") != "limit" or end.get("count") != 3:
        fail("-n 3: %d observations, end %r" % (len(obs), end))
    for o in obs:
        d = check_observation(o, "__main__.compute", "AtExit")
        if not d:
            continue
        p = d["params"]
        if len(p) != 3 or p[1] != p[0] + 1 or p[2] != 2 or \
                d["result"] != (p[0] + p[1]) * p[2]:
            fail("compute: params %r result %r" % (p, d["result"]))
        if d["kwargs"] != {} or d["target"] is not None or \
                d["exception"] is not None:
            fail("compute: kwargs/target/exception %r" % d)
        if not (isinstance(d["duration_ms"], float) and
                0 <= d["duration_ms"] < 1000):
            fail("compute: duration %r" % d["duration_ms"])
        if d["thread_id"] != thread_id or d["thread_name"] != thread_name:
            fail("compute ran in %r/%r, fixture says %r/%r" % (
                d["thread_id"], d["thread_name"], thread_id, thread_name))
    if len(obs) == 3 and not obs[0]["data"]["params"][0] < \
            obs[1]["data"]["params"][0] < obs[2]["data"]["params"][0]:
        fail("compute: calls out of order %r" % [o["data"]["params"]
                                                  for o in obs])

    # Raising: AtExceptionExit with the exception; -e only.
    obs, end, _ = watch("__main__.fail", "-e", "-n", "2")
    for o in obs:
        d = check_observation(o, "__main__.fail", "AtExceptionExit")
        if d and not (isinstance(d["exception"], str) and
                      "ValueError" in d["exception"] and
                      "bad value %d" % d["params"][0] in d["exception"]):
            fail("fail: exception %r params %r" % (d["exception"],
                                                   d["params"]))
        if d and d["result"] is not None:
            fail("fail: result %r at an exception" % d["result"])
    if len(obs) != 2:
        fail("fail -e -n 2: %d observations" % len(obs))
    # -b: AtEnter, before the call: no result, no duration.
    obs, _, _ = watch("__main__.compute", "-b", "-n", "1")
    d = obs and check_observation(obs[0], "__main__.compute", "AtEnter")
    if not d or d["result"] is not None or d["duration_ms"] is not None:
        fail("-b: %r" % obs)

    # Conditions filter.
    obs, _, _ = watch("__main__.compute", "params[0] % 7 == 3 and cost >= 0",
                      "-n", "2")
    if len(obs) != 2 or any(o["data"]["params"][0] % 7 != 3 for o in obs):
        fail("condition: %r" % [o["data"]["params"] for o in obs])
    obs, _, _ = watch("__main__.compute", "--condition",
                      "result == (params[0] + params[1]) * 2", "-n", "1")
    if len(obs) != 1:
        fail("condition on result: %r" % obs)

    # Methods: target is the instance / class; static has none.
    obs, _, _ = watch("__main__.Shop.buy", "-n", "2", "-x", "1")
    for o in obs:
        d = check_observation(o, "__main__.Shop.buy", "AtExit")
        if not d:
            continue
        tgt = d["target"]
        if not (isinstance(tgt, dict) and "Shop" in tgt.get("@type", "") and
                tgt.get("name") == "corner"):
            fail("Shop.buy target %r" % tgt)
        p = d["params"]
        if p[0] != "apple" or d["result"] != "apple:%d" % p[1]:
            fail("Shop.buy params %r result %r" % (p, d["result"]))
    if len(obs) != 2:
        fail("Shop.buy: %d observations" % len(obs))
    obs, _, _ = watch("__main__.Shop.stat", "-n", "1")
    d = obs and check_observation(obs[0], "__main__.Shop.stat", "AtExit")
    if not d or d["target"] is not None or \
            d["result"] != d["params"][0] * 3:
        fail("staticmethod: %r" % obs)
    obs, _, _ = watch("__main__.Shop.make", "-n", "1")
    d = obs and check_observation(obs[0], "__main__.Shop.make", "AtExit")
    if not d or "Shop" not in json.dumps(d["target"]) or \
            d["result"] != d["params"][0] + 100:
        fail("classmethod: %r" % obs)
    obs, _, _ = watch("__main__.Outer.Inner.deep", "-n", "1")
    d = obs and check_observation(obs[0], "__main__.Outer.Inner.deep",
                                  "AtExit")
    if not d or d["result"] != [d["params"][0]] * 2:
        fail("nested class: %r" % obs)
    obs, _, _ = watch("__main__.traced", "-n", "1")
    d = obs and check_observation(obs[0], "__main__.traced", "AtExit")
    if not d or d["params"] != [d["params"][0], 1] or \
            d["result"] != d["params"][0] - 1:
        fail("decorated: %r" % obs)

    # Refused before anything is installed.
    for cond in ("params.__class__", "().__class__.__subclasses__()",
                 "target.buy.__globals__", "__import__('os')",
                 "import os", "2 ** 10 ** 10", "'a' * 10 ** 9",
                 "len(params) and open('/etc/passwd')", "print(1)"):
        r = peeka("watch", "__main__.compute", "--condition", cond, "-n", "1",
                  want=1, timeout=20)
        errs = [x for x in r.stderr.splitlines() if x.startswith("error:")]
        if len(errs) != 1 or r.stdout:
            fail("condition %r: stdout %r stderr %r" % (cond, r.stdout,
                                                        r.stderr))
    for bad, msg in (("__main__.nosuch", "nosuch"),
                     ("nosuchmodule.f", "nosuchmodule")):
        r = peeka("watch", bad, "-n", "1", want=1, timeout=20)
        if msg not in r.stderr:
            fail("watch %s: %r" % (bad, r.stderr))
    st = t.status()
    if not all(st["identity"].values()):
        fail("after the watches, not the originals: %r" % st["identity"])


def streaming(args):
    p = subprocess.Popen([PEEKA, "watch"] + args + ["--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=ENV)
    first = json.loads(p.stdout.readline())
    second = json.loads(p.stdout.readline())
    if first.get("type") != "start" or second.get("type") != "observation":
        fail("streaming watch: %r %r" % (first, second))
    return p


def end_of(p):
    out, err = p.communicate(timeout=20)
    got = [json.loads(x) for x in out.splitlines() if x.strip()]
    return got[-1] if got else {}, p.returncode, err


def check_pretty(t):
    """On a terminal (script(1) gives one), watch prints readable blocks
    and says why it ended, on stderr."""
    cmd = "%s watch __main__.compute -n 2 2>&1" % PEEKA
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                       capture_output=True, text=True, timeout=60, env=ENV)
    out = r.stdout.replace("\r", "")
    heads = [x for x in out.splitlines() if "  AtExit  __main__.compute  "
             "thread MainThread (%d)" % t.truth["main_id"] in x]
    params = [x for x in out.splitlines() if x.startswith("  params ")]
    results = [x for x in out.splitlines() if x.startswith("  result ")]
    if r.returncode != 0 or len(heads) != 2 or len(params) != 2 or \
            len(results) != 2 or "the limit (-n 2) was reached" not in out \
            or '"type"' in out:
        fail("pretty watch output: %d %r" % (r.returncode, out[:1500]))


def check_stop_and_reset(t):
    # Ctrl-C: the hook goes, exit 0, end reason user.
    p = streaming(["__main__.compute", "-n", "100000"])
    p.send_signal(signal.SIGINT)
    end, rc, err = end_of(p)
    if rc != 0 or end.get("type") != "end" or end.get("reason") != "user":
        fail("Ctrl-C: exit %d, last %r, %s" % (rc, end, err))
    if not t.status()["identity"]["compute"]:
        fail("Ctrl-C left compute hooked")
    # reset PATTERN while a watch runs: restored, the watch ends.
    p = streaming(["__main__.Shop.buy", "-n", "100000"])
    r = peeka("reset", "__main__.Shop.buy")
    got = lines(r)
    data = got[0].get("data", {}) if got else {}
    if not any(x.get("func") == "__main__.Shop.buy"
               for x in data.get("restored", [])) or data.get("errors"):
        fail("reset: %r" % got)
    end, rc, err = end_of(p)
    if rc != 0 or end.get("reason") != "reset":
        fail("watch during reset: exit %d, last %r %s" % (rc, end, err))
    if not all(t.status()["identity"].values()):
        fail("after reset, not the originals")


def check_detach(t, before):
    # Leave a watch running, then detach: everything goes.
    p = streaming(["__main__.traced", "-n", "100000"])
    r = peeka("detach")
    got = lines(r)
    if not got or got[0].get("command") != "detach":
        fail("detach printed %r" % r.stdout)
    end, rc, _ = end_of(p)
    if end.get("reason") != "detach":
        fail("watch during detach ended with %r" % end)

    def settled():
        s = t.status()
        return s if s["tasks"] == before["tasks"] else None
    st = wait_until(settled, 5) or t.status()
    if not all(st["identity"].values()):
        fail("after detach, not the originals: %r" % st["identity"])
    if st["tasks"] != before["tasks"] or st["threads"] != before["threads"]:
        fail("after detach, threads %r %r, before %r %r" % (
            st["tasks"], st["threads"], before["tasks"], before["threads"]))
    if st["marker"] or not st["main_names_same"]:
        fail("after detach: marker %r, new names in __main__ %r" % (
            st["marker"], st["extra_names"]))
    left = [x for x in os.listdir("/proc/%d/root/tmp" % t.pid)
            if x.startswith("peeka-%d-" % t.pid)]
    if left:
        fail("after detach, left in /tmp: %r" % left)
    r = peeka("watch", "__main__.compute", "-n", "1", want=1)
    if "no target" not in r.stderr:
        fail("detach did not forget the current target: %r" % r.stderr)
    r = peeka("watch", "__main__.compute", "-n", "1", "--pid", str(t.pid),
              want=1)
    if "no peeka agent" not in r.stderr:
        fail("watch after detach: %r" % r.stderr)


def check_other_user(t):
    """uid 65534 cannot reach the socket (0700 directory, 0600 socket, and
    the agent would refuse it by SO_PEERCRED anyway)."""
    socks = [os.path.join("/proc/%d/root/tmp" % t.pid, x, "agent.sock")
             for x in os.listdir("/proc/%d/root/tmp" % t.pid)
             if x.startswith("peeka-%d-" % t.pid)]
    if len(socks) != 1:
        fail("agent sockets: %r" % socks)
        return
    code = ("import os,socket,sys\nos.setgid(65534)\nos.setuid(65534)\n"
            "s=socket.socket(socket.AF_UNIX)\n"
            "try:\n s.connect(sys.argv[1])\nexcept OSError as e:\n"
            " print('refused', e.errno)\nelse:\n print('connected')\n")
    r = subprocess.run([sys.executable, "-c", code, socks[0]],
                       capture_output=True, text=True, timeout=20)
    if not r.stdout.startswith("refused"):
        fail("another user reached the agent: %r %r" % (r.stdout, r.stderr))


def run_all():
    t = Target("loop")
    try:
        before = t.status()
        d = attach(t, method=expected_method("loop"))
        if d and d.get("reused"):
            fail("first attach says reused")
        d = attach(t)
        if d and not d.get("reused"):
            fail("second attach did not reuse the agent")
        st = t.status()
        if not st["marker"] or not st["main_names_same"]:
            fail("while attached: %r" % st)
        check_other_user(t)
        check_watches(t, t.truth["main_id"], "MainThread")
        check_pretty(t)
        check_stop_and_reset(t)
        check_detach(t, before)
        # A new attach works, and detach again.
        attach(t, method=expected_method("loop"))
        obs, _, _ = watch("__main__.compute", "-n", "1")
        if len(obs) != 1:
            fail("watch after re-attach: %r" % obs)
        peeka("detach")
    finally:
        t.finish()

    # The main thread blocked in C (sleep, accept): a worker runs Python.
    for mode in ("sleep", "accept"):
        t = Target(mode)
        try:
            attach(t, method=expected_method(mode))
            obs, _, _ = watch("__main__.compute", "-n", "2", "--pid",
                              str(t.pid))
            if len(obs) != 2 or any(
                    o["data"]["thread_id"] != t.truth["worker_id"] or
                    o["data"]["thread_name"] != "worker" for o in obs):
                fail("%s: watch %r" % (mode, obs))
            peeka("detach", "--pid", str(t.pid))
            if t.status()["marker"]:
                fail("%s: marker after detach" % mode)
        finally:
            t.finish()

    # A target running as another user than peeka (root): its files are
    # its user's, and everything works and goes away.  Only interpreters
    # that user can run (not those under /root).
    if os.geteuid() == 0 and not LAUNCHER.startswith("/root/"):
        t = Target("loop", uid=65534)
        try:
            attach(t, method=expected_method("loop"))
            dirs = [os.path.join("/proc/%d/root/tmp" % t.pid, x)
                    for x in os.listdir("/proc/%d/root/tmp" % t.pid)
                    if x.startswith("peeka-%d-" % t.pid)]
            owners = {os.stat(os.path.join(d, f)).st_uid
                      for d in dirs for f in os.listdir(d) + [""]}
            if len(dirs) != 1 or owners != {65534}:
                fail("files of a uid 65534 target: %r owned by %r" % (
                    dirs, owners))
            obs, _, _ = watch("__main__.compute", "-n", "1")
            if len(obs) != 1:
                fail("uid 65534 target: watch %r" % obs)
            peeka("detach")
            if any(x.startswith("peeka-%d-" % t.pid)
                   for x in os.listdir("/proc/%d/root/tmp" % t.pid)):
                fail("uid 65534 target: files left after detach")
        finally:
            t.finish()

    if V >= (3, 14):
        env = dict(os.environ, PYTHON_DISABLE_REMOTE_DEBUG="1")
        t = Target("loop", env=env)
        try:
            r = peeka("attach", str(t.pid), want=1)
            errs = [x for x in r.stderr.splitlines()
                    if x.startswith("error:")]
            if len(errs) != 1 or "PYTHON_DISABLE_REMOTE_DEBUG" not in errs[0] \
                    or "--force-ptrace" not in errs[0]:
                fail("disabled remote debug: %r" % r.stderr)
            attach(t, "--force-ptrace",
                   method=expected_method("loop", forced=True))
            obs, _, _ = watch("__main__.compute", "-n", "1")
            if len(obs) != 1:
                fail("--force-ptrace: watch %r" % obs)
            peeka("detach")
        finally:
            t.finish()


STEPS = ("stopped", "saved", "syscall", "call", "restore")


def traced_or_stopped(pid):
    bad = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            s = f.read()
        if "TracerPid:\t0\n" not in s or "\nState:\tt" in s or \
                "\nState:\tT" in s:
            bad.append(tid)
    return bad


def run_kill():
    t = Target("loop")
    extra = ["--force-ptrace"] if V >= (3, 14) else []
    try:
        initial = t.status()["tasks"]
        for i in range(50):
            step = STEPS[i % len(STEPS)]
            env = dict(ENV, PEEKA_TEST_KILL_AT=step)
            r = peeka("attach", str(t.pid), *extra, want=None, env=env)
            if r.returncode != -signal.SIGKILL:
                fail("iteration %d: peeka was not killed at %s: %d %s" % (
                    i, step, r.returncode, r.stderr))
            # The injecting child finishes alone; the agent comes up.
            wait_until(lambda: not traced_or_stopped(t.pid), 5)
            bad = traced_or_stopped(t.pid)
            if bad or t.p.poll() is not None:
                fail("iteration %d (%s): target %s, threads traced or "
                     "stopped: %r" % (i, step, t.p.poll(), bad))
                break
            # Clean up whatever got in, so that the next round injects.
            wait_until(lambda: peeka("detach", "--pid", str(t.pid),
                                     want=None).returncode == 0, 5, 0.05)
        st = t.status()
        if not all(st["identity"].values()) or st["marker"]:
            fail("after the kills: %r" % st)
        ticks = sum(1 for x in t.lines if x.startswith("tick"))
        # Every agent's thread ends; the target goes on.
        st = wait_until(lambda: (lambda s: s if s["tasks"] == initial
                                 else None)(t.status()), 5) or t.status()
        if st["tasks"] != initial:
            fail("threads left: %r, at the start %r" % (st["tasks"], initial))
        time.sleep(0.8)
        t.status()
        if sum(1 for x in t.lines if x.startswith("tick")) <= ticks:
            fail("the target stopped making progress")
    finally:
        t.finish()


try:
    run_kill() if WHAT == "kill" else run_all()
finally:
    import shutil
    shutil.rmtree(STATE, ignore_errors=True)
print("%s %s: %d peeka runs" % (MINOR, WHAT, RUNS[0]), file=sys.stderr)
finish()
