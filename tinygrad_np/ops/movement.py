"""Movement primitives: reshape, permute, indexing, padding, concatenation and broadcasting.

The backward passes are written so they also run on tensors when the backward is recorded
(`create_graph=True`); indexing's backward is an op of its own (`IndexGrad`, a scatter-add), whose
backward is indexing again.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from . import dual
from .accumulate import accumulator


class Reshape(Function):
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.save_for_backward(a.shape)
        return a.reshape(shape)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (shape,) = ctx.saved_tensors
        return grad.reshape(shape)


class Permute(Function):
    op_name = "permute"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        return a.transpose(axes)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return dual.permute(grad, [int(a) for a in np.argsort(ctx.attrs["axes"])])


def _scatter_add(grad: np.ndarray, shape: tuple[int, ...], index: Any) -> np.ndarray:
    """zeros(shape) with grad added at [index] (repeated indices add up)."""
    out = accumulator(shape, grad.dtype)
    np.add.at(out, index, grad)
    return out


def _take(x: Any, index: Any) -> Any:
    """x[index]: a recorded `Index` for a tensor (the index is already checked)."""
    return Index.apply(x, index=index) if dual.is_tensor(x) else np.asarray(x[index])


class Index(Function):
    """x[index] for basic and advanced indices; repeated indices accumulate in backward."""

    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, index: Any) -> np.ndarray:
        ctx.save_for_backward(a.shape)
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (shape,) = ctx.saved_tensors
        if dual.is_tensor(grad):
            return IndexGrad.apply(grad, shape=shape, index=ctx.attrs["index"])
        return _scatter_add(grad, shape, ctx.attrs["index"])


class IndexGrad(Function):
    """The backward of `x[index]` as an op: zeros of x's shape with the gradient added at [index]."""

    op_name = "index_backward"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, grad: np.ndarray, shape: tuple[int, ...], index: Any) -> np.ndarray:
        return _scatter_add(grad, shape, index)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return _take(grad, ctx.attrs["index"])


class Pad(Function):
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, pad_width: tuple[tuple[int, int], ...], value: float) -> np.ndarray:
        return np.pad(a, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        crop = tuple(slice(lo, n - hi) for (lo, hi), n in zip(ctx.attrs["pad_width"], grad.shape, strict=True))
        return _take(grad, crop)


class Concatenate(Function):
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, axis: int) -> np.ndarray:
        ctx.save_for_backward(np.cumsum([0] + [x.shape[axis] for x in arrays]))
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, ...]:
        (bounds,) = ctx.saved_tensors
        lead = (slice(None),) * ctx.attrs["axis"]
        return tuple(_take(grad, lead + (slice(int(lo), int(hi)),)) for lo, hi in zip(bounds[:-1], bounds[1:],
                                                                                      strict=True))


class BroadcastTo(Function):
    """x broadcast to a larger shape (NumPy's rules); the engine sums the gradient back."""

    op_name = "broadcast_to"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad  # reduced to the input's shape by the engine (sum_to_shape)
