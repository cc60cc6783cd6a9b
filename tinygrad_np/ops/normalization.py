"""Batch normalization with batch statistics (training mode) as one primitive.

For x (N, C, ...) with m = N * (product of the spatial sizes) values per channel:

    mean = sum(x) / m,  var = sum((x - mean)^2) / m  (biased),  invstd = 1 / sqrt(var + eps)
    y = (x - mean) * invstd * w + b

and, for an incoming gradient g of y's shape, the closed form of the backward pass:

    db = sum(g),  dw = sum(g * xhat) with xhat = (x - mean) * invstd
    dx = w * invstd * (g - db / m - xhat * dw / m)

The per-channel sums are per-image dot products through BLAS (a (1, L) x (L, 1) product for each
image and channel, L the spatial size), added over the batch in float64 in one place, so the
result does not depend on how the batch is split over the threads. The elementwise passes run
over blocks of images of about 1 MiB, each image as one row of C * L values with the per-channel
constants repeated L times (a contiguous inner loop whatever L is), on the calling thread: these
passes are bound by memory, and split over two threads here they ran slower than on one (a
(64, 32, 32, 32) batch: statistics 1.3 -> 2.1 ms, backward 4.7 -> 6.0 ms; docs/benchmarks.md).

Only the input, the batch mean and invstd are kept for the backward pass. Its recorded form
(`create_graph=True`) is the same formula written with tensor operations, the statistics
recomputed from the input tensor, so it can be differentiated again.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from . import parallel

# The number of values of a block that the passes of one step run over while it is in cache
# (1 MiB of float32: 256 KiB and 4 MiB blocks were slower, the first by the Python around the
# calls, the second by the cache).
_BLOCK_ELEMENTS = 1 << 18


def _block_images(per_image: int) -> int:
    """Images per block: about _BLOCK_ELEMENTS values, at least one image."""
    return max(1, _BLOCK_ELEMENTS // max(per_image, 1))


def _blocks(images: slice, per_image: int) -> Iterator[slice]:
    """`images` in blocks of about _BLOCK_ELEMENTS values (at least one image each)."""
    step = _block_images(per_image)
    for start in range(images.start, images.stop, step):
        yield slice(start, min(images.stop, start + step))


def _per_image(n: int, task: Callable[[slice], np.ndarray]) -> np.ndarray:
    """task(images) -> (N, C) per-image results of the whole batch (BLAS on one thread: its own
    threads would spin on after the products and take the cores from the next op)."""
    with parallel.single_threaded_blas():
        return task(slice(0, n))


def _dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per image and channel, sum over the last axis of a * b: (k, C, L) . (k, C, L) -> (k, C)."""
    # (k, C, 1, L) x (k, C, L, 1) -> (k, C, 1, 1)
    return np.matmul(a[:, :, None, :], b[:, :, :, None])[:, :, 0, 0]


def _row(values: np.ndarray, length: int, dtype: Any) -> np.ndarray:
    """Per-channel values (C,) repeated `length` times each: one image's row of C * length."""
    return np.repeat(values.astype(dtype), length)


def batch_statistics(x3: np.ndarray, centred_out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, biased variance) per channel of x (N, C, L), in float64; `centred_out` (N, C * L),
    if given, receives x minus the mean rounded to x's dtype (the forward pass scales it in place)."""
    n, c, length = x3.shape
    m = n * length
    ones = np.ones((length, 1), dtype=x3.dtype)
    # (k, C, L) x (L, 1) -> (k, C, 1): each image's sum per channel
    sums = _per_image(n, lambda images: (x3[images] @ ones)[:, :, 0])
    mean = sums.sum(axis=0, dtype=np.float64) / m
    centre = mean.astype(x3.dtype)
    centre_row, x2 = _row(centre, length, x3.dtype), x3.reshape(n, c * length)

    def centred(images: slice) -> np.ndarray:
        out = np.empty((images.stop - images.start, 2 * c), dtype=np.float64)
        scratch = centred_out if centred_out is not None else \
            np.empty((min(images.stop - images.start, _block_images(c * length)), c * length), x3.dtype)
        for block in _blocks(images, c * length):
            rows = slice(block.start - images.start, block.stop - images.start)
            target = centred_out[block] if centred_out is not None else scratch[:block.stop - block.start]
            d3 = np.subtract(x2[block], centre_row, out=target).reshape(-1, c, length)  # stays in cache
            out[rows, :c] = (d3 @ ones)[:, :, 0]
            out[rows, c:] = _dots(d3, d3)
        return out

    # about a centre near the mean, x - centre is nearly exact and small: its mean corrects the
    # first estimate, and sum((x - centre)^2) / m = var + (mean - centre)^2
    totals = _per_image(n, centred).sum(axis=0) / m
    shift = totals[:c]
    var = totals[c:] - shift * shift
    return centre.astype(np.float64) + shift, np.maximum(var, 0.0)


class BatchNorm(Function):
    """Batch normalization of x (N, C, ...) with its own batch statistics, then w * xhat + b
    (w, b of shape (C,)); attribute eps. See the module docstring for the formulas."""

    op_name = "batch_norm"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float,
                stats: list | None = None) -> np.ndarray:
        ctx.attrs.pop("stats", None)  # an output channel for the caller, not an attribute of the op
        n, c = x.shape[:2]
        length = math.prod(x.shape[2:])
        x3 = np.ascontiguousarray(x).reshape(n, c, length)
        dtype = np.result_type(x, w, b)
        out = np.empty((n, c * length), dtype=dtype)
        mean, var = batch_statistics(x3, out if dtype == x.dtype else None)
        invstd = 1.0 / np.sqrt(var + eps)
        if stats is not None:  # handed back to the caller for the running statistics
            stats[:] = [mean, var]
        scale, shift = (_row(v, length, dtype) for v in (invstd * w, b))
        if dtype != x.dtype:
            np.subtract(x3.reshape(n, c * length), _row(mean, length, x.dtype), out=out)

        def run(images: slice) -> None:
            for block in _blocks(images, c * length):
                o = out[block]  # (x - mean) * (invstd * w) + b, x - mean already there
                o *= scale
                o += shift

        run(slice(0, n))
        ctx.save_for_backward(x, w, mean, invstd)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, w, mean, invstd = ctx.saved_tensors
        n, c = x.shape[:2]
        length = math.prod(x.shape[2:])
        m = n * length
        dtype = np.result_type(grad, x)
        x3 = np.ascontiguousarray(x).reshape(n, c, length)
        g3 = np.ascontiguousarray(grad).reshape(n, c, length)
        centre = mean.astype(x.dtype)
        centre_row = _row(centre, length, x.dtype)
        ones = np.ones((length, 1), dtype=grad.dtype)
        x2, g2 = x3.reshape(n, c * length), g3.reshape(n, c * length)

        gx = np.empty((n, c * length), dtype=dtype) if ctx.needs_input_grad[0] else None

        def sums(images: slice) -> np.ndarray:
            out = np.empty((images.stop - images.start, 2 * c), dtype=np.float64)
            scratch = np.empty((min(images.stop - images.start, _block_images(c * length)), c * length), x.dtype)
            for block in _blocks(images, c * length):
                rows = slice(block.start - images.start, block.stop - images.start)
                # x - mean: into the input gradient, which the second pass scales in place
                target = gx[block] if gx is not None and dtype == x.dtype else scratch[:block.stop - block.start]
                d = np.subtract(x2[block], centre_row, out=target).reshape(-1, c, length)
                out[rows, :c] = (g3[block] @ ones)[:, :, 0]  # (k, C, L) x (L, 1): sum of g
                out[rows, c:] = _dots(g3[block], d)  # sum of g * (x - mean)
            return out

        totals = _per_image(n, sums).sum(axis=0)
        # the centre is the mean rounded to x's dtype: sum(g (x - mean)) = sum(g (x - centre)) - (mean - centre) db
        rounding = mean - centre.astype(np.float64)
        db = totals[:c]
        dw = (totals[c:] - rounding * db) * invstd  # sum(g * xhat)
        if gx is None:
            return None, dw if ctx.needs_input_grad[1] else None, db if ctx.needs_input_grad[2] else None
        # dx = A g + B (x - mean) + C0, per channel: A = w invstd, B = -A invstd dw / m, C0 = -A db / m
        a = w.astype(np.float64) * invstd
        bx = -a * invstd * dw / m
        c0 = -a * db / m - bx * rounding  # B (x - centre) + C0 with the centre's rounding folded in
        ra, rb, rc = (_row(v, length, dtype) for v in (a, bx, c0))
        if dtype != x.dtype:
            np.subtract(x2, centre_row, out=gx)

        def run(images: slice) -> None:
            scratch = np.empty((min(images.stop - images.start, _block_images(c * length)), c * length), dtype)
            for block in _blocks(images, c * length):
                o = gx[block]  # x - centre, from the first pass
                o *= rb
                o += rc
                o += np.multiply(g2[block], ra, out=scratch[:block.stop - block.start])

        run(slice(0, n))
        return (gx.reshape(x.shape), dw if ctx.needs_input_grad[1] else None,
                db if ctx.needs_input_grad[2] else None)

    @classmethod
    def backward_graph(cls, ctx: Any, grad: Any) -> tuple[Any, Any, Any]:
        """The same gradients written with tensor operations on the input tensor (its statistics
        recomputed on the tape), so that they can be differentiated again."""
        x, w, _ = ctx.parents
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        centred = x - x.mean(axes, keepdims=True)
        invstd = ((centred * centred).mean(axes, keepdims=True) + ctx.attrs["eps"]) ** -0.5
        xhat = centred * invstd
        g_xhat = grad * xhat
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = w.reshape(shape) * invstd * (grad - grad.mean(axes, keepdims=True)
                                              - xhat * g_xhat.mean(axes, keepdims=True))
        if ctx.needs_input_grad[1]:
            gw = g_xhat.sum(axes)
        if ctx.needs_input_grad[2]:
            gb = grad.sum(axes)
        return gx, gw, gb
