"""Helpers shared by the functional modules: lifting arguments to tensors, reductions, checks."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...tensor import Tensor, as_tensor

REDUCTIONS = ("mean", "sum", "none")


def lift(x: Any, like: Tensor | None = None) -> Tensor:
    """`x` if it is a Tensor; else a Tensor of it, in `like`'s float dtype when given."""
    if isinstance(x, Tensor):
        return x
    return like._lift(x) if like is not None else as_tensor(x)


def check_reduction(reduction: Any, op: str, allowed: tuple[str, ...] = REDUCTIONS) -> str:
    """The reduction name, or a ValueError naming the op and the allowed names."""
    if reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ValueError(f"{op}: reduction must be {names}, got {reduction!r}")
    return str(reduction)


def reduce_loss(loss: Tensor, reduction: str, op: str) -> Tensor:
    """Mean, sum, or the elementwise loss itself ('none')."""
    reduction = check_reduction(reduction, op)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def same_shape(op: str, a: Tensor, b: Tensor, what: str = "target") -> None:
    """A ValueError unless a and b have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"{op}: input has shape {a.shape} but {what} has shape {b.shape}")


def broadcastable(op: str, shape: tuple[int, ...], other: tuple[int, ...], what: str) -> None:
    """A ValueError unless an array of shape `other` broadcasts to `shape` (without growing it)."""
    try:
        ok = np.broadcast_shapes(shape, other) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{op}: {what} of shape {other} does not broadcast to the input's shape {shape}")


def constant(values: np.ndarray, like: Tensor) -> Tensor:
    """A Tensor (no grad) of `values` in `like`'s float dtype."""
    return Tensor(values, dtype=like.dtype if like.dtype.kind == "f" else None)


def int_array(x: Any, op: str, what: str) -> np.ndarray:
    """The integer array behind x (a Tensor or array-like), or a TypeError."""
    arr = np.asarray(x.data if isinstance(x, Tensor) else x)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: {what} must be integers, got dtype {arr.dtype}")
    return arr


def check_probability(p: Any, op: str) -> float:
    """p as a float in [0, 1], or a ValueError."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability p must be a number in [0, 1], got {p!r}")
    return float(p)


