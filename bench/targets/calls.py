# SPDX-License-Identifier: Apache-2.0
"""A tight loop calling a trivial function, for bench/agent.sh: after
READY, one line per batch of N calls: when the batch ended
(time.monotonic()) and the nanoseconds per call."""
import sys
import time


def f(a, b):
    return a + b


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    print("READY", flush=True)
    while True:
        t0 = time.perf_counter_ns()
        for i in range(n):
            f(i, 1)
        t1 = time.perf_counter_ns()
        print("%.6f %.1f" % (time.monotonic(), (t1 - t0) / n), flush=True)


if __name__ == "__main__":
    main()
