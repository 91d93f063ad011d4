#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks on `peeka record` output, one mode per invocation.

  check_record.py collapsed FILE
      strict reader of the collapsed format: every line is
      "frame(;frame)* count", no empty frame, no ';' or control character
      in a frame, no frame that ends in " <digits>", lines sorted, counts
      positive integers.
  check_record.py svg FILE
      well-formed XML with an <svg> root and at least one frame group.
  check_record.py accuracy TRUTH.json FILE RATE
      the three work_* functions' shares of samples agree with the shares
      the fixture measured itself (3 percentage points), and the number of
      samples is within 10% of RATE x the fixture's wall time.
  check_record.py contains FILE REGEX [REGEX...]   every REGEX matches some line
  check_record.py lacks FILE REGEX [REGEX...]      no REGEX matches any line
  check_record.py allframes FILE REGEX     every frame (but thread roots) matches
  check_record.py total FILE MIN MAX       the counts add up to MIN..MAX

Exit 0 when the check passes, 1 (with one line per problem) otherwise.
"""
import json
import re
import sys
import xml.dom.minidom

LINE = re.compile(r"^(.+) ([1-9][0-9]*)$")
BAD_FRAME = re.compile(r"[;\x00-\x1f\x7f]| [0-9]+$|^$")


def parse(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stacks, problems = [], []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for i, line in enumerate(lines, 1):
        m = LINE.match(line)
        if not m:
            problems.append("line %d: not 'stack count': %r" % (i, line[:120]))
            continue
        frames = m.group(1).split(";")
        for fr in frames:
            if BAD_FRAME.search(fr):
                problems.append("line %d: bad frame %r" % (i, fr[:120]))
        stacks.append((frames, int(m.group(2))))
    if [l.encode() for l in lines] != sorted(l.encode() for l in lines):
        problems.append("lines are not sorted")
    if not stacks:
        problems.append("no stacks")
    return stacks, problems


def collapsed(path):
    return parse(path)[1]


def svg(path):
    try:
        doc = xml.dom.minidom.parse(path)
    except Exception as e:  # noqa: BLE001 - report any parser error
        return ["not well-formed XML: %s" % e]
    if doc.documentElement.tagName != "svg":
        return ["root element is %s" % doc.documentElement.tagName]
    if len(doc.getElementsByTagName("g")) < 2:
        return ["no frames"]
    return []


def accuracy(truth_path, path, rate):
    truth = json.load(open(truth_path))
    stacks, problems = parse(path)
    counts = {k: 0 for k in truth["shares"]}
    total = 0
    for frames, n in stacks:
        total += n
        names = [fr.split(" (")[0] for fr in frames]
        for k in counts:
            if k in names:
                counts[k] += n
    work = sum(counts.values())
    if not work:
        return problems + ["no samples in the work functions"]
    for k, want in truth["shares"].items():
        got = counts[k] / work
        if abs(got - want) > 0.03:
            problems.append("%s: %.1f%% of samples, measured %.1f%%"
                            % (k, 100 * got, 100 * want))
    expected = float(rate) * truth["wall"]
    if abs(total - expected) > 0.10 * expected:
        problems.append("%d samples, expected %.0f (rate x %.2f s)"
                        % (total, expected, truth["wall"]))
    print("accuracy: " + ", ".join("%s %.1f%% (measured %.1f%%)" % (
        k, 100 * counts[k] / work, 100 * truth["shares"][k])
        for k in counts) + "; %d samples, expected %.0f" % (total, expected))
    return problems


def matching(path, patterns, want):
    stacks, problems = parse(path)
    text = [";".join(f) for f, _ in stacks]
    for p in patterns:
        found = any(re.search(p, t) for t in text)
        if found != want:
            problems.append("%r %s" % (p, "never matches" if want else "matches"))
    return problems


def allframes(path, pattern):
    stacks, problems = parse(path)
    for frames, _ in stacks:
        for fr in frames:
            if not fr.startswith("thread ") and not re.search(pattern, fr):
                problems.append("frame %r does not match %r" % (fr, pattern))
                return problems
    return problems


def total(path, lo, hi):
    stacks, problems = parse(path)
    n = sum(c for _, c in stacks)
    if not int(lo) <= n <= int(hi):
        problems.append("%d samples, expected %s to %s" % (n, lo, hi))
    return problems


def main(argv):
    mode = argv[1]
    if mode == "collapsed":
        problems = collapsed(argv[2])
    elif mode == "svg":
        problems = svg(argv[2])
    elif mode == "accuracy":
        problems = accuracy(argv[2], argv[3], argv[4])
    elif mode in ("contains", "lacks"):
        problems = matching(argv[2], argv[3:], mode == "contains")
    elif mode == "allframes":
        problems = allframes(argv[2], argv[3])
    elif mode == "total":
        problems = total(argv[2], argv[3], argv[4])
    else:
        print(__doc__)
        return 2
    for p in problems[:20]:
        print("problem: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
