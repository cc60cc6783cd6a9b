"""conv2d, threshold and pooling primitives (NCHW), and the checked functions users call.

conv2d lowers to matrix products (conv_algorithms.py). Pooling works on whole batches at
once: it loops over the KH*KW kernel offsets (one strided slice each), never over pixels.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Optional, Tuple

import numpy as np

from . import conv_algorithms as algo
from . import parallel
from .autograd import Context, Function
from .ops import accumulator, sum_of
from .shape_checks import pair
from .tensor import Tensor


# Seconds per element of one pass over an array on one core (float32, out of cache, measured
# here), to decide whether an op is worth splitting over the threads (parallel.py).
_PASS_SECONDS = 0.5e-9
# The threshold's contiguous add, per element on one core, its input in cache as it is after
# the conv that feeds it (0.144 ms for the CNN's first layer at batch 64, 614,400 elements).
_ADD_SECONDS = 0.25e-9


def _pad_hw(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _crop_hw(g: np.ndarray, ph: int, pw: int) -> np.ndarray:
    h, w = g.shape[2], g.shape[3]
    return g[:, :, ph:h - ph, pw:w - pw]


class Conv2d(Function):
    """Cross-correlation of x (N, C, H, W) with w (F, C, KH, KW), optional bias (F,).

    The lowering to matrix products (band or im2col) is chosen by shape, for each pass on its
    own; see conv_algorithms.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, *bias: np.ndarray,
                stride: Tuple[int, int], padding: Tuple[int, int]) -> np.ndarray:
        (sh, sw), (ph, pw) = stride, padding
        f, c, kh, kw = w.shape
        xp = _pad_hw(x, ph, pw)
        oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
        empty = x.shape[0] == 0 or f == 0
        ctx.save_for_backward(xp, w, empty)
        if empty:  # empty batch or no filters: an empty output, as in PyTorch
            return np.zeros((x.shape[0], f, oh, ow), dtype=np.result_type(x, w))
        algorithm, block = algo.choose_algorithm(xp.shape, w.shape, stride, (oh, ow), "forward")
        if algorithm == "band":
            out = algo.band_forward(xp, w, sh, sw, oh, ow, block)
        else:
            out = algo.im2col_forward(xp, w, sh, sw, oh, ow)
        if bias:
            out += bias[0].reshape(1, f, 1, 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Tuple[Optional[np.ndarray], ...]:
        xp, w, empty = ctx.saved_tensors
        stride = ctx.attrs["stride"]
        (sh, sw), (ph, pw) = stride, ctx.attrs["padding"]
        if empty:
            zeros = (_crop_hw(np.zeros(xp.shape, grad.dtype), ph, pw), np.zeros(w.shape, grad.dtype))
            return zeros + ((np.zeros(w.shape[0], grad.dtype),) if len(ctx.needs_input_grad) == 3 else ())
        grad = np.ascontiguousarray(grad)
        gx = gw = None
        if ctx.needs_input_grad[0]:
            algorithm, block = algo.choose_algorithm(xp.shape, w.shape, stride, grad.shape[2:], "input_grad")
            if algorithm == "band":
                gxp = algo.band_input_grad(grad, w, xp.shape, sh, sw, block)
            else:
                gxp = algo.im2col_input_grad(grad, w, xp.shape, sh, sw)
            gx = _crop_hw(gxp, ph, pw)
        if ctx.needs_input_grad[1]:
            algorithm, block = algo.choose_algorithm(xp.shape, w.shape, stride, grad.shape[2:], "weight_grad")
            if algorithm == "band":
                gw = algo.band_weight_grad(xp, grad, w.shape, sh, sw, block)
            else:
                gw = algo.im2col_weight_grad(xp, grad, w.shape, sh, sw)
        grads: Tuple[Optional[np.ndarray], ...] = (gx, gw)
        if len(ctx.needs_input_grad) == 3:
            grads += (grad.sum(axis=(0, 2, 3)) if ctx.needs_input_grad[2] else None,)
        return grads


class Threshold(Function):
    """x (N, C, ...) plus a per-channel threshold t (C,): the original project's "threshold pile"."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, dtype=np.result_type(x, t))
        n = x.shape[0]
        if x.flags.c_contiguous:
            # each image as one row (C*H*W,) plus the thresholds repeated H*W times each: a
            # contiguous add, about twice as fast as broadcasting t over (1, C, 1, 1), whose
            # inner loop adds one scalar to each H*W run (docs/benchmarks.md)
            spatial = math.prod(x.shape[2:])
            rows, per_channel = x.reshape(n, x.shape[1] * spatial), np.repeat(t, spatial)
            out_rows = out.reshape(rows.shape)
        else:
            rows, per_channel = x, t.reshape((1, -1) + (1,) * (x.ndim - 2))
            out_rows = out

        def run(images: slice) -> None:
            np.add(rows[images], per_channel, out=out_rows[images])

        parallel.for_each_slice(n, x[:1].size * _ADD_SECONDS, run)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        if not ctx.needs_input_grad[1]:
            return grad, None
        spatial = tuple(range(2, grad.ndim))
        if not spatial:
            return grad, grad.sum(axis=0)

        def run(images: slice) -> np.ndarray:
            return grad[images].sum(axis=spatial)  # (n, C): each image's sums, whatever the slice

        # (N, C) summed over the batch in one place: the result does not depend on the slices
        per_image = np.concatenate(parallel.map_slices(grad.shape[0], grad[:1].size * _PASS_SECONDS, run))
        return grad, per_image.sum(axis=0)


def _offset_slices(kh: int, kw: int, sh: int, sw: int, oh: int, ow: int) -> Iterator[Tuple[slice, slice]]:
    """For each kernel offset (i, j): the rows and columns of the input it reads, one per output."""
    for i in range(kh):
        for j in range(kw):
            yield slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)


class AvgPool2d(Function):
    """Mean over kh x kw windows at the given stride (floor: partial windows are dropped).

    The window sum is separable: first the kh row offsets are added (strided slices of whole
    rows, so the inner loop runs over contiguous columns), then the kw column offsets of that.
    """
    op_name = "avg_pool2d"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, kernel: Tuple[int, int], stride: Tuple[int, int]) -> np.ndarray:
        (kh, kw), (sh, sw) = kernel, stride
        oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
        ctx.save_for_backward(x.shape)
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

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (shape,) = ctx.saved_tensors
        (kh, kw), (sh, sw) = ctx.attrs["kernel"], ctx.attrs["stride"]
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


class MaxPool2d(Function):
    """Max over kh x kw windows; tied maxima in a window share the gradient evenly."""
    op_name = "max_pool2d"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, kernel: Tuple[int, int], stride: Tuple[int, int]) -> np.ndarray:
        (kh, kw), (sh, sw) = kernel, stride
        oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
        offsets = _offset_slices(kh, kw, sh, sw, oh, ow)
        rows, cols = next(offsets)
        out = x[:, :, rows, cols].copy()
        for rows, cols in offsets:
            np.maximum(out, x[:, :, rows, cols], out=out)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        x, out = ctx.saved_tensors
        (kh, kw), (sh, sw) = ctx.attrs["kernel"], ctx.attrs["stride"]
        oh, ow = out.shape[2:]
        count = accumulator(out.shape, grad.dtype)  # how many inputs tie for each window's max
        for rows, cols in _offset_slices(kh, kw, sh, sw, oh, ow):
            count += x[:, :, rows, cols] == out
        share = grad / count
        gx = accumulator(x.shape, grad.dtype)
        for rows, cols in _offset_slices(kh, kw, sh, sw, oh, ow):
            gx[:, :, rows, cols] += (x[:, :, rows, cols] == out) * share
        return gx


# ------------------------------------------------------------ checked API
def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _check_nchw(op: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {x.shape}")


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0) -> Tensor:
    """2-D cross-correlation like PyTorch's conv2d: x (N, C, H, W), weight (F, C, KH, KW) -> (N, F, OH, OW).

    OH = (H + 2*ph - KH) // sh + 1. For the flipped-kernel ("true") convolution of the
    original project, pass `weight[:, :, ::-1, ::-1]`.
    """
    x, weight = _as_tensor(x), _as_tensor(weight)
    sh, sw = pair(stride, "stride", "conv2d", 1)
    ph, pw = pair(padding, "padding", "conv2d", 0)
    _check_nchw("conv2d", x)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (F, C, KH, KW), got shape {weight.shape}")
    n, c, h, w = x.shape
    f, wc, kh, kw = weight.shape
    if c != wc:
        raise ValueError(f"conv2d: input has {c} channels but weight expects {wc} "
                         f"(input {x.shape}, weight {weight.shape})")
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ValueError(f"conv2d: kernel {kh}x{kw} is larger than the padded input "
                         f"{h + 2 * ph}x{w + 2 * pw} (input {x.shape}, padding {(ph, pw)})")
    inputs = [x, weight]
    if bias is not None:
        bias = _as_tensor(bias)
        if bias.shape != (f,):
            raise ValueError(f"conv2d: bias must have shape ({f},) for weight {weight.shape}, got {bias.shape}")
        inputs.append(bias)
    return Conv2d.apply(*inputs, stride=(sh, sw), padding=(ph, pw))


def threshold(x: Any, t: Any) -> Tensor:
    """Add a per-channel threshold t (C,) to x (N, C, ...) over every other axis."""
    x, t = _as_tensor(x), _as_tensor(t)
    if x.ndim < 2:
        raise ValueError(f"threshold: input must have a channel axis (N, C, ...), got shape {x.shape}")
    if t.shape != (x.shape[1],):
        raise ValueError(f"threshold: expected {x.shape[1]} thresholds, shape ({x.shape[1]},), for input "
                         f"{x.shape}, got shape {t.shape}")
    return Threshold.apply(x, t)


def _pool_args(op: str, x: Tensor, kernel_size: Any, stride: Any) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    _check_nchw(op, x)
    kernel = pair(kernel_size, "kernel_size", op, 1)
    strides = kernel if stride is None else pair(stride, "stride", op, 1)
    if kernel[0] > x.shape[2] or kernel[1] > x.shape[3]:
        raise ValueError(f"{op}: kernel {kernel[0]}x{kernel[1]} is larger than the input "
                         f"{x.shape[2]}x{x.shape[3]} (input {x.shape})")
    return kernel, strides


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> Tensor:
    """Mean pooling; stride defaults to kernel_size; output (H - KH) // SH + 1 (floor, like PyTorch)."""
    x = _as_tensor(x)
    kernel, strides = _pool_args("avg_pool2d", x, kernel_size, stride)
    return AvgPool2d.apply(x, kernel=kernel, stride=strides)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> Tensor:
    """Max pooling; stride defaults to kernel_size; floor output size like PyTorch."""
    x = _as_tensor(x)
    kernel, strides = _pool_args("max_pool2d", x, kernel_size, stride)
    return MaxPool2d.apply(x, kernel=kernel, stride=strides)
