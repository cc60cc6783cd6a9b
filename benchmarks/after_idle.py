"""How long each call takes right after an idle pause: the CNN's inference, ours and PyTorch's.

    python benchmarks/after_idle.py [--batch 64] [--pause 0.3] [--calls 14] [--rounds 8]

Each round sleeps `pause` seconds, then times `calls` back-to-back calls one by one; the table
shows the median over the rounds for each call position. The first calls after a pause are
slower than the steady state (threads asleep, caches cold); bench_zhang.py therefore runs each
candidate untimed for a moment after its pause before timing it (benchmarks/timing.py).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_zhang import candidates  # noqa: E402
from timing import thread_settings  # noqa: E402


def per_call_ms(fn, pause: float, calls: int, rounds: int) -> list[float]:
    """Median milliseconds of the k-th call after a pause, for k = 1..calls."""
    for _ in range(5):
        fn()
    table = []
    for _ in range(rounds):
        time.sleep(pause)
        row = []
        for _ in range(calls):
            start = time.perf_counter()
            fn()
            row.append((time.perf_counter() - start) * 1e3)
        table.append(row)
    return list(np.median(table, axis=0))


def main(argv: list[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--pause", type=float, default=0.3)
    parser.add_argument("--calls", type=int, default=14)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    ours, theirs, _, _ = candidates(args.batch)
    print("threads:", thread_settings())
    print(f"inference at batch {args.batch}, ms per call after a {args.pause} s pause (call 1, 2, ...)")
    for name, fn in (("tinygrad_np", ours), ("torch", theirs)):
        times = per_call_ms(fn, args.pause, args.calls, args.rounds)
        print(f"{name:12}", " ".join(f"{t:6.2f}" for t in times))


if __name__ == "__main__":
    main()
