"""Where the time of the CNN's inference goes, per primitive op (ours only).

    python benchmarks/per_op.py [--batch 64] [--calls 40]

Every primitive's forward is timed by wrapping `Function.apply`; the table gives milliseconds
per inference for each op type and how many calls of it one inference makes, next to the whole
inference. Calls run back to back after warm-up.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_zhang import candidates  # noqa: E402
from timing import thread_settings  # noqa: E402

from tinygrad_np import autograd  # noqa: E402


def per_op_ms(fn, calls: int) -> Dict[str, List[float]]:
    """{op name: [ms per pass, calls per pass]} over `calls` passes, plus the whole pass."""
    spent: Dict[str, List[float]] = collections.defaultdict(lambda: [0.0, 0])
    original = autograd.Function.apply.__func__

    def timed_apply(cls, *inputs, **attrs):
        start = time.perf_counter()
        try:
            return original(cls, *inputs, **attrs)
        finally:
            entry = spent[cls.name()]
            entry[0] += time.perf_counter() - start
            entry[1] += 1

    autograd.Function.apply = classmethod(timed_apply)
    try:
        for _ in range(10):
            fn()
        spent.clear()
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        total = time.perf_counter() - start
    finally:
        autograd.Function.apply = classmethod(original)
    table = {name: [seconds * 1e3 / calls, count / calls] for name, (seconds, count) in spent.items()}
    table["(whole pass)"] = [total * 1e3 / calls, 1]
    return table


def main(argv: List[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args(argv)
    forward = candidates(args.batch)[0]
    table = per_op_ms(forward, args.calls)
    print("threads:", thread_settings())
    print(f"inference at batch {args.batch}, ms per pass")
    for name, (ms, count) in sorted(table.items(), key=lambda item: -item[1][0]):
        print(f"{name:16} {ms:8.2f}  ({count:g} calls)")


if __name__ == "__main__":
    main()
