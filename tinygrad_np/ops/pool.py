"""Average and max pooling (NCHW) over whole batches: loops over the KH*KW kernel offsets (one
strided slice each), never over pixels.

Their gradients are linear in the incoming gradient, so each is an op of its own when the backward
is recorded (`create_graph=True`), whose gradient is pooling again: `AvgPoolGrad` <-> `AvgPool2d`,
`MaxPoolGrad` <-> `MaxPoolSelect` (the winners of each window are constants there)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from ..tensor import Tensor, as_tensor
from . import dual, parallel
from .accumulate import accumulator, sum_of
from .shape_checks import check_nchw, pair

# Seconds per element of one pass over an array on one core (float32, out of cache, measured
# here), to decide whether an op is worth splitting over the threads (parallel.py).
_PASS_SECONDS = 0.5e-9
Pair = tuple[int, int]


def _offset_slices(kh: int, kw: int, sh: int, sw: int, oh: int, ow: int) -> Iterator[tuple[slice, slice]]:
    """For each kernel offset (i, j): the rows and columns of the input it reads, one per output."""
    for i in range(kh):
        for j in range(kw):
            yield slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)


def avg_pool_arrays(x: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """Mean over kh x kw windows of x (N, C, H, W) -> (N, C, OH, OW), floor output size."""
    (kh, kw), (sh, sw) = kernel, stride
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    width = sw * (ow - 1) + kw  # input columns that some window reads
    out = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    scale = np.asarray(1.0 / (kh * kw), dtype=out.dtype)

    def run(images: slice) -> None:
        xs = x[images]
        # (n, C, OH, width): sum over the kernel rows
        row_sums = sum_of([xs[:, :, i:i + sh * (oh - 1) + 1:sh, :width] for i in range(kh)])
        # (n, C, OH, OW): sum over the kernel columns
        o = sum_of([row_sums[..., j:j + sw * (ow - 1) + 1:sw] for j in range(kw)], out=out[images])
        o *= scale

    parallel.for_each_slice(x.shape[0], x[:1].size * kh * _PASS_SECONDS, run)
    return out


def avg_pool_grad_arrays(grad: np.ndarray, shape: tuple[int, ...], kernel: Pair, stride: Pair) -> np.ndarray:
    """The gradient of mean pooling for an input of `shape`: each input gets 1/(kh*kw) of the
    gradient of every window it is in."""
    (kh, kw), (sh, sw) = kernel, stride
    n, c, oh, ow = grad.shape
    scale = np.asarray(1.0 / (kh * kw), dtype=grad.dtype)
    if (sh, sw) == (kh, kw):  # windows tile the input: each input gets its window's share
        exact = shape[2:] == (oh * kh, ow * kw)  # else floor left rows/columns with no window
        gx = np.empty(shape, dtype=grad.dtype) if exact else np.zeros(shape, dtype=grad.dtype)

        def run(images: slice) -> None:
            rows = np.repeat(grad[images], kw, axis=3)  # (n, C, OH, OW*KW): one window row
            rows *= scale
            # (n, C, OH*KH, OW*KW) viewed as (n, C, OH, KH, OW*KW): copy the row KH times
            m = rows.shape[0]
            gx[images, :, :oh * kh, :ow * kw].reshape(m, c, oh, kh, ow * kw)[...] = rows[:, :, :, None, :]

        parallel.for_each_slice(n, gx[:1].size * 2 * _PASS_SECONDS, run)
        return gx
    share = grad * scale
    gx = accumulator(shape, grad.dtype)
    for rows, cols in _offset_slices(kh, kw, sh, sw, oh, ow):
        gx[:, :, rows, cols] += share
    return gx


def max_pool_arrays(x: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """Max over kh x kw windows of x (N, C, H, W) -> (N, C, OH, OW), floor output size.

    Separable, on all cores when large: first the max over the kh kernel rows (strided slices of
    whole rows, so the inner loop runs over contiguous columns), then over the kw columns of that.
    """
    (kh, kw), (sh, sw) = kernel, stride
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    width = sw * (ow - 1) + kw  # input columns that some window reads
    out = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)

    def run(images: slice) -> None:
        xs = x[images]
        rows = [xs[:, :, i:i + sh * (oh - 1) + 1:sh, :width] for i in range(kh)]
        row_max = rows[0].copy() if kh == 1 else np.maximum(rows[0], rows[1])  # (n, C, OH, width)
        for r in rows[2:]:
            np.maximum(row_max, r, out=row_max)
        cols = [row_max[..., j:j + sw * (ow - 1) + 1:sw] for j in range(kw)]
        o = out[images]
        if kw == 1:
            o[...] = cols[0]
            return
        np.maximum(cols[0], cols[1], out=o)
        for c in cols[2:]:
            np.maximum(o, c, out=o)

    parallel.for_each_slice(x.shape[0], x[:1].size * _PASS_SECONDS, run)
    return out


def _winners(x: np.ndarray, out: np.ndarray, kernel: Pair, stride: Pair) -> tuple[list[np.ndarray], np.ndarray]:
    """For each kernel offset, where its input equals the window's maximum (bool, out's shape), and
    how many inputs tie for each window's maximum (at least 1 unless the window holds a NaN)."""
    masks = [np.equal(x[:, :, rows, cols], out) for rows, cols in _offset_slices(*kernel, *stride, *out.shape[2:])]
    count = masks[0].astype(np.uint8) if len(masks) < 256 else masks[0].astype(np.int64)
    for m in masks[1:]:
        count += m
    return masks, count


def max_pool_grad_arrays(grad: np.ndarray, x: np.ndarray, out: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """Each window's gradient shared evenly among the inputs that tie for its maximum.

    Windows that tile the input (stride = kernel) write each input once, on all cores when large;
    overlapping windows add their shares.
    """
    (kh, kw), (sh, sw) = kernel, stride
    n, c, oh, ow = out.shape
    if (sh, sw) != (kh, kw):
        masks, count = _winners(x, out, kernel, stride)
        share = grad / count
        gx = accumulator(x.shape, grad.dtype)
        for m, (rows, cols) in zip(masks, _offset_slices(kh, kw, sh, sw, oh, ow), strict=True):
            gx[:, :, rows, cols] += m * share
        return gx
    exact = x.shape[2:] == (oh * kh, ow * kw)  # else floor left rows/columns with no window
    gx = np.empty(x.shape, dtype=grad.dtype) if exact else np.zeros(x.shape, dtype=grad.dtype)

    def run(images: slice) -> None:
        masks, count = _winners(x[images], out[images], kernel, stride)
        share = np.divide(grad[images], count, dtype=gx.dtype)
        g = gx[images]
        for m, (rows, cols) in zip(masks, _offset_slices(kh, kw, sh, sw, oh, ow), strict=True):
            np.multiply(m, share, out=g[:, :, rows, cols])

    parallel.for_each_slice(n, x[:1].size * 3 * _PASS_SECONDS, run)
    return gx


def max_pool_select_arrays(u: np.ndarray, x: np.ndarray, out: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """The adjoint of `max_pool_grad_arrays`: for each window, the mean of u over its tied maxima."""
    masks, count = _winners(x, out, kernel, stride)
    total = accumulator(out.shape, u.dtype)
    for m, (rows, cols) in zip(masks, _offset_slices(*kernel, *stride, *out.shape[2:]), strict=True):
        total += m * u[:, :, rows, cols]
    return total / count


class AvgPool2d(Function):
    """Mean over kh x kw windows at the given stride (floor: partial windows are dropped).

    The window sum is separable: first the kh row offsets are added (strided slices of whole
    rows, so the inner loop runs over contiguous columns), then the kw column offsets of that.
    """
    op_name = "avg_pool2d"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
        ctx.save_for_backward(x.shape)
        return avg_pool_arrays(x, kernel, stride)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (shape,) = ctx.saved_tensors
        kernel, stride = ctx.attrs["kernel"], ctx.attrs["stride"]
        if dual.is_tensor(grad):
            return AvgPoolGrad.apply(grad, shape=shape, kernel=kernel, stride=stride)
        return avg_pool_grad_arrays(grad, shape, kernel, stride)


class AvgPoolGrad(Function):
    """The gradient of mean pooling as an op; its own gradient is mean pooling."""
    op_name = "avg_pool2d_backward"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, grad: np.ndarray, shape: tuple[int, ...], kernel: Pair, stride: Pair) -> np.ndarray:
        return avg_pool_grad_arrays(grad, shape, kernel, stride)

    @staticmethod
    def backward(ctx: Context, u: Any) -> Any:
        kernel, stride = ctx.attrs["kernel"], ctx.attrs["stride"]
        if dual.is_tensor(u):
            return AvgPool2d.apply(u, kernel=kernel, stride=stride)
        return avg_pool_arrays(u, kernel, stride)


class MaxPool2d(Function):
    """Max over kh x kw windows; tied maxima in a window share the gradient evenly."""
    op_name = "max_pool2d"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
        out = max_pool_arrays(x, kernel, stride)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, out = (dual.array(v) for v in ctx.saved_tensors)  # which inputs won: constants
        kernel, stride = ctx.attrs["kernel"], ctx.attrs["stride"]
        if dual.is_tensor(grad):
            return MaxPoolGrad.apply(grad, x, out, kernel=kernel, stride=stride)
        return max_pool_grad_arrays(grad, x, out, kernel, stride)


class MaxPoolGrad(Function):
    """The gradient of max pooling as an op, linear in the incoming gradient (the winners of each
    window, given by the constant inputs x and out, stay fixed)."""
    op_name = "max_pool2d_backward"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, grad: np.ndarray, x: np.ndarray, out: np.ndarray, kernel: Pair,
                stride: Pair) -> np.ndarray:
        ctx.save_for_backward(x, out)
        return max_pool_grad_arrays(grad, x, out, kernel, stride)

    @staticmethod
    def backward(ctx: Context, u: Any) -> tuple[Any, None, None]:
        x, out = (dual.array(v) for v in ctx.saved_tensors)
        kernel, stride = ctx.attrs["kernel"], ctx.attrs["stride"]
        if dual.is_tensor(u):
            return MaxPoolSelect.apply(u, x, out, kernel=kernel, stride=stride), None, None
        return max_pool_select_arrays(u, x, out, kernel, stride), None, None


class MaxPoolSelect(Function):
    """The adjoint of `MaxPoolGrad`: each window's mean over its tied maxima."""
    op_name = "max_pool2d_select"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, u: np.ndarray, x: np.ndarray, out: np.ndarray, kernel: Pair,
                stride: Pair) -> np.ndarray:
        ctx.save_for_backward(x, out)
        return max_pool_select_arrays(u, x, out, kernel, stride)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None, None]:
        x, out = (dual.array(v) for v in ctx.saved_tensors)
        kernel, stride = ctx.attrs["kernel"], ctx.attrs["stride"]
        if dual.is_tensor(grad):
            return MaxPoolGrad.apply(grad, x, out, kernel=kernel, stride=stride), None, None
        return max_pool_grad_arrays(grad, x, out, kernel, stride), None, None


def _pool_args(op: str, x: Tensor, kernel_size: Any, stride: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    check_nchw(op, x)
    kernel = pair(kernel_size, "kernel_size", op, 1)
    strides = kernel if stride is None else pair(stride, "stride", op, 1)
    if kernel[0] > x.shape[2] or kernel[1] > x.shape[3]:
        raise ValueError(f"{op}: kernel {kernel[0]}x{kernel[1]} is larger than the input "
                         f"{x.shape[2]}x{x.shape[3]} (input {x.shape})")
    return kernel, strides


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> Tensor:
    """Mean pooling; stride defaults to kernel_size; output (H - KH) // SH + 1 (floor, like PyTorch)."""
    x = as_tensor(x)
    kernel, strides = _pool_args("avg_pool2d", x, kernel_size, stride)
    return AvgPool2d.apply(x, kernel=kernel, stride=strides)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> Tensor:
    """Max pooling; stride defaults to kernel_size; floor output size like PyTorch."""
    x = as_tensor(x)
    kernel, strides = _pool_args("max_pool2d", x, kernel_size, stride)
    return MaxPool2d.apply(x, kernel=kernel, stride=strides)
