"""Models people write (LeNet-5, a VGG-style stack, the same with batch norm and dropout, a ResNet
basic-block stack; benchmarks/model_zoo.py): tinygrad_np against PyTorch CPU in one process.

    python benchmarks/bench_models.py [--models ...] [--batches 16 64 256] [--rounds R] [--json] [--quick]

1. Checks, per model, that the cross-entropy loss and every parameter gradient equal PyTorch's
   for the same weights, in float64 (relative 1e-9) and in float32 (relative 1e-4), training
   mode (batch statistics; dropout at p = 0 for the check, its masks being random).
2. Times a train step (zero_grad, forward, cross_entropy, backward, SGD step; training mode,
   dropout active) and inference (eval mode, no_grad) per model and batch size, the libraries
   alternating in interleaved rounds (timing.interleaved).
3. Peak memory one batch-64 train step adds, each library and model in a fresh process.
`--quick`: one round, small batches, a smoke test.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from model_zoo import MODELS, build, make_batch, pair  # noqa: E402
from timing import interleaved, peak_memory_added_mib, thread_settings  # noqa: E402

import tinygrad_np as tg  # noqa: E402


def _set_dropout(model: Any, p: float) -> None:
    for m in model.modules():
        if type(m).__name__ == "Dropout":
            m.p = p


def check_equal_to_torch(name: str) -> dict[str, float]:
    """Worst relative difference of the loss and the parameter gradients, per dtype."""
    import torch
    worst: dict[str, float] = {}
    for dtype, tol in ((np.float64, 1e-9), (np.float32, 1e-4)):
        ours = build(name, tg.nn, rng=1, dtype=dtype)
        theirs = build(name, torch.nn).to(torch.float64 if dtype == np.float64 else torch.float32)
        theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
        for m in (ours, theirs):
            _set_dropout(m, 0.0)
        x, y = make_batch(name, 8, seed=3)
        x = x.astype(dtype)
        loss = tg.nn.functional.cross_entropy(ours(tg.Tensor(x, dtype=dtype)), y)
        loss.backward()
        t_loss = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(y))
        t_loss.backward()
        err = abs(float(loss.item()) - float(t_loss.item())) / max(abs(float(t_loss.item())), 1e-30)
        t_params = dict(theirs.named_parameters())
        for pname, p in ours.named_parameters():
            ref = t_params[pname].grad.numpy()
            err = max(err, float(np.abs(p.grad - ref).max() / (np.abs(ref).max() + 1e-30)))
        for bname, b in ours.named_buffers():  # running statistics after one training step
            ref = dict(theirs.named_buffers())[bname].numpy()
            err = max(err, float(np.abs(b.data - ref).max() / (np.abs(ref).max() + 1e-30)))
        if err > tol:
            raise SystemExit(f"{name} ({np.dtype(dtype).name}): loss or gradients differ from PyTorch: "
                             f"worst relative difference {err:.2e}")
        worst[np.dtype(dtype).name] = err
    return worst


def candidates(name: str, n: int) -> dict[str, Any]:
    """Our and PyTorch's train step and inference for model `name` at batch size n."""
    import torch
    ours, theirs = pair(name)
    x, y = make_batch(name, n)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = tg.optim.SGD(ours.parameters(), lr=0.01)
    t_opt = torch.optim.SGD(theirs.parameters(), lr=0.01)
    ours_eval, theirs_eval = build(name, tg.nn, rng=0).eval(), build(name, torch.nn).eval()
    theirs_eval.load_state_dict(theirs.state_dict())

    def ours_step() -> None:
        opt.zero_grad()
        tg.nn.functional.cross_entropy(ours(x), y).backward()
        opt.step()

    def torch_step() -> None:
        t_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(xt), yt).backward()
        t_opt.step()

    def ours_forward() -> None:
        with tg.no_grad():
            ours_eval(x)

    def torch_forward() -> None:
        with torch.no_grad():
            theirs_eval(xt)

    return {"ours_step": ours_step, "torch_step": torch_step, "ours_forward": ours_forward,
            "torch_forward": torch_forward}


def _memory_child(library: str, name: str, n: int) -> None:
    """In a fresh process: the peak RSS (MiB) the first train step adds (model, batch and both
    libraries loaded)."""
    step = candidates(name, n)["ours_step" if library == "tinygrad_np" else "torch_step"]
    print(peak_memory_added_mib(step))


def peak_memory(library: str, name: str, n: int) -> float:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", library, name, str(n)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _ms(t: Any) -> dict[str, float]:
    return {"median": t.median * 1e3, "min": t.min * 1e3, "max": t.max * 1e3}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--memory-batch", type=int, default=64)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="one round at batch 2 (a smoke test)")
    parser.add_argument("--memory-child", nargs=3, metavar=("LIBRARY", "MODEL", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child(args.memory_child[0], args.memory_child[1], int(args.memory_child[2]))
        return
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit('PyTorch is needed: pip install -e ".[bench]"') from None
    if args.quick:
        args.batches, args.rounds, args.memory_batch = [2], 1, 2
    result: dict[str, Any] = {"threads": thread_settings(), "models": {}}
    for name in args.models:
        entry: dict[str, Any] = {"max_relative_difference": check_equal_to_torch(name), "results": []}
        for n in args.batches:
            t = interleaved(candidates(name, n), rounds=args.rounds, warmup=1 if args.quick else 3)
            entry["results"].append({
                "batch": n, **{f"{k}_ms": _ms(v) for k, v in t.items()},
                "step_ratio": t["ours_step"].median / t["torch_step"].median,
                "forward_ratio": t["ours_forward"].median / t["torch_forward"].median})
        if not args.no_memory:
            entry["peak_step_memory_mib"] = {"batch": args.memory_batch, **{
                lib: peak_memory(lib, name, args.memory_batch) for lib in ("tinygrad_np", "torch")}}
        result["models"][name] = entry
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("threads:", result["threads"])
    for name, entry in result["models"].items():
        diffs = ", ".join(f"{k} {v:.1e}" for k, v in entry["max_relative_difference"].items())
        print(f"{name}: loss and gradients equal PyTorch's (worst relative difference {diffs})")
        print(f"  {'batch':>5} | {'train step ms ours/torch (ratio) [min-max]':>52} | "
              f"{'inference ms ours/torch (ratio)':>32}")
        for r in entry["results"]:
            s, ts, f, tf = (r[k]["median"] for k in ("ours_step_ms", "torch_step_ms", "ours_forward_ms",
                                                     "torch_forward_ms"))
            spread = f"[{r['ours_step_ms']['min']:.1f}-{r['ours_step_ms']['max']:.1f} / " \
                     f"{r['torch_step_ms']['min']:.1f}-{r['torch_step_ms']['max']:.1f}]"
            print(f"  {r['batch']:>5} | {s:8.2f} / {ts:8.2f} ({r['step_ratio']:4.2f}) {spread:>25} | "
                  f"{f:8.2f} / {tf:8.2f} ({r['forward_ratio']:4.2f})")
        if "peak_step_memory_mib" in entry:
            m = entry["peak_step_memory_mib"]
            print(f"  peak memory of a batch-{m['batch']} train step, MiB: ours {m['tinygrad_np']:.1f}, "
                  f"torch {m['torch']:.1f}")


if __name__ == "__main__":
    main()
