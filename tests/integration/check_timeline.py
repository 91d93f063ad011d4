#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks on peeka's time-ordered outputs (run with Debian's /usr/bin/python3,
which has python3-jsonschema).

  check_timeline.py speedscope FILE SCHEMA THREAD FUNCTION
      FILE validates against speedscope's published JSON schema (SCHEMA);
      frames are unique; every profile has as many weights as samples and
      only valid frame indices; a profile named 'Thread <id> "THREAD"'
      exists and FUNCTION is the innermost frame of most of its samples.
  check_timeline.py chrome FILE THREAD FUNCTION [--cut]
      FILE is a JSON array of trace events (with --cut: one whose closing
      bracket may be missing, as a killed peeka leaves it, read the way
      speedscope reads it); it has process_name and thread_name metadata,
      THREAD is named, per track the B/E events nest (each E closes the
      innermost open B of its name), times never go back, every B is
      closed (unless --cut), and FUNCTION opens on THREAD's track.

  check_timeline.py pprof FILE FUNCTION
      `go tool pprof -raw` reads FILE (gzip'd profile.proto) and finds
      samples with thread labels, and the first row of `go tool pprof -top`
      (the hottest function by its own samples) is FUNCTION.

Exit 0 when the check passes, 1 (with one line per problem) otherwise.
"""
import json
import subprocess
import sys


def speedscope(path, schema_path, thread, function):
    import jsonschema

    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    problems = []
    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError as e:
        problems.append("schema: %s at %s" % (e.message[:200], list(e.absolute_path)[:6]))
    frames = doc.get("shared", {}).get("frames", [])
    keys = [(f.get("name"), f.get("file"), f.get("line")) for f in frames]
    if len(set(keys)) != len(keys):
        problems.append("duplicate frames in shared.frames")
    named = None
    for p in doc.get("profiles", []):
        if len(p["samples"]) != len(p["weights"]):
            problems.append("%s: %d samples, %d weights" % (p["name"], len(p["samples"]), len(p["weights"])))
        for s in p["samples"]:
            if any(not 0 <= i < len(frames) for i in s):
                problems.append("%s: frame index out of range" % p["name"])
                break
        if p["name"].endswith('"%s"' % thread) and p["name"].startswith("Thread "):
            named = p
    if named is None:
        problems.append("no profile for thread %r: %s" % (thread, [p["name"] for p in doc.get("profiles", [])]))
    else:
        leaf = [frames[s[-1]]["name"] for s in named["samples"] if s]
        hits = sum(1 for n in leaf if n == function)
        if not leaf or hits * 2 < len(leaf):
            problems.append("%s is the leaf of %d of %d samples of %s" % (function, hits, len(leaf), thread))
    return problems


def chrome(path, thread, function, cut):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    problems = []
    if cut:
        # speedscope's permissive reading: drop a trailing comma, close the array.
        body = text.rstrip()
        if body.endswith(","):
            body = body[:-1]
        if not body.endswith("]"):
            body += "]"
        text = body
    events = json.loads(text)
    if not isinstance(events, list) or not events:
        return ["not a non-empty JSON array"]
    procs = [e for e in events if e.get("ph") == "M" and e.get("name") == "process_name"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    if not procs:
        problems.append("no process_name metadata")
    tids = [k for k, v in names.items() if v == thread]
    if not tids:
        problems.append("no thread_name %r (have %s)" % (thread, sorted(set(names.values()))))
    be = [e for e in events if e.get("ph") in ("B", "E")]
    tracks = {}
    for e in be:
        if e["ts"] < 0:
            problems.append("negative ts in %r" % e)
            break
        st = tracks.setdefault((e["pid"], e["tid"]), [[], -1])
        if e["ts"] < st[1]:
            problems.append("time goes back on %s: %r" % ((e["pid"], e["tid"]), e))
            break
        st[1] = e["ts"]
        if e["ph"] == "B":
            st[0].append(e["name"])
        elif not st[0] or st[0].pop() != e["name"]:
            problems.append("E without its B on %s: %r" % ((e["pid"], e["tid"]), e))
            break
    if not cut:
        for track, st in tracks.items():
            if st[0]:
                problems.append("%d frames never closed on %s" % (len(st[0]), track))
    if tids and not any(e["ph"] == "B" and e["name"] == function and (e["pid"], e["tid"]) in tids for e in be):
        problems.append("no B event %r on thread %r" % (function, thread))
    return problems


def pprof(path, function):
    problems = []
    raw = subprocess.run(["go", "tool", "pprof", "-raw", path],
                         capture_output=True, text=True, timeout=120)
    if raw.returncode != 0:
        return ["go tool pprof -raw failed: %s" % raw.stderr.strip()[:300]]
    if "samples/count cpu/nanoseconds" not in raw.stdout:
        problems.append("no samples/count cpu/nanoseconds sample types")
    if "thread_name:[" not in raw.stdout or "thread_id:[" not in raw.stdout:
        problems.append("no thread labels")
    top = subprocess.run(["go", "tool", "pprof", "-top", path],
                         capture_output=True, text=True, timeout=120)
    if top.returncode != 0:
        return problems + ["go tool pprof -top failed: %s" % top.stderr.strip()[:300]]
    lines = top.stdout.splitlines()
    rows = [l for l in lines[lines.index(next(l for l in lines if l.strip().startswith("flat"))) + 1:] if l.strip()] \
        if any(l.strip().startswith("flat") for l in lines) else []
    if not rows:
        problems.append("no rows in go tool pprof -top:\n" + top.stdout[:500])
    elif rows[0].split()[-1] != function:
        problems.append("hottest function is %r, expected %r" % (rows[0].split()[-1], function))
    return problems


def main(argv):
    if len(argv) >= 6 and argv[1] == "speedscope":
        problems = speedscope(argv[2], argv[3], argv[4], argv[5])
    elif len(argv) >= 4 and argv[1] == "pprof":
        problems = pprof(argv[2], argv[3])
    elif len(argv) >= 5 and argv[1] == "chrome":
        problems = chrome(argv[2], argv[3], argv[4], "--cut" in argv[5:])
    else:
        print(__doc__)
        return 2
    for p in problems[:20]:
        print("problem: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
