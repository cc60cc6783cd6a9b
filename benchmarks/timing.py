"""Interleaved timing: candidates run in alternating rounds so machine noise hits all alike,
each sample after a pause that lets the other library's worker threads go to sleep."""
from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Timing:
    """Seconds per call over the measured rounds."""
    samples: list[float]

    @property
    def median(self) -> float:
        return float(np.median(self.samples))

    @property
    def min(self) -> float:
        return float(np.min(self.samples))

    @property
    def max(self) -> float:
        return float(np.max(self.samples))


def interleaved(candidates: dict[str, Callable[[], object]], rounds: int = 20, warmup: int = 3,
                sample_seconds: float = 0.05, cooldown_seconds: float = 0.3,
                rewarm_seconds: float = 0.05) -> dict[str, Timing]:
    """Time each candidate once per round, alternating the order, after `warmup` calls each.

    One sample is the mean of enough back-to-back calls to last about `sample_seconds`.
    Before each sample the process sleeps `cooldown_seconds`: OpenBLAS's worker threads keep
    spinning for about 0.1 s after a GEMM and OpenMP's for a while after a parallel region,
    and without the pause one library's spinning threads take a core from the other's sample
    (measured on the CNN at batch 64: PyTorch's inference 17.7 ms right after ours, 9.5 ms
    after a 0.3 s pause). After the pause the candidate runs untimed for `rewarm_seconds`
    (at least one call): the first calls after an idle pause are slower than the steady state
    of back-to-back calls that a training loop sees (benchmarks/after_idle.py, batch-64
    inference: ours 18-20 ms for the first three calls, then 12.6-13.1 ms; PyTorch's 11.3 ms for
    the first, then 9.4-9.6 ms).
    """
    calls: dict[str, int] = {}
    for name, fn in candidates.items():
        start = time.perf_counter()
        for _ in range(warmup):
            fn()
        per_call = (time.perf_counter() - start) / max(warmup, 1)
        calls[name] = max(1, int(sample_seconds / max(per_call, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            fn, k = candidates[name], calls[name]
            time.sleep(cooldown_seconds)
            for _ in range(max(1, round(k * rewarm_seconds / sample_seconds))):
                fn()
            start = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - start) / k)
    return {name: Timing(s) for name, s in samples.items()}


def thread_settings() -> dict[str, object]:
    """What decides how many threads each library uses, for printing next to results."""
    info: dict[str, object] = {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TINYGRAD_NP_NUM_THREADS"):
        info[var] = os.environ.get(var, "unset")
    from tinygrad_np.ops import parallel
    info["tinygrad_np_threads"] = parallel.num_threads()
    try:
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch"] = "not installed"
    return info


def peak_memory_added_mib(step: Callable[[], object]) -> float:
    """The peak resident memory (MiB) that one call of `step` adds to this process (Linux: the
    peak, VmHWM, is reset to the current RSS first). Meant for a fresh process per library."""

    def status(field: str) -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS")
    step()
    return (status("VmHWM") - before) / 1024
