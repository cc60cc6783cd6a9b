"""Movement primitives: reshape, permute, indexing, padding and concatenation."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from .accumulate import accumulator


class Reshape(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.save_for_backward(a.shape)
        return a.reshape(shape)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (shape,) = ctx.saved_tensors
        return grad.reshape(shape)


class Permute(Function):
    op_name = "permute"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        return a.transpose(axes)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return grad.transpose(np.argsort(ctx.attrs["axes"]))


class Index(Function):
    """x[index] for basic and advanced indices; repeated indices accumulate in backward."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, index: Any) -> np.ndarray:
        ctx.save_for_backward(a.shape)
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (shape,) = ctx.saved_tensors
        out = accumulator(shape, grad.dtype)
        np.add.at(out, ctx.attrs["index"], grad)
        return out


class Pad(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, pad_width: tuple[tuple[int, int], ...], value: float) -> np.ndarray:
        return np.pad(a, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        crop = tuple(slice(lo, n - hi) for (lo, hi), n in zip(ctx.attrs["pad_width"], grad.shape, strict=False))
        return grad[crop]


class Concatenate(Function):
    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, axis: int) -> np.ndarray:
        ctx.save_for_backward(np.cumsum([x.shape[axis] for x in arrays])[:-1])
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, ...]:
        (splits,) = ctx.saved_tensors
        return tuple(np.split(grad, splits, axis=ctx.attrs["axis"]))
