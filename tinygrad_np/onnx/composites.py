"""ONNX conv and pooling features written as differentiable tensor code where the primitives lack
them: asymmetric padding (an explicit pad), padded and ceil-mode pooling; groups and dilation are
conv2d's own. Each function here is self-contained so it can be swapped for a native op.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _internals as I

Tensor = I.Tensor


def same_pads(sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int],
              upper: bool) -> list[int]:
    """ONNX auto_pad SAME_UPPER / SAME_LOWER as explicit pads [begin..., end...]."""
    begins, ends = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilations, strict=False):
        out = -(-n // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
        small, large = total // 2, total - total // 2
        begins.append(small if upper else large)
        ends.append(large if upper else small)
    return begins + ends


def conv(x: Tensor, w: Tensor, b: Tensor | None, strides: tuple[int, int], pads: Sequence[int],
         dilations: tuple[int, int], group: int) -> Tensor:
    """ONNX Conv on NCHW: pads [top, left, bottom, right] (uneven ones as an explicit pad), any
    dilation, `group` groups: conv2d's own."""
    top, left, bottom, right = pads
    padding = (top, left)
    if top != bottom or left != right:
        x = x.pad(((0, 0), (0, 0), (top, bottom), (left, right)))
        padding = (0, 0)
    if w.shape[1] * group != x.shape[1] or w.shape[0] % group:
        raise ValueError(f"Conv: {group} groups do not fit input {x.shape} and weight {w.shape} "
                         f"(need C = {group} * weight.shape[1] and F divisible by {group})")
    # (N, C, H, W) x (F, C/group, KH, KW) -> (N, F, OH, OW)
    return I.conv2d(x, w, b, strides, padding, tuple(dilations), group)


def _pool_geometry(sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int],
                   ceil_mode: bool) -> list[int]:
    """Extra padding at the end of each spatial axis that ceil mode needs (PyTorch's and ONNX's
    rule: a last window that would start inside the end padding is dropped)."""
    extra = []
    for i, (n, k, s) in enumerate(zip(sizes, kernel, strides, strict=False)):
        lo, hi = pads[i], pads[i + len(sizes)]
        span = n + lo + hi - k
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= n + lo:
            out -= 1
        extra.append(max(0, (out - 1) * s + k - (n + lo + hi)))
    return extra


def max_pool(x: Tensor, kernel: tuple[int, int], strides: tuple[int, int], pads: Sequence[int],
             ceil_mode: bool) -> Tensor:
    """ONNX MaxPool (2-D, no dilation): padding counts as -inf."""
    eh, ew = _pool_geometry(x.shape[2:], kernel, strides, pads, ceil_mode)
    top, left, bottom, right = pads
    if top or left or bottom + eh or right + ew:
        x = x.pad(((0, 0), (0, 0), (top, bottom + eh), (left, right + ew)), value=-np.inf)
    return I.max_pool2d(x, kernel, strides)


def avg_pool(x: Tensor, kernel: tuple[int, int], strides: tuple[int, int], pads: Sequence[int],
             ceil_mode: bool, count_include_pad: bool) -> Tensor:
    """ONNX AveragePool (2-D): window sums divided by the number of input cells (or also of the
    explicit padding cells, with count_include_pad) each window covers."""
    eh, ew = _pool_geometry(x.shape[2:], kernel, strides, pads, ceil_mode)
    top, left, bottom, right = pads
    if not (top or left or bottom + eh or right + ew):
        return I.avg_pool2d(x, kernel, strides)
    h, w = x.shape[2:]
    widths = ((0, 0), (0, 0), (top, bottom + eh), (left, right + ew))
    mask = np.zeros((1, 1, h + top + bottom + eh, w + left + right + ew), dtype=x.dtype)
    if count_include_pad:
        mask[:, :, :h + top + bottom, :w + left + right] = 1
    else:
        mask[:, :, top:top + h, left:left + w] = 1
    with I.no_grad():
        share = I.avg_pool2d(Tensor(mask, dtype=mask.dtype), kernel, strides).data  # counted cells / (KH*KW)
    return I.avg_pool2d(x.pad(widths), kernel, strides) * (1 / share).astype(x.dtype)
