"""One op's work on all cores: slices of the batch (or of a flat array) run on a small thread pool.

NumPy releases the GIL inside its copies, ufunc loops and BLAS calls, so threads that each work
on their own slice of an array run in parallel. An op that is large enough splits its work into
one slice per thread; the calling thread does the first slice itself.

Interrupts: Ctrl-C (or any exception a signal handler raises) while helpers run slices is
raised in the caller only after the helpers have finished their slices, so the pool is idle
and BLAS's thread count restored when the caller sees it; results are matched to their call,
so no later call can get an interrupted call's results.

BLAS: while slices that call BLAS run, NumPy's BLAS is held to one thread (each slice's matrix
products run on the slice's own core), and its previous thread count is restored afterwards.
Otherwise BLAS's own worker threads, which spin for a while after each product, would compete
with ours for the same cores. The thread count of the BLAS library is found with threadpoolctl;
without it (or with a BLAS that it cannot control) slices that call BLAS run one after another
and BLAS keeps its own threads. Holds on BLAS (`single_threaded_blas`, `set_num_threads(1)`)
from any number of threads are counted: the count is given back when the last one ends.

Settings, read at import:
- TINYGRAD_NP_NUM_THREADS=k uses k threads; 1 runs everything on the calling thread (NumPy's
  BLAS is then held to one thread too, when threadpoolctl can control it);
- otherwise OMP_NUM_THREADS if set, otherwise the number of cores this process may run on.
`set_num_threads(k)` changes it at run time (1 holds BLAS to one thread, and a count above 1
afterwards gives BLAS back its previous thread count).
"""
from __future__ import annotations

import contextlib
import itertools
import os
import queue
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
    """One helper thread that runs the slices put in its job queue, one at a time, in order.

    Every job carries the number of the call that gave it, and so does its result: a caller
    takes only its own results, so a result that nobody collected (a call interrupted by
    Ctrl-C while this thread ran its slice) can never be mistaken for a later call's.
    The queues are C `SimpleQueue`s: a put is one call that a signal cannot cut in half, and
    the hand-off is lighter than a ThreadPoolExecutor's queue and futures (an empty task there
    and back: benchmarks/bench_dispatch.py)."""

    def __init__(self, index: int):
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[tuple[int, Any, BaseException | None]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=f"tinygrad_np-{index}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:  # asked to stop
                return
            self._results.put(self._run(*job))
            del job  # hold nothing of a finished job (its arrays) while waiting for the next

    @staticmethod
    def _run(call: int, task: Callable[[slice], Any] | None, part: slice,
             error_state: dict | None) -> tuple[int, Any, BaseException | None]:
        try:
            return call, None if task is None else _run_marked(task, part, error_state), None
        except BaseException as error:  # handed to the caller by result()
            return call, None, error

    def submit(self, call: int, task: Callable[[slice], Any], part: slice, error_state: dict | None) -> None:
        self._jobs.put((call, task, part, error_state))

    def result(self, call: int) -> tuple[Any, BaseException | None]:
        """(result, error) of this worker's slice of `call`; results of earlier calls that
        were never collected are dropped."""
        while True:
            done, result, error = self._results.get()
            if done == call:
                return result, error

    def finish(self) -> None:
        """Return once every job given so far has finished (their results are dropped)."""
        fence = next(_calls)
        self._jobs.put((fence, None, slice(0), None))
        self.result(fence)

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join()


_Job = tuple[int, Callable[[slice], Any] | None, slice, dict | None]
_calls = itertools.count(1)  # numbers the calls that hand out slices (and the fences)
_workers: list[_Worker] = []
_workers_lock = threading.Lock()    # guards creating and replacing the workers
_dispatch_lock = threading.Lock()   # one caller at a time uses the workers; others run serially


def num_threads() -> int:
    """How many threads one op may use (1: everything on the calling thread)."""
    return _threads


def set_num_threads(count: int) -> None:
    """Use `count` threads per op from now on. 1 turns splitting off and holds NumPy's BLAS to
    one thread too (everything runs on the calling thread); a count above 1 afterwards gives
    BLAS back the thread count it had before."""
    global _threads
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"set_num_threads: count must be a positive integer, got {count!r}")
    with _dispatch_lock, _workers_lock:
        for worker in _workers:
            worker.stop()
        _workers.clear()
        _threads = count
        _hold_blas_to_one_thread(count == 1)


def _get_workers(count: int) -> list[_Worker]:
    with _workers_lock:
        while len(_workers) < count:
            _workers.append(_Worker(len(_workers) + 1))
        return _workers[:count]


def _forget_workers_after_fork() -> None:
    """A forked child has none of the parent's threads: start new workers when needed. (If
    another thread held BLAS to one thread at the fork, it stays held in the child.)"""
    global _workers_lock, _dispatch_lock, _blas_lock
    _workers.clear()
    _workers_lock, _dispatch_lock, _blas_lock = threading.Lock(), threading.Lock(), threading.Lock()


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


# BLAS is held to one thread while anyone needs it so: set_num_threads(1), and every block of
# single_threaded_blas() in any thread. The first holder saves the thread count, the last one
# gives it back, so holders in several threads at once cannot hand BLAS its threads back while
# another still needs one. A BLAS with one pool for the process (OpenBLAS on pthreads, MKL)
# is held process-wide; one whose limit is per thread (OpenBLAS on OpenMP) per thread.
_blas_lock = threading.Lock()
_blas_holds: dict[tuple[int, int], list[int]] = {}  # (library, thread or 0) -> [holders, saved count]
_held_by_setting: int | None = None  # the thread whose set_num_threads(1) holds BLAS


def _set_blas_threads(lib: Any, count: int) -> None:
    # threadpoolctl lets only one "controlling" thread change OpenBLAS's process-wide pool and
    # silently ignores the others; the holds above are counted under our own lock, so any
    # thread may set it
    getattr(lib, "_real_set_num_threads", lib.set_num_threads)(count)


def _hold_keys(thread: int) -> list[tuple[Any, tuple[int, int]]]:
    """(library, key of its hold) for each BLAS library, for a hold by `thread`."""
    return [(lib, (i, thread if getattr(lib, "threading_layer", "") == "openmp" else 0))
            for i, lib in enumerate(_find_blas())]


def _hold_blas(thread: int | None = None) -> None:
    with _blas_lock:
        for lib, key in _hold_keys(thread or threading.get_ident()):
            hold = _blas_holds.get(key)
            if hold is None:
                count = lib.get_num_threads()
                if count != 1:
                    _set_blas_threads(lib, 1)
                _blas_holds[key] = [1, count]
            else:
                hold[0] += 1


def _release_blas(thread: int | None = None) -> None:
    with _blas_lock:
        for lib, key in _hold_keys(thread or threading.get_ident()):
            hold = _blas_holds.get(key)
            if hold is None:
                continue
            hold[0] -= 1
            if hold[0] == 0:
                del _blas_holds[key]
                if hold[1] != 1:
                    _set_blas_threads(lib, hold[1])


def _hold_blas_to_one_thread(hold: bool) -> None:
    """Hold BLAS to one thread for set_num_threads(1), or let go of that hold."""
    global _held_by_setting
    if hold and _held_by_setting is None:
        _held_by_setting = threading.get_ident()
        _hold_blas(_held_by_setting)
    elif not hold and _held_by_setting is not None:
        thread, _held_by_setting = _held_by_setting, None
        _release_blas(thread)


def can_limit_blas() -> bool:
    """True if NumPy's BLAS threads can be held to one while our slices run."""
    return bool(_find_blas())


if _threads == 1:  # TINYGRAD_NP_NUM_THREADS=1 (or OMP_NUM_THREADS=1): BLAS on one thread too
    _hold_blas_to_one_thread(True)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS on one thread inside the block; its previous thread counts are given back when the
    last block (in any thread) ends and set_num_threads(1) does not hold it."""
    _hold_blas()
    try:
        yield
    finally:
        _release_blas()


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


def threads_worth(n: int, seconds_per_item: float) -> int:
    """How many threads n items of `seconds_per_item` work each are worth (at least 1, at most n),
    whatever the thread count."""
    if MIN_SECONDS_PER_THREAD <= 0:
        return max(1, n)
    return max(1, min(n, int(n * seconds_per_item / MIN_SECONDS_PER_THREAD)))


def pieces_for(n: int, seconds_per_item: float, uses_blas: bool = False) -> int:
    """How many slices to cut range(n) into, for `seconds_per_item` of work per item on one core."""
    if _threads == 1 or n < 2 or getattr(_local, "busy", False):
        return 1
    if uses_blas and not can_limit_blas():
        return 1
    return min(_threads, threads_worth(n, seconds_per_item))


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
    after every slice has finished. An interrupt (KeyboardInterrupt from Ctrl-C, or any other
    exception raised in the calling thread by a signal handler) also waits for the helper
    threads to finish their slices before it propagates: they are idle and the BLAS thread
    count is restored when it reaches the caller, and every later call gets its own results.
    """
    pieces = pieces_for(n, seconds_per_item, uses_blas)
    if pieces == 1 or not _dispatch_lock.acquire(blocking=False):
        return [task(slice(0, n))]
    try:
        with single_threaded_blas() if uses_blas else contextlib.nullcontext():
            outcomes = _run_split(split_range(n, pieces), task)
    finally:
        _dispatch_lock.release()
    for _, error in outcomes:
        if error is not None:
            raise error
    return [result for result, _ in outcomes]


def _run_split(parts: list[slice], task: Callable[[slice], T]) -> list[tuple[Any, BaseException | None]]:
    """(result, error) of each slice: the first run by the calling thread, the others by helpers."""
    helpers = _get_workers(len(parts) - 1)
    error_state: Any = np.geterr()
    if error_state == _worker_error_state:
        error_state = None  # nothing to carry over (saves ~8 us per dispatch)
    call = next(_calls)
    try:
        for worker, part in zip(helpers, parts[1:], strict=False):
            worker.submit(call, task, part, error_state)
        outcomes: list[tuple[Any, BaseException | None]] = [(_run_marked(task, parts[0]), None)]
        outcomes.extend(worker.result(call) for worker in helpers)
    except BaseException:  # the caller's slice failed, or an interrupt came in anywhere above
        _finish_all(helpers)
        raise
    return outcomes


def _finish_all(helpers: list[_Worker]) -> None:
    """Wait until every helper has finished the slices it was given; further interrupts while
    waiting are held back (the one being handled is raised by the caller)."""
    for worker in helpers:
        while True:
            try:
                worker.finish()
                break
            except BaseException:  # a second Ctrl-C: keep waiting, the slices are short
                continue


def for_each_slice(n: int, seconds_per_item: float, task: Callable[[slice], Any], uses_blas: bool = False) -> None:
    """Run `task` on slices of range(n), in parallel when the work is large (see map_slices)."""
    map_slices(n, seconds_per_item, task, uses_blas)


__all__ = ["num_threads", "set_num_threads", "map_slices", "for_each_slice", "split_range",
           "single_threaded_blas", "can_limit_blas", "pieces_for", "threads_worth", "forced_split",
           "MIN_SECONDS_PER_THREAD"]
