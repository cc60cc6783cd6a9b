"""The exact GELU (x * Phi(x), through erf) and its tanh approximation: tinygrad_np against
PyTorch CPU, forward and backward, in one process, next to erf by `math.erf` element by element.

    python benchmarks/bench_gelu.py [--shape 64 64 16 16] [--rounds R] [--json]

Checks first that both GELUs and their gradients equal PyTorch's (float64, relative 1e-12),
then times, in interleaved rounds (timing.interleaved), in float32: our exact GELU forward +
backward, PyTorch's, the same for approximate="tanh", and the erf of the input by `math.erf`
per element (np.frompyfunc), which is how erf was computed before the vectorised one.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from timing import interleaved, thread_settings  # noqa: E402

import tinygrad_np as tg  # noqa: E402
from tinygrad_np import functional as F  # noqa: E402


def _check(torch: object, shape: tuple[int, ...]) -> float:
    """The worst relative difference to PyTorch of both GELUs and their gradients, in float64."""
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    worst = 0.0
    for approximate in ("none", "tanh"):
        ours = tg.Tensor(x, requires_grad=True, dtype=np.float64)
        y = F.gelu(ours, approximate=approximate)
        y.backward(g)
        theirs = torch.tensor(x, requires_grad=True)
        ty = torch.nn.functional.gelu(theirs, approximate=approximate)
        ty.backward(torch.tensor(g))
        for a, b in ((y.data, ty.detach().numpy()), (ours.grad, theirs.grad.numpy())):
            worst = max(worst, float(np.max(np.abs(a - b)) / np.max(np.abs(b))))
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs="+", default=[64, 64, 16, 16])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import torch

    shape = tuple(args.shape)
    worst = _check(torch, (4, 3, 5, 7))
    if worst > 1e-12:
        raise SystemExit(f"bench_gelu: GELU differs from PyTorch's by {worst:.1e} (relative)")
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    ours_x = tg.Tensor(x, requires_grad=True)
    theirs_x, theirs_g = torch.tensor(x, requires_grad=True), torch.tensor(g)
    elementwise_erf = np.frompyfunc(math.erf, 1, 1)

    def ours(approximate: str):
        return lambda: F.gelu(ours_x, approximate=approximate).backward(g)

    def theirs(approximate: str):
        return lambda: torch.nn.functional.gelu(theirs_x, approximate=approximate).backward(theirs_g)

    candidates = {"ours exact": ours("none"), "torch exact": theirs("none"),
                  "ours tanh": ours("tanh"), "torch tanh": theirs("tanh"),
                  "math.erf per element": lambda: elementwise_erf(x.astype(np.float64))}
    times = {name: t.median * 1e3 for name, t in interleaved(candidates, rounds=args.rounds, warmup=1).items()}
    result = {"shape": list(shape), "max_relative_difference": worst, "median_ms": times,
              "exact_ratio": times["ours exact"] / times["torch exact"],
              "tanh_ratio": times["ours tanh"] / times["torch tanh"], "threads": thread_settings()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"GELU forward + backward on {shape} float32 (worst difference to PyTorch in float64: {worst:.1e})")
    for name, ms in times.items():
        print(f"  {name:>22}: {ms:8.2f} ms")
    print(f"  ratio ours/torch: exact {result['exact_ratio']:.2f}, tanh {result['tanh_ratio']:.2f}")


if __name__ == "__main__":
    main()
