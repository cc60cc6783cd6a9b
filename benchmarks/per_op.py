"""Where the time of the CNN's inference goes, per primitive op; and the layers of the models
people write, each op next to PyTorch's.

    python benchmarks/per_op.py [--batch 64] [--calls 40] [--torch]
    python benchmarks/per_op.py --models [lenet5 vgg vgg_bn resnet] [--batch 64] [--rounds R]

Every primitive's forward is timed by wrapping `Function.apply`; the table gives milliseconds
per inference for each op type and how many calls of it one inference makes, next to the whole
inference. Calls run back to back after warm-up.

`--torch` adds a second table: each primitive of one inference run on its own, on the arrays it
received in the model, ours next to PyTorch's equivalent op on the same arrays (conv2d,
threshold as a broadcast add, sigmoid, avg_pool2d; both libraries with all threads), timed
like bench_zhang.py (`timing.interleaved`, `--rounds` rounds, medians), summed per op type.

`--models`: the inputs of every relu, max_pool2d and batch_norm layer of each model
(benchmarks/model_zoo.py, one training forward pass at `--batch`) and its logits are captured;
then each op runs forward and backward (a random cotangent; batch norm in training mode,
cross_entropy of class labels) on those arrays, ours and PyTorch's, interleaved; milliseconds
per train step, summed per op type over the model's layers.
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


def model_activations(name: str, n: int) -> dict[str, list[np.ndarray]]:
    """{op: [input array of each layer of that kind]} of one training forward pass of model `name`."""
    from model_zoo import build, make_batch
    model = build(name, tg.nn, rng=0)
    found: dict[str, list[np.ndarray]] = collections.defaultdict(list)
    kinds = {"ReLU": "relu", "MaxPool2d": "max_pool2d", "BatchNorm2d": "batch_norm"}
    for module in model.modules():
        kind = kinds.get(type(module).__name__)
        if kind is not None:
            module.register_forward_hook(lambda m, args, out, kind=kind: found[kind].append(args[0].data.copy()))
    x, _ = make_batch(name, n)
    found["cross_entropy"].append(model(x).data.copy())
    return found


def layer_op(kind: str, x: np.ndarray, library: str) -> Callable[[], object]:
    """Forward and backward of one op on x (a fresh leaf each call), in our library or PyTorch; the
    gradient returned by grad() (not accumulated into the leaf)."""
    out_shape = x.shape[:1] if kind == "cross_entropy" else x.shape
    if kind == "max_pool2d":
        out_shape = x.shape[:2] + (x.shape[2] // 2, x.shape[3] // 2)
    g = np.random.default_rng(1).standard_normal(out_shape)
    labels = np.random.default_rng(2).integers(0, x.shape[-1], x.shape[0])
    if library == "torch":
        import torch
        F = torch.nn.functional
        tx, tg_, ty = torch.from_numpy(x), torch.from_numpy(g.astype(x.dtype)), torch.from_numpy(labels)
        bn = torch.nn.BatchNorm2d(x.shape[1]) if kind == "batch_norm" else None
        ops = {"relu": torch.relu, "max_pool2d": lambda t: F.max_pool2d(t, 2), "batch_norm": bn,
               "cross_entropy": lambda t: F.cross_entropy(t, ty)}

        def theirs() -> None:
            leaf = tx.detach().requires_grad_()
            out = ops[kind](leaf)
            torch.autograd.grad(out, [leaf], None if kind == "cross_entropy" else tg_)
        return theirs
    bn_ours = tg.nn.BatchNorm2d(x.shape[1]) if kind == "batch_norm" else None
    ours_ops = {"relu": lambda t: t.relu(), "max_pool2d": lambda t: tg.nn.functional.max_pool2d(t, 2),
                "batch_norm": bn_ours, "cross_entropy": lambda t: tg.nn.functional.cross_entropy(t, labels)}
    g32 = g.astype(x.dtype)

    def ours() -> None:
        leaf = tg.from_numpy(x).requires_grad_()  # shares x, as detach() does in PyTorch
        out = ours_ops[kind](leaf)
        tg.grad(out, [leaf], None if kind == "cross_entropy" else g32)
    return ours


def models_side_by_side(names: list[str], n: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """{model: {op: [our ms, PyTorch's ms] per train step}} (forward + backward of each layer)."""
    result: dict[str, dict[str, list[float]]] = {}
    for name in names:
        table: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
        for kind, arrays in model_activations(name, n).items():
            for x in arrays:
                times = interleaved({"ours": layer_op(kind, x, "ours"), "torch": layer_op(kind, x, "torch")},
                                    rounds=rounds, sample_seconds=0.02)
                table[kind][0] += times["ours"].median * 1e3
                table[kind][1] += times["torch"].median * 1e3
        result[name] = dict(table)
    return result


def main(argv: list[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--torch", action="store_true", help="also each op on its own next to PyTorch's")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per op with --torch")
    parser.add_argument("--models", nargs="*", default=None,
                        help="the layers of these models (all four if none named), ours next to PyTorch's")
    args = parser.parse_args(argv)
    if args.models is not None:
        from model_zoo import MODELS
        print("threads:", thread_settings())
        print(f"forward + backward of each layer at batch {args.batch}, ms per train step (ours / PyTorch, ratio)")
        for name, table in models_side_by_side(args.models or list(MODELS), args.batch, args.rounds).items():
            for kind, (ours, theirs) in table.items():
                print(f"{name:8} {kind:14} {ours:8.3f} / {theirs:8.3f}  ({ours / theirs:.2f})")
        return
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
