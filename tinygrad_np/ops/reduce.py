"""Reductions: sum and max over axes (max's gradient is shared evenly among tied maxima).

The backward passes are written with `dual`, so they also run on tensors when the backward is
recorded (`create_graph=True`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from . import dual


def _kept_shape(shape: tuple[int, ...], axis: tuple[int, ...]) -> tuple[int, ...]:
    """`shape` with the reduced axes kept as size 1."""
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


class Sum(Function):
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
        ctx.save_for_backward(a.shape)
        return np.asarray(a.sum(axis=axis or None, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (shape,) = ctx.saved_tensors
        axis = ctx.attrs["axis"] or tuple(range(len(shape)))
        g = dual.reshape(grad, _kept_shape(shape, axis))  # re-insert the reduced axes as size 1
        return dual.broadcast_to(g, shape)


class Max(Function):
    """Maximum over axes; equal maxima share the gradient evenly."""

    differentiable_backward = True

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
    def backward(ctx: Context, grad: Any) -> Any:
        a, out = ctx.saved_tensors
        a, out = dual.array(a), dual.array(out)  # which elements won is a constant of the gradient
        axes = ctx.attrs["axis"] or tuple(range(a.ndim))
        winners = a == out
        count = winners.sum(axis=axes, keepdims=True)
        g = dual.reshape(grad, out.shape)
        return (g / count) * winners
