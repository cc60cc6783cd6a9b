"""conv2d forward + backward on common layer shapes, tinygrad_np against PyTorch CPU.

    python benchmarks/bench_conv.py [--rounds R] [--json]

Each shape: same input and weights in both libraries, gradients checked equal first, then
forward+backward (input, weight and bias gradients) timed in interleaved rounds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from timing import interleaved, thread_settings  # noqa: E402

import tinygrad_np as tg  # noqa: E402
from tinygrad_np.ops.conv_lowerings import choose_algorithm  # noqa: E402
from tinygrad_np.ops.conv_rows import use_rows  # noqa: E402
from tinygrad_np.ops.conv_shortcuts import use_flipped  # noqa: E402

# (name, input shape N C H W, weight shape F C/groups KH KW, stride, padding[, groups])
SHAPES = [
    ("zhang conv1 1->6 11x11 50x50, b64", (64, 1, 50, 50), (6, 1, 11, 11), 1, 0),
    ("zhang conv2 6->12 5x5 20x20, b64", (64, 6, 20, 20), (12, 6, 5, 5), 1, 0),
    ("3->32 3x3 32x32 pad1, b32", (32, 3, 32, 32), (32, 3, 3, 3), 1, 1),
    ("32->32 3x3 32x32 pad1, b32", (32, 32, 32, 32), (32, 32, 3, 3), 1, 1),
    ("32->64 3x3 32x32 pad1, b32", (32, 32, 32, 32), (64, 32, 3, 3), 1, 1),
    ("64->64 3x3 32x32 pad1, b32", (32, 64, 32, 32), (64, 64, 3, 3), 1, 1),
    ("3->32 3x3 16x16 pad1, b32", (32, 3, 16, 16), (32, 3, 3, 3), 1, 1),
    ("32->32 3x3 16x16 pad1, b32", (32, 32, 16, 16), (32, 32, 3, 3), 1, 1),
    ("32->64 3x3 16x16 pad1, b32", (32, 32, 16, 16), (64, 32, 3, 3), 1, 1),
    ("64->64 3x3 16x16 pad1, b32", (32, 64, 16, 16), (64, 64, 3, 3), 1, 1),
    ("16->32 3x3 32x32 stride2 pad1, b32", (32, 16, 32, 32), (32, 16, 3, 3), 2, 1),
    ("32->64 1x1 16x16, b32", (32, 32, 16, 16), (64, 32, 1, 1), 1, 0),
    ("32 depthwise 3x3 32x32 pad1, b32", (32, 32, 32, 32), (32, 1, 3, 3), 1, 1, 32),
]


def lowering_names(x_shape, w_shape, out_shape, stride: int, padding: int, groups: int = 1) -> str:
    """How each pass runs: 'fwd band10, dx im2col, ...' (flipped: the input gradient as a
    convolution with the flipped kernel, itself lowered as named; rows: conv_rows.py; matmul:
    1x1; depthwise)."""
    if groups > 1:
        return "fwd depthwise, dx depthwise, dw depthwise" if groups == x_shape[1] else f"{groups} groups"
    if w_shape[2] == w_shape[3] == 1:
        return "fwd matmul, dx matmul, dw matmul"
    xp_shape = (x_shape[0], x_shape[1], x_shape[2] + 2 * padding, x_shape[3] + 2 * padding)
    chosen = []
    for pass_name, short in (("forward", "fwd"), ("input_grad", "dx"), ("weight_grad", "dw")):
        if pass_name == "forward" and use_rows(xp_shape, w_shape, (stride, stride), (1, 1), out_shape[2:]):
            chosen.append("fwd rows")
            continue
        if pass_name == "input_grad" and use_flipped(out_shape, w_shape, xp_shape, (stride, stride),
                                                     (padding, padding), (1, 1), 1):
            qp = w_shape[2] - 1 - padding
            gp_shape = (out_shape[0], out_shape[1], out_shape[2] + 2 * qp, out_shape[3] + 2 * qp)
            flipped = (w_shape[1], w_shape[0], w_shape[2], w_shape[3])
            algorithm, block = choose_algorithm(gp_shape, flipped, (1, 1), x_shape[2:], "forward")
            if use_rows(gp_shape, flipped, (1, 1), (1, 1), x_shape[2:]):
                algorithm, block = "rows", 0
            chosen.append(f"dx flipped-{algorithm}" + (f"{block}" if block else ""))
            continue
        algorithm, block = choose_algorithm(xp_shape, w_shape, (stride, stride), out_shape[2:], pass_name)
        chosen.append(f"{short} {algorithm}" + (f"{block}" if block else ""))
    return ", ".join(chosen)


def bench_shape(name: str, x_shape, w_shape, stride: int, padding: int, groups: int = 1, *,
                rounds: int) -> dict[str, object]:
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) * 0.1).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)

    def ours():
        xt, wt, bt = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
        out = tg.conv2d(xt, wt, bt, stride=stride, padding=padding, groups=groups)
        out.backward(grad_out)
        return out, xt.grad, wt.grad, bt.grad

    def theirs():
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        out = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding, groups=groups)
        out.backward(torch.from_numpy(grad_out))
        return out, xt.grad, wt.grad, bt.grad

    with tg.no_grad():
        out_shape = tg.conv2d(x, w, b, stride=stride, padding=padding, groups=groups).shape
    grad_out = rng.standard_normal(out_shape).astype(np.float32)
    for mine, ref, what in zip(ours(), theirs(), ("output", "input grad", "weight grad", "bias grad"), strict=False):
        ref = ref.detach().numpy()
        mine = mine.data if hasattr(mine, "data") and not isinstance(mine, np.ndarray) else mine
        scale = np.abs(ref).max() + 1e-12
        if np.abs(mine - ref).max() / scale > 1e-4:
            error = np.abs(mine - ref).max() / scale
            raise SystemExit(f"{name}: {what} differs from PyTorch by {error:.2e} (relative)")
    timings = interleaved({"tinygrad_np": ours, "torch": theirs}, rounds=rounds)
    return {
        "shape": name, "algorithm": lowering_names(x_shape, w_shape, out_shape, stride, padding, groups),
        "tinygrad_np_ms": timings["tinygrad_np"].median * 1e3, "torch_ms": timings["torch"].median * 1e3,
        "ratio": timings["tinygrad_np"].median / timings["torch"].median,
    }


def main(argv: list[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit('PyTorch is needed: pip install -e ".[bench]"') from None
    rows = [bench_shape(*shape, rounds=args.rounds) for shape in SHAPES]
    if args.json:
        print(json.dumps({"threads": thread_settings(), "results": rows}, indent=2))
        return
    print("threads:", thread_settings())
    print(f"{'layer (forward + backward)':40} {'lowering per pass':48} {'ours ms':>9} {'torch ms':>9} {'ratio':>6}")
    for r in rows:
        print(f"{r['shape']:40} {r['algorithm']:48} {r['tinygrad_np_ms']:9.2f} {r['torch_ms']:9.2f} {r['ratio']:6.2f}")


if __name__ == "__main__":
    main()
