"""Depthwise conv2d (groups == input channels): each output channel f reads input channel
f // (F/C), so there is no matrix product to make. Each pass is a sum over the KH*KW kernel taps
of strided slices times one weight per channel, run over blocks of a few images that stay in
cache while all the taps pass over them, the blocks shared out over the threads.

The blocks depend on the shapes only, and the weight gradient sums each block's part in block
order, so results do not depend on the thread count.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import parallel

Pair = tuple[int, int]
# Values per block (256 KiB of float32), and seconds per multiply-add pass per value on one core.
_BLOCK_VALUES = 1 << 16
_TAP_SECONDS = 0.4e-9


def output_hw(padded_hw: tuple[int, ...], kernel: tuple[int, ...], stride: Pair, dilation: Pair) -> tuple[int, int]:
    """(OH, OW) of a convolution of a padded input."""
    return ((padded_hw[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1,
            (padded_hw[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1)


def _taps(kh: int, kw: int, stride: Pair, dilation: Pair, oh: int, ow: int) -> Iterator[tuple[int, int, slice, slice]]:
    """For each kernel tap (i, j): the rows and columns of the padded input it reads."""
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kh):
        for j in range(kw):
            yield i, j, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)


def _blocks(n: int, per_image: int) -> list[slice]:
    """The batch in blocks of about _BLOCK_VALUES values, fixed by the shape."""
    step = max(1, _BLOCK_VALUES // max(per_image, 1))
    return [slice(k, min(n, k + step)) for k in range(0, n, step)]


def _run_blocks(blocks: list[slice], seconds_per_block: float, task: Any) -> list[Any]:
    """[task(block) for block in blocks], the blocks shared out over the threads, in block order."""
    def run(part: slice) -> list[Any]:
        return [task(block) for block in blocks[part]]

    return [r for group in parallel.map_slices(len(blocks), seconds_per_block, run) for r in group]


def _per_channel(w: np.ndarray, i: int, j: int) -> np.ndarray:
    return w[:, 0, i, j].reshape(1, -1, 1, 1)


def _repeated(xp: np.ndarray, f: int) -> np.ndarray:
    """The input with each channel repeated F/C times: (N, F, Hp, Wp) (xp itself when F == C)."""
    return xp if f == xp.shape[1] else np.repeat(xp, f // xp.shape[1], axis=1)


def forward(xp: np.ndarray, w: np.ndarray, stride: Pair, dilation: Pair) -> np.ndarray:
    """Depthwise conv2d of the padded input xp (N, C, Hp, Wp) with w (F, 1, KH, KW)."""
    f, _, kh, kw = w.shape
    oh, ow = output_hw(xp.shape[2:], (kh, kw), stride, dilation)
    xr = _repeated(xp, f)
    out = np.empty((xp.shape[0], f, oh, ow), dtype=np.result_type(xp, w))
    blocks = _blocks(xp.shape[0], out[:1].size)

    def task(block: slice) -> None:
        o = out[block]
        tmp = np.empty(o.shape, dtype=o.dtype)
        for k, (i, j, rows, cols) in enumerate(_taps(kh, kw, stride, dilation, oh, ow)):
            if k == 0:
                np.multiply(xr[block, :, rows, cols], _per_channel(w, i, j), out=o)
            else:
                o += np.multiply(xr[block, :, rows, cols], _per_channel(w, i, j), out=tmp)

    _run_blocks(blocks, out[blocks[0]].size * kh * kw * 2 * _TAP_SECONDS, task)
    return out


def input_grad(grad: np.ndarray, w: np.ndarray, padded_shape: tuple[int, ...], stride: Pair,
               dilation: Pair) -> np.ndarray:
    """The gradient of the depthwise conv2d with respect to its padded input (N, C, Hp, Wp)."""
    n, f, oh, ow = grad.shape
    c, kh, kw = padded_shape[1], w.shape[2], w.shape[3]
    gxr = np.empty((n, f) + tuple(padded_shape[2:]), dtype=np.result_type(grad, w))
    blocks = _blocks(n, gxr[:1].size)

    def task(block: slice) -> None:
        g, target = grad[block], gxr[block]
        target.fill(0)
        tmp = np.empty(g.shape, dtype=target.dtype)
        for i, j, rows, cols in _taps(kh, kw, stride, dilation, oh, ow):
            target[:, :, rows, cols] += np.multiply(g, _per_channel(w, i, j), out=tmp)

    _run_blocks(blocks, grad[blocks[0]].size * kh * kw * 3 * _TAP_SECONDS, task)
    # output channels that read the same input channel add up: (N, C, F/C, Hp, Wp) -> (N, C, Hp, Wp)
    return gxr if f == c else gxr.reshape((n, c, f // c) + tuple(padded_shape[2:])).sum(axis=2)


def weight_grad(xp: np.ndarray, grad: np.ndarray, w_shape: tuple[int, ...], stride: Pair,
                dilation: Pair) -> np.ndarray:
    """The gradient of the depthwise conv2d with respect to its weight (F, 1, KH, KW)."""
    f, _, kh, kw = w_shape
    n, _, oh, ow = grad.shape
    xr = _repeated(xp, f)
    blocks = _blocks(n, grad[:1].size)

    def task(block: slice) -> np.ndarray:
        g = grad[block]
        tmp = np.empty(g.shape, dtype=np.result_type(xp, grad))
        part = np.empty((f, kh, kw), dtype=np.float64)
        for i, j, rows, cols in _taps(kh, kw, stride, dilation, oh, ow):
            # (m, F, OH, OW) * (m, F, OH, OW) summed over m, OH, OW -> (F,)
            part[:, i, j] = np.multiply(g, xr[block, :, rows, cols], out=tmp).sum(axis=(0, 2, 3))
        return part

    parts = _run_blocks(blocks, grad[blocks[0]].size * kh * kw * 2 * _TAP_SECONDS, task)
    total = parts[0]
    for p in parts[1:]:
        total += p
    return total.reshape(w_shape).astype(np.result_type(xp, grad))
