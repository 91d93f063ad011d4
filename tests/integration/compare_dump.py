#!/usr/bin/env python3
"""Compare `peeka dump --json` output with the truth a fixture wrote.

Usage: python3 compare_dump.py TRUTH.json DUMP.json [--pid-ns HOSTPID]

--pid-ns: the target ran in another PID namespace as HOSTPID (as seen from
here); the truth's pid and native ids are the inner ones, and are translated
with the NSpid lines of /proc/HOSTPID/task/*/status before comparing.

TRUTH.json is written by fixtures/threads_fixture.py; DUMP.json is peeka's
output ({"pid", "python": {"version", ...}, "threads": [{"thread_id",
"native_id", "name", "active", "gil", "frames": [{"function", "file",
"line"}, ...]}]}).

Checks: same pid and Python version; every truth thread present (by
thread_id) with the same native_id and name; the frames of every thread that
is not busy equal exactly (function, file, line, count, order); blocked
threads inactive, the busy thread active; at most one GIL holder, and only
the busy thread may hold it; no thread in the dump that is neither in the
truth nor in excluded_idents.

Prints one line per mismatch and exits 1 on any, 2 on unusable input, and
prints "ok: N threads, M frames matched" otherwise. Runs on Python 3.8+.
"""

import json
import sys

MAX_FRAME_LINES = 20   # per thread, so a 150-frame mismatch stays readable


def load(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        sys.stderr.write("compare_dump: cannot read %s %s: %s\n"
                         % (what, path, e))
        sys.exit(2)


def translate_namespace(truth, host_pid):
    """Rewrite the truth's inner pid and thread ids as seen from here."""
    import glob
    inner_to_host = {}
    for status in glob.glob("/proc/%d/task/*/status" % host_pid):
        with open(status) as f:
            for line in f:
                if line.startswith("NSpid:"):
                    ids = [int(x) for x in line.split()[1:]]
                    inner_to_host[ids[-1]] = ids[0]
    truth["pid"] = host_pid
    for t in truth["threads"]:
        t["native_id"] = inner_to_host.get(t["native_id"], t["native_id"])


def show_frame(frame):
    if not isinstance(frame, dict):
        return repr(frame)
    return "%s (%s:%s)" % (frame.get("function"), frame.get("file"),
                           frame.get("line"))


def same_frame(want, got):
    keys = ("function", "file", "line")
    return isinstance(got, dict) and all(got.get(k) == want[k] for k in keys)


class Comparison(object):
    def __init__(self):
        self.errors = 0
        self.transient = 0   # the busy thread caught between GIL turns

    def fail(self, message):
        self.errors += 1
        print("mismatch: " + message)

    def header(self, truth, dump):
        if dump.get("pid") != truth["pid"]:
            self.fail("pid: expected %r, got %r"
                      % (truth["pid"], dump.get("pid")))
        python = dump.get("python")
        version = python.get("version") if isinstance(python, dict) else None
        if version != truth["version"]:
            self.fail("python.version: expected %r, got %r"
                      % (truth["version"], version))

    def frames(self, label, want, got):
        """Compare two frame lists; returns the number of frames matched."""
        if not isinstance(got, list):
            self.fail("%s: frames: expected a list of %d frames, got %r"
                      % (label, len(want), got))
            return 0
        if len(got) != len(want):
            self.fail("%s: frame count: expected %d, got %d"
                      % (label, len(want), len(got)))
        shown = matched = 0
        for i in range(max(len(want), len(got))):
            w = want[i] if i < len(want) else None
            g = got[i] if i < len(got) else None
            if w is not None and same_frame(w, g):
                matched += 1
                continue
            shown += 1
            if shown <= MAX_FRAME_LINES:
                self.fail("%s: frame %d: expected %s, got %s"
                          % (label, i, "nothing" if w is None
                             else show_frame(w),
                             "nothing" if g is None else show_frame(g)))
        if shown > MAX_FRAME_LINES:
            self.fail("%s: ... and %d more frame mismatches"
                      % (label, shown - MAX_FRAME_LINES))
        return matched

    def thread(self, want, got):
        label = "thread %r (id %d)" % (want["name"], want["thread_id"])
        for key in ("native_id", "name"):
            if got.get(key) != want[key]:
                self.fail("%s: %s: expected %r, got %r"
                          % (label, key, want[key], got.get(key)))
        active = got.get("active")
        if want["busy"] and active is not True:
            self.transient += 1
            self.fail("%s: active: expected true (busy thread), got %r"
                      % (label, active))
        if not want["busy"] and active is not False:
            self.fail("%s: active: expected false (blocked thread), got %r"
                      % (label, active))
        if want["busy"]:
            return 0
        return self.frames(label, want["frames"], got.get("frames"))

    def gil(self, truth, got_threads):
        busy = set(t["thread_id"] for t in truth["threads"] if t["busy"])
        holders = [t for t in got_threads if t.get("gil") is True]
        if len(holders) > 1:
            names = ["%r (id %r)" % (t.get("name"), t.get("thread_id"))
                     for t in holders]
            self.fail("gil: %d threads hold it: %s"
                      % (len(holders), ", ".join(names)))
        for t in holders:
            if t.get("thread_id") not in busy:
                self.fail("gil: thread %r (id %r) holds it, but only the busy "
                          "thread may" % (t.get("name"), t.get("thread_id")))

    def run(self, truth, dump):
        self.header(truth, dump)
        got_threads = dump.get("threads")
        if not isinstance(got_threads, list):
            self.fail("threads: expected a list, got %r" % (got_threads,))
            return 0, 0
        got_threads = [t for t in got_threads if isinstance(t, dict)]
        by_id = {}
        for t in got_threads:
            if t.get("thread_id") in by_id:
                self.fail("thread_id %r reported twice" % t.get("thread_id"))
            by_id[t.get("thread_id")] = t
        threads = frames = 0
        for want in truth["threads"]:
            got = by_id.get(want["thread_id"])
            if got is None:
                self.fail("thread %r (id %d): missing from the dump"
                          % (want["name"], want["thread_id"]))
                continue
            threads += 1
            frames += self.thread(want, got)
        known = set(t["thread_id"] for t in truth["threads"])
        known.update(truth.get("excluded_idents", []))
        for t in got_threads:
            if t.get("thread_id") not in known:
                self.fail("thread %r (id %r): in the dump but not in the truth"
                          % (t.get("name"), t.get("thread_id")))
        self.gil(truth, got_threads)
        return threads, frames


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) == 5 and argv[3] == "--pid-ns":
        host_pid = int(argv[4])
    elif len(argv) == 3:
        host_pid = None
    else:
        sys.stderr.write("usage: compare_dump.py TRUTH.json DUMP.json "
                         "[--pid-ns HOSTPID]\n")
        return 2
    truth = load(argv[1], "truth")
    if host_pid is not None:
        translate_namespace(truth, host_pid)
    dump = load(argv[2], "dump")
    if not isinstance(dump, dict):
        print("mismatch: the dump is not a JSON object")
        return 1
    comparison = Comparison()
    threads, frames = comparison.run(truth, dump)
    if comparison.errors:
        print("FAILED: %d mismatches" % comparison.errors)
        # Exit 3: the only problem is the spinning thread seen idle, which
        # happens when it waits for the GIL at that instant; callers retry.
        return 3 if comparison.errors == comparison.transient else 1
    print("ok: %d threads, %d frames matched" % (threads, frames))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
