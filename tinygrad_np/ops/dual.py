"""Helpers that let one backward formula serve both passes: on ndarrays for an ordinary backward,
on tensors (recorded on the tape) when the engine runs with `create_graph=True`.

Arithmetic operators already work on both; these cover the rest. A value used only as a constant
of the gradient (a sign, a mask) is taken as an array either way: its own derivative is zero.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    pass


def is_tensor(x: Any) -> bool:
    """True for a tensor (of the tape), False for an ndarray or a number."""
    return hasattr(x, "_ctx")


def array(x: Any) -> np.ndarray:
    """The values of x as an ndarray (a constant of the backward graph)."""
    return x._data if is_tensor(x) else np.asarray(x)


def log(x: Any) -> Any:
    """Natural logarithm."""
    return x.log() if is_tensor(x) else np.log(x)


def sin(x: Any) -> Any:
    """Sine."""
    return x.sin() if is_tensor(x) else np.sin(x)


def cos(x: Any) -> Any:
    """Cosine."""
    return x.cos() if is_tensor(x) else np.cos(x)


def sigmoid(x: Any) -> Any:
    """1 / (1 + exp(-x))."""
    if is_tensor(x):
        return x.sigmoid()
    from .activation import stable_sigmoid

    return stable_sigmoid(x)


def power(x: Any, exponent: float) -> Any:
    """x ** exponent for a constant exponent, keeping x's dtype."""
    if is_tensor(x):
        return x ** float(exponent)
    return np.power(x, np.asarray(exponent, dtype=x.dtype))


def reshape(x: Any, shape: tuple[int, ...]) -> Any:
    """x in a new shape."""
    return x.reshape(shape)


def permute(x: Any, axes: tuple[int, ...] | list[int]) -> Any:
    """x with its axes reordered."""
    axes = tuple(int(a) for a in axes)
    return x.permute(axes) if is_tensor(x) else x.transpose(axes)


def swap_last(x: Any) -> Any:
    """x with its last two axes swapped (the transpose of each matrix of a batch)."""
    axes = list(range(x.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return permute(x, axes)


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    """x broadcast to `shape` (a read-only view for arrays)."""
    if is_tensor(x):
        from .movement import BroadcastTo

        return x if x.shape == tuple(shape) else BroadcastTo.apply(x, shape=tuple(shape))
    return np.broadcast_to(x, shape)


def sum(x: Any, axis: tuple[int, ...], keepdims: bool = False) -> Any:  # noqa: A001 (mirrors np.sum)
    """Sum over `axis`."""
    return x.sum(axis, keepdims=keepdims) if is_tensor(x) else x.sum(axis=axis, keepdims=keepdims)


def matmul(a: Any, b: Any) -> Any:
    """a @ b with NumPy's matmul semantics."""
    return a @ b if (is_tensor(a) or is_tensor(b)) else np.matmul(a, b)
