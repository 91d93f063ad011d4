"""bench target: one thread, a Python stack of a chosen depth, spinning.

Usage: python deep.py DEPTH [TIMEOUT]

Recurses until the main thread's Python stack holds DEPTH frames (counting
<module> and the innermost one; DEPTH >= 4), prints READY on stdout, then
spins forever in pure Python in the innermost frame. The process ends itself
after TIMEOUT seconds (default 300) through SIGALRM's default action, so a
bench that dies cannot leave it running. CPython 3.8 - 3.14, stdlib only.
"""

import signal
import sys


def spin():
    x = 0
    while True:
        x = (x + 1) & 0xFFFF


def descend(n):
    if n > 0:
        return descend(n - 1)
    print("READY", flush=True)
    spin()


def main():
    depth = int(sys.argv[1])
    timeout = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    if depth < 4:
        sys.exit("deep.py: DEPTH must be at least 4")
    signal.alarm(timeout)
    sys.setrecursionlimit(max(1000, depth + 100))
    # <module> + main + (depth - 3) descend frames + spin == depth
    descend(depth - 4)


main()
