"""bench target: a fixed, deterministic, CPU-bound job that times itself.

Usage: python fixed_work.py [SCALE]

Runs the same pure-Python work every time (SCALE, default 1.0, multiplies
the number of rounds; 1.0 takes ~2-3 s on CPython 3.11), then prints
"elapsed SECONDS checksum N" on stdout. Only the work is timed, not the
interpreter's start-up. Standard library only, CPython 3.8 - 3.14.
"""

import sys
import time

ROUNDS = 560


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def sieve(limit):
    flags = [True] * limit
    flags[0] = flags[1] = False
    for i in range(2, int(limit ** 0.5) + 1):
        if flags[i]:
            for j in range(i * i, limit, i):
                flags[j] = False
    return sum(flags)


def mix(seed, n):
    acc = seed
    for i in range(n):
        acc = (acc * 1103515245 + 12345 + i) & 0x7FFFFFFF
    return acc


def one_round(r):
    return fib(18) + sieve(20000) + mix(r, 20000)


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rounds = max(1, int(ROUNDS * scale))
    t0 = time.perf_counter()
    checksum = 0
    for r in range(rounds):
        checksum = (checksum + one_round(r)) & 0xFFFFFFFF
    elapsed = time.perf_counter() - t0
    print("elapsed %.4f checksum %d" % (elapsed, checksum), flush=True)


if __name__ == "__main__":
    main()
