"""Each conv2d lowering timed on each pass, next to the cost model's estimate and choice.

    python benchmarks/bench_lowerings.py [--rounds R] [--batch-scale S] [--block B]

For the layer shapes of bench_conv.py (but the 1x1 and depthwise ones): forward, input gradient
and weight gradient, each by
the band lowering (at the block width `band_block_width` gives that pass) and by im2col, timed
in interleaved rounds (ours only, all threads); `--block B` times the band lowering with blocks
of at most B columns instead. The model (`pass_costs` in
tinygrad_np/ops/conv_lowerings.py) should pick the faster one; this is how it was fitted.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from bench_conv import SHAPES  # noqa: E402
from timing import interleaved, thread_settings  # noqa: E402

from tinygrad_np.ops import conv_lowerings as algo  # noqa: E402


def pass_functions(xp, w, g, stride: int, pass_name: str, block: int):
    """{lowering: callable} running one pass on the padded input xp."""
    s = stride
    oh, ow = g.shape[2:]
    if pass_name == "forward":
        return {"band": lambda: algo.band_forward(xp, w, s, s, oh, ow, block),
                "im2col": lambda: algo.im2col_forward(xp, w, s, s, oh, ow)}
    if pass_name == "input_grad":
        return {"band": lambda: algo.band_input_grad(g, w, xp.shape, s, s, block),
                "im2col": lambda: algo.im2col_input_grad(g, w, xp.shape, s, s)}
    return {"band": lambda: algo.band_weight_grad(xp, g, w.shape, s, s, block),
            "im2col": lambda: algo.im2col_weight_grad(xp, g, w.shape, s, s)}


def main(argv: list[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch-scale", type=float, default=1.0, help="multiply each layer's batch")
    parser.add_argument("--block", type=int, default=0, help="band blocks of at most this many columns")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print("threads:", thread_settings())
    print(f"{'layer':36} {'pass':11} {'band ms':>8} {'est':>6} {'im2col ms':>9} {'est':>6}  chosen"
          + (f" (band timed with blocks of at most {args.block})" if args.block else ""))
    # the layers that go through band or im2col (not the 1x1 and depthwise ones)
    for name, x_shape, w_shape, stride, padding in [s[:5] for s in SHAPES if len(s) == 5 and s[2][2] > 1]:
        n = max(1, round(x_shape[0] * args.batch_scale))
        x = rng.standard_normal((n,) + x_shape[1:]).astype(np.float32)
        w = (rng.standard_normal(w_shape) * 0.1).astype(np.float32)
        xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        oh, ow = (xp.shape[2] - w_shape[2]) // stride + 1, (xp.shape[3] - w_shape[3]) // stride + 1
        g = rng.standard_normal((n, w_shape[0], oh, ow)).astype(np.float32)
        for pass_name in algo.PASSES:
            block = algo.band_block_width(ow, pass_name)
            if args.block:
                block = min(ow, args.block)
            times = interleaved(pass_functions(xp, w, g, stride, pass_name, block), rounds=args.rounds,
                                cooldown_seconds=0.05)
            estimate = algo.pass_costs(xp.shape, w.shape, (stride, stride), (oh, ow), pass_name)
            chosen = algo.choose_algorithm(xp.shape, w.shape, (stride, stride), (oh, ow), pass_name)[0]
            measured = {k: t.median * 1e3 for k, t in times.items()}
            verdict = "" if chosen == min(measured, key=measured.get) else "  (the other was faster)"
            print(f"{name[:36]:36} {pass_name:11} {measured['band']:8.2f} {estimate['band'] * 1e3:6.2f} "
                  f"{measured['im2col']:9.2f} {estimate['im2col'] * 1e3:6.2f}  {chosen}{verdict}")


if __name__ == "__main__":
    main()
