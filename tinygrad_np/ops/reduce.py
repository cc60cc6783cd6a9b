"""Reductions: sum and max over axes (max's gradient is shared evenly among tied maxima)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Context, Function


def _expand_reduced(grad: np.ndarray, shape: tuple[int, ...], axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes of `grad` as size-1 dims so it broadcasts against `shape`."""
    if not keepdims:
        grad = np.expand_dims(grad, axis) if axis else grad.reshape((1,) * len(shape))
    return grad


class Sum(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
        ctx.save_for_backward(a.shape)
        return np.asarray(a.sum(axis=axis or None, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (shape,) = ctx.saved_tensors
        axis = ctx.attrs["axis"] or tuple(range(len(shape)))
        g = _expand_reduced(grad, shape, axis, ctx.attrs["keepdims"])
        return np.broadcast_to(g, shape)


class Max(Function):
    """Maximum over axes; equal maxima share the gradient evenly."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
        axes = axis or tuple(range(a.ndim))
        if any(a.shape[i] == 0 for i in axes):  # reducing (0, 3) over axis 1 is fine: result (0,)
            raise ValueError(f"max: cannot reduce an empty tensor of shape {a.shape}"
                             + (f" over axis {axis}" if axis else ""))
        out = a.max(axis=axes, keepdims=True)
        ctx.save_for_backward(a, out)
        return out if keepdims else np.asarray(out.reshape([n for i, n in enumerate(a.shape) if i not in axes]))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        a, out = ctx.saved_tensors
        axes = ctx.attrs["axis"] or tuple(range(a.ndim))
        winners = a == out
        count = winners.sum(axis=axes, keepdims=True)
        g = grad.reshape(out.shape)
        return winners * (g / count)
