"""What tinygrad_np's malloc settings cost and save, each setting in fresh processes (glibc only).

    python benchmarks/bench_malloc.py [--runs 5] [--steps 25] [--json]

Settings: "as imported" (trim threshold 256 MiB, mmap threshold 32 MiB, one arena), "thresholds
only" (the same with glibc's own arenas, up to 8 per core), "off" (TINYGRAD_NP_KEEP_FREED_MEMORY=0).

1. Freed memory kept: 8 threads each allocate 200 MiB in 1 MiB arrays and free them; how much
   the resident set (VmRSS) grew, in MiB, over `runs` processes.
2. What it is for: page faults and milliseconds per train step and per inference of the seed
   CNN at batch 64 and 256 (medians over `steps` calls after warm-up; the times are noisy on a
   shared machine, the faults are not).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SETUP = """
import os, sys
import tinygrad_np as tg
if sys.argv[1] == "thresholds only":
    tg.allocator.keep_freed_memory(arenas=1 << 16)  # glibc's own limit applies
"""

FREED_BY_THREADS = SETUP + """
import threading
import numpy as np

def resident_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))

start = threading.Barrier(8)

def allocate_and_free():
    start.wait()
    arrays = [np.ones(1 << 18, dtype=np.float32) for _ in range(200)]
    del arrays

before = resident_mib()
threads = [threading.Thread(target=allocate_and_free) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(round(resident_mib() - before))
"""

CNN_STEPS = SETUP + """
import json, resource, time
import numpy as np
from models.zhang_cnn import ZhangCNN

steps, result = int(sys.argv[2]), {}
for n in (64, 256):
    rng = np.random.default_rng(0)
    x, y = ZhangCNN.preprocess(rng.random((n, 1, 50, 50), dtype=np.float32)), rng.integers(0, 2, n)
    model = ZhangCNN(rng=0)
    opt = tg.optim.SGD(model.parameters(), lr=0.01)

    def train():
        opt.zero_grad()
        model.loss(x, y)[0].backward()
        opt.step()

    def infer():
        with tg.no_grad():
            model(x)

    for name, fn in (("train", train), ("infer", infer)):
        for _ in range(3):
            fn()
        ms, faults = [], []
        for _ in range(steps):
            f0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1e3)
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
        result[f"{name} {n}"] = {"ms": round(float(np.median(ms)), 2), "faults": int(np.median(faults))}
print(json.dumps(result))
"""

SETTINGS = ("as imported", "thresholds only", "off")


def run(script: str, setting: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    if setting == "off":
        env["TINYGRAD_NP_KEEP_FREED_MEMORY"] = "0"
    out = subprocess.run([sys.executable, "-c", script, setting, *args], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return out.stdout


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    kept: dict[str, list[int]] = {s: [] for s in SETTINGS}
    for _ in range(args.runs):  # settings alternate, so machine noise hits all alike
        for setting in SETTINGS:
            kept[setting].append(int(run(FREED_BY_THREADS, setting)))
    steps = {s: json.loads(run(CNN_STEPS, s, str(args.steps))) for s in SETTINGS}
    if args.json:
        print(json.dumps({"kept_mib_after_8_threads_free_200_mib": kept, "cnn": steps}))
        return
    print("resident MiB kept after 8 threads each allocated and freed 200 MiB (one per run):")
    for setting in SETTINGS:
        print(f"  {setting:16} {sorted(kept[setting])}")
    print("seed CNN, median per call: ms, page faults")
    for setting in SETTINGS:
        cells = [f"{k} {v['ms']:7.2f} ms {v['faults']:5}" for k, v in steps[setting].items()]
        print(f"  {setting:16} " + " | ".join(cells))


if __name__ == "__main__":
    main()
