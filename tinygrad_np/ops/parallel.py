"""One op's work on all cores: slices of the batch (or of a flat array) run on a small thread pool.

NumPy releases the GIL inside its copies, ufunc loops and BLAS calls, so threads that each work
on their own slice of an array run in parallel. An op that is large enough splits its work into
one slice per thread; the calling thread does the first slice itself.

BLAS: while slices that call BLAS run, NumPy's BLAS is held to one thread (each slice's matrix
products run on the slice's own core), and its previous thread count is restored afterwards.
Otherwise BLAS's own worker threads, which spin for a while after each product, would compete
with ours for the same cores. The thread count of the BLAS library is found with threadpoolctl;
without it (or with a BLAS that it cannot control) slices that call BLAS run one after another
and BLAS keeps its own threads.

Settings, read at import:
- TINYGRAD_NP_NUM_THREADS=k uses k threads; 1 runs everything on the calling thread;
- otherwise OMP_NUM_THREADS if set, otherwise the number of cores this process may run on.
`set_num_threads(k)` changes it at run time.
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

ENV_THREADS = "TINYGRAD_NP_NUM_THREADS"

#: Below this much work per thread (estimated seconds on one core), an op runs on the calling
#: thread alone: handing a slice to another thread, and getting the interpreter lock back and
#: forth, takes 50-120 microseconds on a 2-core virtual machine (docs/benchmarks.md).
MIN_SECONDS_PER_THREAD = 150e-6


def _threads_from_environment() -> int:
    for name in (ENV_THREADS, "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                count = int(value.split(",")[0])
            except ValueError:
                raise ValueError(f"{name} must be a positive integer, got {value!r}") from None
            if count < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            return count
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_threads = _threads_from_environment()
_worker_error_state = np.geterr()  # what a new thread starts with (np.errstate is per thread)
_local = threading.local()  # .busy: this thread is already running a slice (no nested splitting)


class _Worker:
    """One helper thread that runs one slice at a time, woken by an Event: a lighter hand-off
    than a ThreadPoolExecutor's queue and futures (an empty task there and back, median and
    90th percentile: 31 and 35 against 35 and 48 microseconds; benchmarks/bench_dispatch.py)."""

    def __init__(self, index: int):
        self._job: tuple[Callable[[slice], Any], slice, dict | None] | None = None
        self._result: Any = None
        self._error: BaseException | None = None
        self._start = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"tinygrad_np-{index}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self._start.wait()
            self._start.clear()
            job = self._job
            if job is None:  # asked to stop
                return
            try:
                self._result, self._error = _run_marked(*job), None
            except BaseException as error:  # handed to the caller by wait()
                self._result, self._error = None, error
            self._done.set()

    def submit(self, task: Callable[[slice], Any], part: slice, error_state: dict | None) -> None:
        self._job = (task, part, error_state)
        self._done.clear()
        self._start.set()

    def wait(self) -> tuple[Any, BaseException | None]:
        self._done.wait()
        return self._result, self._error

    def stop(self) -> None:
        self._job = None
        self._start.set()
        self._thread.join()


_workers: list[_Worker] = []
_workers_lock = threading.Lock()    # guards creating and replacing the workers
_dispatch_lock = threading.Lock()   # one caller at a time uses the workers; others run serially


def num_threads() -> int:
    """How many threads one op may use (1: everything on the calling thread)."""
    return _threads


def set_num_threads(count: int) -> None:
    """Use `count` threads per op from now on (1 turns splitting off)."""
    global _threads
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"set_num_threads: count must be a positive integer, got {count!r}")
    with _dispatch_lock, _workers_lock:
        for worker in _workers:
            worker.stop()
        _workers.clear()
        _threads = count


def _get_workers(count: int) -> list[_Worker]:
    with _workers_lock:
        while len(_workers) < count:
            _workers.append(_Worker(len(_workers) + 1))
        return _workers[:count]


def _forget_workers_after_fork() -> None:
    """A forked child has none of the parent's threads: start new workers when needed."""
    global _workers_lock, _dispatch_lock
    _workers.clear()
    _workers_lock, _dispatch_lock = threading.Lock(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers_after_fork)


# ------------------------------------------------------------------ BLAS threads
_blas_libraries: list[Any] | None = None  # threadpoolctl controllers of the loaded BLAS, found once


def _find_blas() -> list[Any]:
    global _blas_libraries
    if _blas_libraries is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas_libraries = [lib for lib in ThreadpoolController().lib_controllers
                               if lib.user_api == "blas"]
        except Exception:  # threadpoolctl missing, or a library it cannot read
            _blas_libraries = []
    return _blas_libraries


def can_limit_blas() -> bool:
    """True if NumPy's BLAS threads can be held to one while our slices run."""
    return bool(_find_blas())


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS on one thread inside the block; each library's previous thread count restored after."""
    libraries = _find_blas()
    previous = [lib.get_num_threads() for lib in libraries]
    for lib, count in zip(libraries, previous, strict=False):
        if count != 1:
            lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, count in zip(libraries, previous, strict=False):
            if count != 1:
                lib.set_num_threads(count)


# ------------------------------------------------------------------ splitting
def split_range(n: int, pieces: int) -> list[slice]:
    """`pieces` contiguous slices of range(n), sizes differing by at most one."""
    base, extra = divmod(n, pieces)
    slices, start = [], 0
    for k in range(pieces):
        stop = start + base + (1 if k < extra else 0)
        slices.append(slice(start, stop))
        start = stop
    return slices


def pieces_for(n: int, seconds_per_item: float, uses_blas: bool = False) -> int:
    """How many slices to cut range(n) into, for `seconds_per_item` of work per item on one core."""
    if _threads == 1 or n < 2 or getattr(_local, "busy", False):
        return 1
    if uses_blas and not can_limit_blas():
        return 1
    if MIN_SECONDS_PER_THREAD <= 0:
        return min(_threads, n)
    worth = int(n * seconds_per_item / MIN_SECONDS_PER_THREAD)
    return max(1, min(_threads, n, worth))


@contextlib.contextmanager
def forced_split(threads: int) -> Iterator[None]:
    """Split every op over `threads` threads inside, however small (for tests: the split paths
    of each op are then checked on small inputs)."""
    global MIN_SECONDS_PER_THREAD
    previous = num_threads(), MIN_SECONDS_PER_THREAD
    set_num_threads(threads)
    MIN_SECONDS_PER_THREAD = 0.0
    try:
        yield
    finally:
        MIN_SECONDS_PER_THREAD = previous[1]
        set_num_threads(previous[0])


def _run_marked(task: Callable[[slice], T], part: slice, error_state: dict | None = None) -> T:
    """task(part), marked as running a slice; under the caller's NumPy error state if given
    (np.errstate is per thread)."""
    _local.busy = True
    try:
        with np.errstate(**error_state) if error_state else contextlib.nullcontext():
            return task(part)
    finally:
        _local.busy = False


def map_slices(n: int, seconds_per_item: float, task: Callable[[slice], T], uses_blas: bool = False) -> list[T]:
    """[task(s) for s in slices of range(n)], the slices run in parallel when the work is large.

    `task` must only write where its own slice says (outputs of different slices are disjoint),
    and must not depend on which thread runs it. `uses_blas`: the task calls matrix products.
    The results come back in slice order; the first exception raised by a slice is re-raised,
    after every slice has finished.
    """
    pieces = pieces_for(n, seconds_per_item, uses_blas)
    if pieces == 1 or not _dispatch_lock.acquire(blocking=False):
        return [task(slice(0, n))]
    try:
        parts = split_range(n, pieces)
        with single_threaded_blas() if uses_blas else contextlib.nullcontext():
            helpers = _get_workers(pieces - 1)
            error_state = np.geterr()
            if error_state == _worker_error_state:
                error_state = None  # nothing to carry over (saves ~8 us per dispatch)
            for worker, part in zip(helpers, parts[1:], strict=False):
                worker.submit(task, part, error_state)
            outcomes: list[tuple[Any, BaseException | None]] = []
            try:
                outcomes.append((_run_marked(task, parts[0]), None))
            except BaseException as error:  # wait for the other slices before raising
                outcomes.append((None, error))
            outcomes.extend(worker.wait() for worker in helpers)
    finally:
        _dispatch_lock.release()
    for _, error in outcomes:
        if error is not None:
            raise error
    return [result for result, _ in outcomes]


def for_each_slice(n: int, seconds_per_item: float, task: Callable[[slice], Any], uses_blas: bool = False) -> None:
    """Run `task` on slices of range(n), in parallel when the work is large (see map_slices)."""
    map_slices(n, seconds_per_item, task, uses_blas)


__all__ = ["num_threads", "set_num_threads", "map_slices", "for_each_slice", "split_range",
           "single_threaded_blas", "can_limit_blas", "pieces_for", "forced_split", "MIN_SECONDS_PER_THREAD"]
