"""The specified CNN: tinygrad_np against PyTorch CPU, side by side in one process.

    python benchmarks/bench_zhang.py [--batches 1 16 64 256] [--rounds R] [--json]

1. Checks that outputs and every parameter gradient equal PyTorch's for the same weights.
2. Times inference (no_grad forward) and a full train step (forward, backward, SGD step) at
   each batch size, the two libraries alternating in interleaved rounds after warm-up.
3. Times the original per-pixel loop forward on one image, interleaved with our forward.
4. Measures the peak memory one train step adds, each configuration in its own process.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from timing import interleaved, peak_memory_added_mib, thread_settings  # noqa: E402

import tinygrad_np as tg  # noqa: E402
from models.zhang_cnn import ZhangCNN  # noqa: E402


class TorchZhang:
    """The same network in PyTorch, written independently, with weights copied from ours."""

    def __init__(self, state: dict[str, np.ndarray]):
        import torch
        self.torch = torch
        self.params = {k: torch.tensor(v, requires_grad=True) for k, v in state.items()}
        self.opt = torch.optim.SGD(list(self.params.values()), lr=0.1)

    def forward(self, x):
        F, p = self.torch.nn.functional, self.params
        h = F.avg_pool2d(self.torch.sigmoid(F.conv2d(x, p["conv1.weight"]) + p["thr1.value"].view(1, -1, 1, 1)), 2)
        h = F.avg_pool2d(self.torch.sigmoid(F.conv2d(h, p["conv2.weight"]) + p["thr2.value"].view(1, -1, 1, 1)), 2)
        h = h.transpose(2, 3).reshape(x.shape[0], -1)  # column-major vectorisation of each map
        return self.torch.sigmoid(h @ p["fc.weight"].T + p["fc.bias"])

    def loss(self, x, target):
        return 0.5 * ((self.forward(x) - target) ** 2).sum() / x.shape[0]

    def train_step(self, x, target) -> None:
        self.opt.zero_grad()
        self.loss(x, target).backward()
        self.opt.step()


def make_batch(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = ZhangCNN.preprocess(rng.random((n, 1, 50, 50), dtype=np.float32))
    labels = rng.integers(0, 2, n)
    return images, labels


def check_equal_to_torch() -> float:
    """Largest relative difference of outputs and gradients (float32, batch 8)."""
    import torch
    model = ZhangCNN(rng=0)
    ref = TorchZhang(model.state_dict())
    images, labels = make_batch(8)
    loss, out = model.loss(images, labels)
    loss.backward()
    t_loss = ref.loss(torch.from_numpy(images), torch.from_numpy(np.eye(2, dtype=np.float32)[labels]))
    t_loss.backward()
    worst = np.abs(out.data - ref.forward(torch.from_numpy(images)).detach().numpy()).max()
    for name, p in model.named_parameters():
        g_ref = ref.params[name].grad.numpy()
        worst = max(worst, np.abs(p.grad - g_ref).max() / (np.abs(g_ref).max() + 1e-30))
    if worst > 1e-4:
        raise SystemExit(f"outputs or gradients differ from PyTorch: worst relative difference {worst:.2e}")
    return float(worst)


def candidates(n: int):
    """(our forward, torch forward, our train step, torch train step) for batch size n."""
    import torch
    model = ZhangCNN(rng=0)
    ref = TorchZhang(model.state_dict())
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    images, labels = make_batch(n)
    x_t, y_t = torch.from_numpy(images), torch.from_numpy(np.eye(2, dtype=np.float32)[labels])

    def ours_forward():
        with tg.no_grad():
            model(images)

    def torch_forward():
        with torch.no_grad():
            ref.forward(x_t)

    def ours_step():
        opt.zero_grad()
        loss, _ = model.loss(images, labels)
        loss.backward()
        opt.step()

    return ours_forward, torch_forward, ours_step, lambda: ref.train_step(x_t, y_t)


def time_original_loops(batches: list[int], rounds: int = 7) -> dict[str, float]:
    """Milliseconds of the original loops' forward of one image, and of our forward at each
    batch size, timed in the same interleaved rounds (a slow phase of the machine hits both)."""
    from original_loops import forward_one_image
    model = ZhangCNN(rng=0)
    params = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    image = make_batch(1)[0][0, 0].astype(np.float64)
    expected = model(make_batch(1)[0]).data[0]
    got = forward_one_image(image, params)
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        raise SystemExit(f"original loop forward disagrees with the model: {got} vs {expected}")
    fns = {"loops": lambda: forward_one_image(image, params)}
    fns.update({f"ours_b{n}": candidates(n)[0] for n in batches})
    times = interleaved(fns, rounds=rounds, warmup=1)
    return {name: t.median * 1e3 for name, t in times.items()}


def _memory_child(library: str, n: int) -> None:
    """Run in a fresh process: print the peak RSS (MiB) the first train step adds to the process
    (model, batch and both libraries already loaded)."""
    ours_forward, torch_forward, ours_step, torch_step = candidates(n)
    step = ours_step if library == "tinygrad_np" else torch_step
    print(peak_memory_added_mib(step))


def peak_memory(library: str, n: int) -> float:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", library, str(n)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--memory-child", nargs=2, metavar=("LIBRARY", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child(args.memory_child[0], int(args.memory_child[1]))
        return
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit('PyTorch is needed: pip install -e ".[bench]"') from None

    result: dict[str, object] = {"threads": thread_settings(), "max_relative_difference": check_equal_to_torch()}
    rows = []
    for n in args.batches:
        ours_forward, torch_forward, ours_step, torch_step = candidates(n)
        rounds = args.rounds
        t = interleaved({"ours_forward": ours_forward, "torch_forward": torch_forward,
                         "ours_step": ours_step, "torch_step": torch_step}, rounds=rounds)
        rows.append({
            "batch": n,
            **{f"{k}_ms": {"median": v.median * 1e3, "min": v.min * 1e3, "max": v.max * 1e3} for k, v in t.items()},
            "forward_ratio": t["ours_forward"].median / t["torch_forward"].median,
            "step_ratio": t["ours_step"].median / t["torch_step"].median,
            "step_images_per_s": n / t["ours_step"].median,
            "torch_step_images_per_s": n / t["torch_step"].median,
            "peak_step_memory_mib": {lib: peak_memory(lib, n) for lib in ("tinygrad_np", "torch")},
        })
    result["results"] = rows
    loop_times = time_original_loops(args.batches)
    loops = loop_times.pop("loops")
    result["original_loops_forward_1_image_ms"] = loops
    result["ours_forward_ms_in_loop_rounds"] = loop_times
    if 1 in args.batches:
        result["speedup_over_original_loops_batch1_forward"] = loops / loop_times["ours_b1"]
    per_image = min(loop_times[f"ours_b{n}"] / n for n in args.batches)
    result["speedup_over_original_loops_per_image_forward"] = loops / per_image

    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("threads:", result["threads"])
    print(f"outputs and gradients equal PyTorch's (worst relative difference {result['max_relative_difference']:.1e})")
    print(f"{'batch':>5} | {'forward ms ours/torch (ratio)':>30} | {'train step ms ours/torch (ratio)':>33} |"
          f" {'img/s ours/torch':>17} | {'peak MiB ours/torch':>19}")
    for r in rows:
        f, tf = r["ours_forward_ms"]["median"], r["torch_forward_ms"]["median"]
        s, ts = r["ours_step_ms"]["median"], r["torch_step_ms"]["median"]
        m = r["peak_step_memory_mib"]
        print(f"{r['batch']:>5} | {f:9.2f} / {tf:8.2f} ({r['forward_ratio']:5.2f}) | {s:10.2f} / {ts:8.2f} "
              f"({r['step_ratio']:5.2f}) | {r['step_images_per_s']:7.0f} / {r['torch_step_images_per_s']:7.0f} |"
              f" {m['tinygrad_np']:8.1f} / {m['torch']:8.1f}")
    at_batch1 = result.get("speedup_over_original_loops_batch1_forward")
    print(f"original per-pixel loops, forward of one image: {loops:.1f} ms; "
          f"ours is {result['speedup_over_original_loops_per_image_forward']:.0f}x faster per image "
          f"(best batch)" + (f", {at_batch1:.0f}x at batch 1" if at_batch1 else ""))


if __name__ == "__main__":
    main()
