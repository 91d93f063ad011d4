"""bench target: 8 threads, half spinning and half sleeping, moderate depths.

Usage: python threads8.py [TIMEOUT]

Starts 8 threads: 4 "busy" ones spin in pure Python at Python stack depths
12, 20, 28 and 36, and 4 "sleepy" ones loop on time.sleep(0.05) at depths
16, 24, 32 and 40 (so they are idle most of the time). Prints READY on
stdout once every thread has reached its depth; the main thread then
sleeps. The process ends itself after TIMEOUT seconds (default 300) via
SIGALRM's default action. CPython 3.8 - 3.14, stdlib only.
"""

import signal
import sys
import threading
import time

BUSY_DEPTHS = (12, 20, 28, 36)
SLEEPY_DEPTHS = (16, 24, 32, 40)


def spin():
    x = 0
    while True:
        x = (x + 1) & 0xFFFF


def doze():
    while True:
        time.sleep(0.05)


def descend(n, arrived, leaf):
    if n > 0:
        return descend(n - 1, arrived, leaf)
    arrived.release()
    leaf()


def main():
    timeout = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    signal.alarm(timeout)
    arrived = threading.Semaphore(0)
    jobs = [(d, spin, "busy-%d" % d) for d in BUSY_DEPTHS]
    jobs += [(d, doze, "sleepy-%d" % d) for d in SLEEPY_DEPTHS]
    for depth, leaf, name in jobs:
        # _bootstrap, _bootstrap_inner, run + descend frames + leaf == depth
        t = threading.Thread(target=descend, name=name,
                             args=(depth - 5, arrived, leaf), daemon=True)
        t.start()
    for _ in jobs:
        arrived.acquire()
    print("READY", flush=True)
    while True:
        time.sleep(1)


main()
