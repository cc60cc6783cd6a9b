"""What it costs to hand a slice of work to a helper thread and get it back (an empty task).

    python benchmarks/bench_dispatch.py [--calls 3000]

The hand-off alone, by tinygrad_np's worker (woken through a job queue) and by a
`concurrent.futures.ThreadPoolExecutor` (the calling thread runs its own empty slice in
between), and a whole `parallel.map_slices` call with two slices, which adds the bookkeeping
(lock, slicing, NumPy error state); median and 90th percentile in microseconds. This overhead
is why an op splits only above `MIN_SECONDS_PER_THREAD`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tinygrad_np.ops import parallel  # noqa: E402


def empty(part):
    return None


def microseconds(fn: Callable[[], object], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return [float(np.median(samples)) * 1e6, float(np.percentile(samples, 90)) * 1e6]


def main(argv: list[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args(argv)
    executor = ThreadPoolExecutor(max_workers=1)

    def with_executor():
        future = executor.submit(empty, 1)
        empty(0)
        future.result()

    with parallel.forced_split(2):
        worker = parallel._get_workers(1)[0]

        def with_worker():
            call = next(parallel._calls)
            worker.submit(call, empty, slice(1, 2), None)
            empty(0)
            worker.result(call)

        candidates = {"worker hand-off": with_worker, "executor hand-off": with_executor,
                      "map_slices": lambda: parallel.map_slices(2, 1.0, empty)}
        for fn in candidates.values():
            microseconds(fn, 200)  # warm-up
        for name, fn in candidates.items():
            median, p90 = microseconds(fn, args.calls)
            print(f"{name:20} median {median:6.1f} us, 90th percentile {p90:6.1f} us")


if __name__ == "__main__":
    main()
