"""The thread pool that splits one op over the batch: slicing, results, errors, BLAS threads."""
import multiprocessing
import os
import signal
import threading
import time

import numpy as np
import pytest
from helpers import check_gradients
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np.ops import conv_lowerings as conv_algorithms
from tinygrad_np.ops import parallel
from tinygrad_np.ops.parallel import forced_split


@given(n=st.integers(0, 200), pieces=st.integers(1, 9))
def test_split_range_covers_the_range_in_near_equal_slices(n, pieces):
    parts = parallel.split_range(n, pieces)
    assert len(parts) == pieces
    assert [i for part in parts for i in range(part.start, part.stop)] == list(range(n))
    sizes = [part.stop - part.start for part in parts]
    assert max(sizes) - min(sizes) <= 1


def test_map_slices_runs_slices_on_several_threads_and_keeps_their_order():
    seen = []

    def task(part):
        seen.append(threading.current_thread().name)
        return list(range(part.start, part.stop))

    with forced_split(3):
        results = parallel.map_slices(10, 1.0, task)
    assert [i for r in results for i in r] == list(range(10))
    assert len(results) == 3
    assert len(set(seen)) == 3
    assert threading.current_thread().name in seen


def test_small_work_stays_on_the_calling_thread():
    names = []
    parallel.map_slices(1000, 1e-12, lambda part: names.append(threading.current_thread().name))
    assert names == [threading.current_thread().name]


def test_an_error_in_a_helper_slice_is_raised_after_all_slices_finish():
    finished = []

    def task(part):
        if part.start == 4:
            raise ValueError("slice starting at 4 failed")
        finished.append(part.start)
        return part.start

    with forced_split(3):
        with pytest.raises(ValueError, match="slice starting at 4 failed"):
            parallel.map_slices(12, 1.0, task)
        assert sorted(finished) == [0, 8]
        assert parallel.map_slices(6, 1.0, lambda part: part.start) == [0, 2, 4]  # still usable


def test_a_slice_that_splits_again_runs_its_inner_work_itself():
    def inner(part):
        return threading.current_thread().name

    def outer(part):
        return parallel.map_slices(8, 1.0, inner)

    with forced_split(2):
        results = parallel.map_slices(4, 1.0, outer)
    assert [len(r) for r in results] == [1, 1]  # no nested split, no deadlock


def test_two_callers_at_once_both_get_correct_results():
    x = np.random.default_rng(0).standard_normal((64, 6, 12, 12)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((4, 6, 3, 3)).astype(np.float32)
    expected = tg.conv2d(x, w).data
    outputs, errors = [], []

    def run():
        try:
            for _ in range(20):
                outputs.append(tg.conv2d(x, w).data)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    with forced_split(2):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert len(outputs) == 40
    for out in outputs:
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_the_callers_numpy_error_state_holds_in_every_slice():
    x = tg.Tensor(np.full((6, 4), 1e4), dtype=np.float64)
    with forced_split(3), np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            parallel.map_slices(6, 1.0, lambda part: np.exp(x.data[part]))
    with forced_split(3), np.errstate(over="raise", invalid="raise"):
        y = (-x).sigmoid()  # exp overflows inside sigmoid on purpose; it silences that itself
    assert (y.data == 0).all()


@pytest.mark.skipif(not parallel.can_limit_blas(), reason="threadpoolctl cannot control this BLAS")
def test_blas_threads_are_one_inside_and_restored_after():
    libraries = parallel._find_blas()  # the BLAS libraries loaded when first looked for
    before = [lib.get_num_threads() for lib in libraries]
    inside = []
    with forced_split(2):
        parallel.map_slices(4, 1.0, lambda part: inside.append([lib.get_num_threads() for lib in libraries]),
                            uses_blas=True)
    assert inside == [[1] * len(libraries)] * 2
    assert [lib.get_num_threads() for lib in libraries] == before


def test_without_a_controllable_blas_matrix_work_stays_on_one_thread(monkeypatch):
    monkeypatch.setattr(parallel, "_blas_libraries", [])  # as if threadpoolctl were missing
    with forced_split(2):
        assert parallel.pieces_for(8, 1.0, uses_blas=True) == 1
        assert parallel.pieces_for(8, 1.0, uses_blas=False) == 2
        x = np.random.default_rng(0).standard_normal((4, 2, 6, 6))
        w = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
        np.testing.assert_allclose(tg.conv2d(x, w).data, tg.conv2d(x[::-1], w).data[::-1], rtol=1e-12)


def test_set_num_threads_rejects_bad_counts_and_round_trips():
    previous = parallel.num_threads()
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="set_num_threads: count must be a positive integer"):
            parallel.set_num_threads(bad)
    parallel.set_num_threads(3)
    try:
        assert parallel.num_threads() == 3
    finally:
        parallel.set_num_threads(previous)
    assert parallel.num_threads() == previous


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_thread_count_in_the_environment_is_named(monkeypatch, value):
    monkeypatch.setenv("TINYGRAD_NP_NUM_THREADS", value)
    with pytest.raises(ValueError, match=f"TINYGRAD_NP_NUM_THREADS must be a positive integer, got '{value}'"):
        parallel._threads_from_environment()


def test_thread_count_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TINYGRAD_NP_NUM_THREADS", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert parallel._threads_from_environment() == 3
    monkeypatch.delenv("TINYGRAD_NP_NUM_THREADS")
    assert parallel._threads_from_environment() == 1


def _conv_in_child(queue):
    x = np.ones((8, 2, 6, 6))
    with forced_split(2):
        queue.put(float(tg.conv2d(x, np.ones((3, 2, 3, 3))).data.sum()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_a_forked_child_starts_its_own_workers():
    with forced_split(2):
        tg.conv2d(np.ones((8, 2, 6, 6)), np.ones((3, 2, 3, 3)))  # the parent's workers exist
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_conv_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == 8 * 3 * 16 * 18.0


@given(data=st.data(), n=st.integers(2, 5))
def test_sigmoid_split_over_threads(data, n):
    from tinygrad_np.testing import strategies as tst
    x = data.draw(tst.tensors((n, 3, 4), min_value=-6, max_value=6), label="x")
    with forced_split(3):
        np.testing.assert_allclose(x.sigmoid().data, 1 / (1 + np.exp(-x.data)), rtol=1e-12)
        check_gradients(data, lambda t: t.sigmoid(), x)


def test_the_cnn_gives_the_same_step_split_or_not():
    from models.zhang_cnn import ZhangCNN
    images = np.random.default_rng(0).random((6, 1, 50, 50))
    labels = np.array([0, 1, 1, 0, 1, 0])
    grads = []
    for threads in (1, 3):
        model = ZhangCNN(rng=0, dtype=np.float64)
        with forced_split(threads):
            loss, _ = model.loss(images, labels)
            loss.backward()
        grads.append({name: p.grad.copy() for name, p in model.named_parameters()})
    for name in grads[0]:
        np.testing.assert_allclose(grads[1][name], grads[0][name], rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------------ interrupts
def _slow_helper_task(interrupt):
    """A task whose helper slices sleep 0.3 s and whose first (the caller's) slice calls
    `interrupt()` 0.1 s in; every slice returns its bounds."""
    def task(part):
        if part.start == 0:
            time.sleep(0.1)
            interrupt()
        else:
            time.sleep(0.3)
        return ("interrupted call", part.start, part.stop)
    return task


def _bounds_task(k):
    """A task returning (k, bounds) of its slice; the helper's slice takes 50 ms."""
    def task(part):
        if part.start > 0:
            time.sleep(0.05)
        return k, part.start, part.stop
    return task


def _then_wait_for_signals(fn, *args):
    """fn(*args), then a second for a signal still on its way to arrive (it should not)."""
    fn(*args)
    time.sleep(1)


def _raise_keyboard_interrupt():
    raise KeyboardInterrupt


def _signal_main_thread():
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


def _signal_main_thread_later():
    threading.Timer(0.1, _signal_main_thread).start()  # arrives while the caller waits


needs_main_thread = pytest.mark.skipif(threading.current_thread() is not threading.main_thread()
                                       or signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                                       reason="SIGINT must reach this thread as KeyboardInterrupt")


@needs_main_thread
@pytest.mark.parametrize("interrupt", [_raise_keyboard_interrupt, _signal_main_thread, _signal_main_thread_later],
                         ids=["raised in the caller's slice", "signal in the caller's slice", "signal while waiting"])
def test_after_an_interrupt_every_later_call_gets_its_own_results(interrupt):
    with forced_split(2):
        with pytest.raises(KeyboardInterrupt):
            _then_wait_for_signals(parallel.map_slices, 8, 1.0, _slow_helper_task(interrupt))
        for k in range(5):
            assert parallel.map_slices(8, 1.0, _bounds_task(k)) == [(k, 0, 4), (k, 4, 8)]


@needs_main_thread
@pytest.mark.parametrize("algorithm", ["band", "im2col"])
def test_a_conv2d_interrupted_while_a_helper_runs_leaves_later_calls_exact(monkeypatch, algorithm):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3, 20, 20)).astype(np.float32)
    w = rng.standard_normal((6, 3, 5, 5)).astype(np.float32)
    lowering = "lower_rows" if algorithm == "band" else "im2col"
    real = getattr(conv_algorithms, lowering)

    first_call = {"caller": True, "helper": True}

    def slow_or_interrupted(xp, *args):
        role = "caller" if threading.current_thread() is threading.main_thread() else "helper"
        if first_call[role] and role == "caller":
            _signal_main_thread_later()  # Ctrl-C at 0.1 s, the caller waiting for its helper...
        elif role == "helper":
            time.sleep(0.3 if first_call[role] else 0.05)  # ...still in its slice; later slices slow too
        first_call[role] = False
        return real(xp, *args)

    inputs = [x + k for k in range(4)]
    with conv_algorithms.forced_algorithm(algorithm):
        with forced_split(1):
            expected = [tg.conv2d(xk, w).sigmoid().data for xk in inputs]
        with forced_split(2):
            monkeypatch.setattr(conv_algorithms, lowering, slow_or_interrupted)
            with pytest.raises(KeyboardInterrupt):
                _then_wait_for_signals(lambda: tg.conv2d(x, w).sigmoid())
            for xk, out in zip(inputs, expected, strict=False):
                np.testing.assert_array_equal(tg.conv2d(xk, w).sigmoid().data, out)


# ------------------------------------------------------------------ BLAS on one thread
def _blas_thread_counts():
    """Thread counts of the BLAS libraries tinygrad_np holds (those loaded when it first needed BLAS:
    NumPy's; one loaded later, e.g. SciPy's own, is not used by NumPy's matrix products)."""
    from threadpoolctl import threadpool_info
    held = {lib.filepath for lib in parallel._find_blas()}
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas" and info["filepath"] in held]


@pytest.mark.skipif(not parallel.can_limit_blas(), reason="threadpoolctl cannot control this BLAS")
def test_one_thread_holds_blas_to_one_thread_and_more_give_its_threads_back():
    from threadpoolctl import ThreadpoolController
    controller = ThreadpoolController()
    original = parallel.num_threads()
    with controller.limit(limits=3, user_api="blas"):  # a known count above one to come back to
        try:
            parallel.set_num_threads(1)
            assert set(_blas_thread_counts()) == {1}
            parallel.set_num_threads(1)  # twice: the count saved first is kept
            parallel.set_num_threads(2)
            assert set(_blas_thread_counts()) == {3}
            with forced_split(1):
                assert set(_blas_thread_counts()) == {1}
            assert set(_blas_thread_counts()) == {3}
        finally:
            parallel.set_num_threads(original)


@pytest.mark.skipif(not parallel.can_limit_blas(), reason="threadpoolctl cannot control this BLAS")
def test_one_thread_from_the_environment_holds_blas_to_one_thread_at_import():
    import subprocess
    import sys
    script = ("import tinygrad_np, threadpoolctl\n"
              "for info in threadpoolctl.threadpool_info():\n"
              "    if info['user_api'] == 'blas':\n"
              "        print(info['num_threads'])")
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout's tinygrad_np
    counts = {}
    for value in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", script], env={**environ, "TINYGRAD_NP_NUM_THREADS": value,
                             "OPENBLAS_NUM_THREADS": "2"}, cwd=root, capture_output=True, text=True, check=True)
        counts[value] = {int(line) for line in out.stdout.split()}
    assert counts == {"1": {1}, "2": {2}}


@pytest.mark.skipif(not parallel.can_limit_blas(), reason="threadpoolctl cannot control this BLAS")
def test_blas_stays_on_one_thread_until_the_last_holder_in_any_thread_lets_go():
    from threadpoolctl import ThreadpoolController
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with parallel.single_threaded_blas():
            a_inside.set()
            b_inside.wait()
        a_left.set()

    def b():
        a_inside.wait()
        with parallel.single_threaded_blas():
            b_inside.set()
            a_left.wait()
            seen["b after a left"] = set(_blas_thread_counts())

    with ThreadpoolController().limit(limits=3, user_api="blas"):
        threads = [threading.Thread(target=a), threading.Thread(target=b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seen["after both"] = set(_blas_thread_counts())
    assert seen == {"b after a left": {1}, "after both": {3}}


def test_conv2d_run_by_another_thread_gives_bitwise_the_same_result():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 1, 50, 50)).astype(np.float32)
    w = rng.standard_normal((6, 1, 11, 11)).astype(np.float32)
    expected = tg.conv2d(x, w).data
    out = []
    worker = threading.Thread(target=lambda: out.append(tg.conv2d(x, w).data))
    worker.start()
    worker.join()
    np.testing.assert_array_equal(out[0], expected)
