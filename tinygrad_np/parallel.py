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
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, List, Optional, TypeVar

T = TypeVar("T")

ENV_THREADS = "TINYGRAD_NP_NUM_THREADS"

#: Below this much work (elements touched, roughly) per thread, splitting costs more than it saves:
#: handing a slice to another thread and waiting for it takes some tens of microseconds.
MIN_WORK_PER_THREAD = 1 << 15


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
_pool: Optional[ThreadPoolExecutor] = None
_pool_lock = threading.Lock()
_local = threading.local()  # .busy: this thread is already running a slice (no nested splitting)


def num_threads() -> int:
    """How many threads one op may use (1: everything on the calling thread)."""
    return _threads


def set_num_threads(count: int) -> None:
    """Use `count` threads per op from now on (1 turns splitting off)."""
    global _threads, _pool
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"set_num_threads: count must be a positive integer, got {count!r}")
    with _pool_lock:
        _threads = count
        if _pool is not None:
            _pool.shutdown(wait=True)
            _pool = None


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_threads - 1, thread_name_prefix="tinygrad_np")
        return _pool


# ------------------------------------------------------------------ BLAS threads
_blas_libraries: Optional[List[Any]] = None  # threadpoolctl controllers of the loaded BLAS, found once


def _find_blas() -> List[Any]:
    global _blas_libraries
    if _blas_libraries is None:
        try:
            import numpy  # noqa: F401  (loads NumPy's BLAS, so that it is found)
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
    for lib, count in zip(libraries, previous):
        if count != 1:
            lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, count in zip(libraries, previous):
            if count != 1:
                lib.set_num_threads(count)


# ------------------------------------------------------------------ splitting
def split_range(n: int, pieces: int) -> List[slice]:
    """`pieces` contiguous slices of range(n), sizes differing by at most one."""
    base, extra = divmod(n, pieces)
    slices, start = [], 0
    for k in range(pieces):
        stop = start + base + (1 if k < extra else 0)
        slices.append(slice(start, stop))
        start = stop
    return slices


def pieces_for(n: int, work_per_item: float, uses_blas: bool = False) -> int:
    """How many slices to cut range(n) into, for `work_per_item` elements touched per item."""
    if _threads == 1 or n < 2 or getattr(_local, "busy", False):
        return 1
    if uses_blas and not can_limit_blas():
        return 1
    worth = int(n * work_per_item // MIN_WORK_PER_THREAD)
    return max(1, min(_threads, n, worth))


def _run_marked(task: Callable[[slice], T], part: slice) -> T:
    _local.busy = True
    try:
        return task(part)
    finally:
        _local.busy = False


def map_slices(n: int, work_per_item: float, task: Callable[[slice], T], uses_blas: bool = False) -> List[T]:
    """[task(s) for s in slices of range(n)], the slices run in parallel when the work is large.

    `task` must only write where its own slice says (outputs of different slices are disjoint),
    and must not depend on which thread runs it. `uses_blas`: the task calls matrix products.
    The results come back in slice order; the first exception raised by a slice is re-raised,
    after every slice has finished.
    """
    pieces = pieces_for(n, work_per_item, uses_blas)
    if pieces == 1:
        return [task(slice(0, n))]
    parts = split_range(n, pieces)
    with single_threaded_blas() if uses_blas else contextlib.nullcontext():
        futures = [_get_pool().submit(_run_marked, task, part) for part in parts[1:]]
        first_error: Optional[BaseException] = None
        results: List[Any] = []
        try:
            results.append(_run_marked(task, parts[0]))
        except BaseException as error:  # wait for the other slices before raising
            first_error = error
        for future in futures:
            try:
                results.append(future.result())
            except BaseException as error:
                first_error = first_error or error
    if first_error is not None:
        raise first_error
    return results


def for_each_slice(n: int, work_per_item: float, task: Callable[[slice], Any], uses_blas: bool = False) -> None:
    """Run `task` on slices of range(n), in parallel when the work is large (see map_slices)."""
    map_slices(n, work_per_item, task, uses_blas)


__all__ = ["num_threads", "set_num_threads", "map_slices", "for_each_slice", "split_range",
           "single_threaded_blas", "can_limit_blas", "pieces_for", "MIN_WORK_PER_THREAD"]
