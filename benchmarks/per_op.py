"""Where the time of the CNN's inference goes, per primitive op.

    python benchmarks/per_op.py [--batch 64] [--calls 40] [--torch]

Every primitive's forward is timed by wrapping `Function.apply`; the table gives milliseconds
per inference for each op type and how many calls of it one inference makes, next to the whole
inference. Calls run back to back after warm-up.

`--torch` adds a second table: each primitive of one inference run on its own, on the arrays it
received in the model, ours next to PyTorch's equivalent op on the same arrays (conv2d,
threshold as a broadcast add, sigmoid, avg_pool2d; both libraries with all threads), timed
like bench_zhang.py (`timing.interleaved`, `--rounds` rounds, medians), summed per op type.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from bench_zhang import candidates  # noqa: E402
from timing import interleaved, thread_settings  # noqa: E402

import tinygrad_np as tg  # noqa: E402
from tinygrad_np.autograd import function as autograd  # noqa: E402


def per_op_ms(fn, calls: int) -> dict[str, list[float]]:
    """{op name: [ms per pass, calls per pass]} over `calls` passes, plus the whole pass."""
    spent: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
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


def captured_primitives(fn) -> list[tuple[type, tuple[np.ndarray, ...], dict]]:
    """(Function class, input arrays, attributes) of every primitive one call of fn runs."""
    calls: list[tuple[type, tuple[np.ndarray, ...], dict]] = []

    def record(ctx, out) -> None:
        calls.append((ctx.fn, tuple(p.data for p in ctx.parents), dict(ctx.attrs)))

    autograd._forward_hooks.append(record)
    try:
        fn()
    finally:
        autograd._forward_hooks.remove(record)
    return calls


def torch_equivalent(name: str, arrays: tuple[np.ndarray, ...], attrs: dict) -> Callable[[], object] | None:
    """PyTorch's op for one of our primitives on the same arrays, or None if not compared."""
    import torch
    import torch.nn.functional as F
    t = [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
    if name == "conv2d":
        return lambda: F.conv2d(t[0], t[1], t[2] if len(t) > 2 else None, stride=attrs["stride"],
                                padding=attrs["padding"])
    if name == "threshold":
        per_channel = t[1].view((1, -1) + (1,) * (t[0].dim() - 2))
        return lambda: t[0] + per_channel
    if name == "sigmoid":
        return lambda: torch.sigmoid(t[0])
    if name == "avg_pool2d":
        return lambda: F.avg_pool2d(t[0], attrs["kernel"], attrs["stride"])
    return None


def side_by_side(forward, rounds: int) -> dict[str, list[float]]:
    """{op name: [our ms, PyTorch's ms]} per inference, each primitive timed on its own."""
    import torch
    table: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    for fn_class, arrays, attrs in captured_primitives(forward):
        reference = torch_equivalent(fn_class.name(), arrays, attrs)
        if reference is None:
            continue
        inputs = [tg.Tensor(a) for a in arrays]
        with tg.no_grad(), torch.no_grad():
            def ours(fn_class=fn_class, inputs=inputs, attrs=attrs):
                return fn_class.apply(*inputs, **attrs)

            times = interleaved({"ours": ours, "torch": reference},
                                rounds=rounds, sample_seconds=0.02)
        entry = table[fn_class.name()]
        entry[0] += times["ours"].median * 1e3
        entry[1] += times["torch"].median * 1e3
    return table


def main(argv: list[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--torch", action="store_true", help="also each op on its own next to PyTorch's")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per op with --torch")
    args = parser.parse_args(argv)
    forward = candidates(args.batch)[0]
    table = per_op_ms(forward, args.calls)
    print("threads:", thread_settings())
    print(f"inference at batch {args.batch}, ms per pass")
    for name, (ms, count) in sorted(table.items(), key=lambda item: -item[1][0]):
        print(f"{name:16} {ms:8.2f}  ({count:g} calls)")
    if args.torch:
        print(f"each op on its own at batch {args.batch}, ms per inference (ours / PyTorch, ratio)")
        for name, (ours, theirs) in sorted(side_by_side(forward, args.rounds).items(), key=lambda item: -item[1][0]):
            print(f"{name:16} {ours:8.2f} / {theirs:8.2f}  ({ours / theirs:.2f})")


if __name__ == "__main__":
    main()
