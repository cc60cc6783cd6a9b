"""What holds with threads: results independent of the thread count, gradients accumulated
safely by concurrent backward passes, malloc's freed memory bounded with many threads."""
import contextlib
import os
import platform
import subprocess
import sys
import threading

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.ops import allocator, parallel
from tinygrad_np.ops import conv_lowerings as conv_algorithms
from tinygrad_np.ops.parallel import forced_split

ON_GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@contextlib.contextmanager
def threads(count):
    """Run with `count` threads, splitting only where the work is worth it (as users run)."""
    previous = parallel.num_threads()
    parallel.set_num_threads(count)
    try:
        yield
    finally:
        parallel.set_num_threads(previous)


# (batch, channels, size, filters, kernel, stride, padding): the CNN's two layers, a wide
# strided one, one with padding and an odd batch
CONV_SHAPES = [(64, 1, 50, 6, 11, 1, 0), (64, 6, 20, 12, 5, 1, 0), (37, 3, 33, 8, 3, 2, 1),
               (9, 4, 17, 5, 4, 1, 2)]


@pytest.mark.parametrize("algorithm", ["band", "im2col", None])
@pytest.mark.parametrize("shape", CONV_SHAPES, ids=str)
def test_conv2d_forward_is_bitwise_the_same_on_one_thread_and_two(shape, algorithm):
    n, c, size, f, k, stride, padding = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    w = rng.standard_normal((f, c, k, k)).astype(np.float32)
    chosen = conv_algorithms.forced_algorithm(algorithm) if algorithm else contextlib.nullcontext()
    outputs = []
    with chosen:
        for settings in (forced_split(1), forced_split(2), threads(1), threads(2)):
            with settings:
                outputs.append(tg.conv2d(x, w, stride=stride, padding=padding).sigmoid().data)
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])


@pytest.mark.parametrize("batch", [1, 16, 64, 256])
def test_the_seed_cnn_forward_is_bitwise_the_same_on_one_thread_and_two(batch):
    from models.zhang_cnn import ZhangCNN
    model = ZhangCNN(rng=0)
    images = ZhangCNN.preprocess(np.random.default_rng(1).random((batch, 1, 50, 50), dtype=np.float32))
    outputs = []
    for settings in (threads(1), threads(2), forced_split(2)):
        with settings, tg.no_grad():
            outputs.append(model(images).data)
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])


@pytest.mark.parametrize("batch", [16, 64])
def test_the_seed_cnn_gradients_are_bitwise_the_same_on_one_thread_and_two(batch):
    from models.zhang_cnn import ZhangCNN
    images = ZhangCNN.preprocess(np.random.default_rng(1).random((batch, 1, 50, 50), dtype=np.float32))
    labels = np.random.default_rng(2).integers(0, 2, batch)
    grads = []
    for settings in (threads(1), threads(2), forced_split(2)):
        model = ZhangCNN(rng=0)
        with settings:
            loss, _ = model.loss(images, labels)
            loss.backward()
        grads.append({name: p.grad for name, p in model.named_parameters()})
    for other in grads[1:]:
        for name, g in grads[0].items():
            np.testing.assert_array_equal(other[name], g, err_msg=name)


# ------------------------------------------------------------------ concurrent backward
def test_concurrent_backward_passes_into_one_leaf_lose_no_update():
    p = tg.Tensor(np.zeros(1 << 20, dtype=np.float32), requires_grad=True)
    rounds, errors = 200, []

    def run():
        try:
            for _ in range(rounds):
                (p * 1.0).sum().backward()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    workers = [threading.Thread(target=run) for _ in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors
    np.testing.assert_array_equal(p.grad, np.full(p.shape, 2 * rounds, dtype=np.float32))


def test_concurrent_first_gradients_of_many_leaves_are_all_kept():
    # the first accumulation creates .grad: two threads must not both create it
    leaves = [tg.Tensor(np.zeros(1 << 17, dtype=np.float32), requires_grad=True) for _ in range(200)]
    start = threading.Barrier(2)

    def run():
        start.wait()
        for leaf in leaves:
            (leaf * 1.0).sum().backward()

    workers = [threading.Thread(target=run) for _ in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for leaf in leaves:
        np.testing.assert_array_equal(leaf.grad, np.full(leaf.shape, 2, dtype=np.float32))


# ------------------------------------------------------------------ malloc with many threads
EIGHT_THREADS_FREE_200_MIB = """
import threading
import numpy as np
import tinygrad_np

def resident_bytes():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))

start = threading.Barrier(8)

def allocate_and_free():
    start.wait()
    arrays = [np.ones(1 << 18, dtype=np.float32) for _ in range(200)]  # 200 arrays of 1 MiB, touched
    del arrays

before = resident_bytes()
threads = [threading.Thread(target=allocate_and_free) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(tinygrad_np.allocator.status, resident_bytes() - before)
"""


@pytest.mark.skipif(not ON_GLIBC, reason="malloc tuning applies to glibc only")
def test_freed_memory_kept_by_many_threads_stays_within_the_documented_bound():
    environ = {k: v for k, v in os.environ.items()
               if k not in allocator._USER_MALLOC_VARIABLES + (allocator.ENV_SWITCH, "GLIBC_TUNABLES")}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout's tinygrad_np
    out = subprocess.run([sys.executable, "-c", EIGHT_THREADS_FREE_200_MIB], env=environ, cwd=root,
                         capture_output=True, text=True, check=True).stdout.split()
    status, grown = " ".join(out[:-1]), int(out[-1])
    assert status == "kept"
    # the resident set also grows by what the interpreter keeps in use (thread states, caches:
    # a few MiB); everything above that is freed memory malloc kept
    in_use = 8 << 20
    assert grown <= allocator.DEFAULT_TRIM_THRESHOLD + in_use, f"resident memory grew by {grown / 2**20:.0f} MiB"
