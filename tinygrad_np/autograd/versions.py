"""Protection of saved arrays: version counters, snapshots, and the check run before each backward.

Every tensor has a `VersionCounter` (shared with its `detach()`-ed copies, which share the array).
Assigning `tensor.data = ...` (which `tensor.data -= lr * g` also does) bumps the version.
When an op records its backward and has saved one of its input arrays (or its own output),
the Context remembers that tensor's counter and version (`watch_saved`) and the counter's
`live` count goes up until the Context is released or freed.

Writes through the array returned by the `.data` getter (`x.data[0] = 0`) never call the setter.
So when the getter is called on a tensor whose array is saved by a live graph (`live > 0`), a
copy of the array is taken first (the snapshot); at the next check the copy is compared with the
array, and a difference counts as one more version. Internal code reads `tensor._data`, so
normal runs take no snapshot and pay one integer test per getter call.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .anomaly import creation_note

if TYPE_CHECKING:  # pragma: no cover
    from ..tensor import Tensor
    from .function import Context


class VersionCounter:
    """How many times an array was modified in place, and how many live graph nodes saved it."""

    __slots__ = ("version", "live", "snapshot", "name")

    def __init__(self, name: str | None = None) -> None:
        self.name = name  # of the tensor that made it; views and detach() share it
        self.version = 0
        self.live = 0  # recorded, not yet released, Contexts that saved the array
        self.snapshot: tuple[np.ndarray, np.ndarray] | None = None  # (array, copy taken by the getter)

    def watch(self, arr: np.ndarray) -> None:
        """Called by the `.data` getter: copy `arr` before the caller can write into it."""
        if self.live and self.snapshot is None:
            self.snapshot = (arr, arr.copy())

    def sync(self) -> None:
        """Count a change made through the getter's array since the snapshot as one version."""
        if self.snapshot is None:
            return
        arr, copy = self.snapshot
        if arr.shape != copy.shape or not np.array_equal(arr, copy, equal_nan=arr.dtype.kind in "fc"):
            self.version += 1
            self.snapshot = (arr, arr.copy())  # the caller may still hold the array: keep watching

    def bump(self) -> None:
        """Called by the `.data` setter."""
        self.version += 1
        self.snapshot = None


def _owner(arr: np.ndarray) -> Any:
    """The object that owns arr's memory (arr itself unless arr is a view)."""
    base = arr.base
    return arr if base is None else base


def watch_saved(ctx: Context, out: np.ndarray, result: Tensor) -> None:
    """Record (counter, version, input index) for every input, or the output (-1), whose array ctx saved.

    A saved array counts if it is an input's array or the output array, or a view of the same
    memory. Runs on every recorded op that saved something, so the common case (the very
    array) is tested first and cheaply.
    """
    parents = ctx.parents
    watched = []
    for v in ctx._saved:  # type: ignore[union-attr]
        if type(v) is not np.ndarray:
            continue
        for i, t in enumerate(parents):  # noqa: B007  (i and t are used after the loop)
            if t._data is v:
                break
        else:
            if v is out or ((v.base is not None or out.base is not None) and _owner(v) is _owner(out)):
                i, t = -1, result
            elif v.base is not None:  # a view of an input's memory?
                i = next((j for j, p in enumerate(parents) if _owner(p._data) is v.base), -2)
                if i < 0:
                    continue
                t = parents[i]
            else:
                continue  # a fresh array (a mask, a padded copy...)
        counter = t._guard
        if counter is None:
            counter = t._guard = VersionCounter(t.name)
        elif counter.snapshot is not None:
            counter.sync()
        counter.live += 1
        watched.append((counter, counter.version, i))
    if watched:
        ctx._watched = tuple(watched)


def share_view_counter(parents: tuple[Tensor, ...], out: np.ndarray, result: Tensor) -> None:
    """If out is a view of an input's memory (reshape, transpose, slicing), share that input's counter."""
    owner = out.base
    for t in parents:
        if _owner(t._data) is owner:
            result._guard = t._counter()
            return


def unwatch(ctx: Context) -> None:
    """Drop ctx's claim on the arrays it saved (after its backward, or when it is freed)."""
    for counter, _, _ in ctx._watched:
        live = counter.live - 1
        counter.live = live
        if not live:
            counter.snapshot = None
    ctx._watched = ()


def check_versions(ctx: Context) -> None:
    """Raise if an array that ctx saved was modified in place after the op and before this backward."""
    for counter, version, i in ctx._watched:
        if counter.snapshot is not None:
            counter.sync()
        if counter.version != version:
            raise RuntimeError(_modified_message(ctx, i, version, counter.version))


def _modified_message(ctx: Context, i: int, saved: int, now: int) -> str:
    op = ctx.op_name
    if i >= 0:
        t = ctx.parents[i]
        var = t.name or t._counter().name or "x"
        shared = t._counter().name
        view = f", sharing memory with '{shared}'" if shared and shared != t.name else ""
        what = f"tensor {t._describe()} (input {i} of {op}{view})"
        fix = f"or give {op} a copy (tg.Tensor({var})) if {var} must change in between"
    else:
        what = f"the output of {op}"
        fix = "or change a copy of the output (tg.Tensor(y)) instead"
    scope = f" (in {'/'.join(ctx.scope)})" if ctx.scope else ""
    return (
        f"backward of {op}{scope}: {what} was modified in place after {op} saved it for backward: "
        f"saved at version {saved}, now at version {now}, so its gradient would be wrong. Update tensors "
        f"only after backward() (optimizer.step() after loss.backward()), {fix}."
        + (creation_note(ctx) or f" Record the forward pass inside tg.detect_anomaly() to see the line "
                                 f"that created {op}.")
    )
