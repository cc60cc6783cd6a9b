"""ONNX conv and pooling features the primitives lack, written as differentiable tensor code.

Grouped conv (a conv2d per group on channel slices, joined by concatenate), dilated kernels
(zeros inserted between the taps with pad + reshape + slicing), asymmetric padding, padded and
ceil-mode pooling. Each function here is self-contained so it can be swapped for a native op.
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


def dilate_kernel(w: Tensor, dilations: tuple[int, int]) -> Tensor:
    """(F, C, KH, KW) -> (F, C, (KH-1)*dh+1, (KW-1)*dw+1) with zeros between the taps."""
    dh, dw = dilations
    f, c, kh, kw = w.shape
    if dh > 1:  # (F, C, KH, 1, KW) padded to (F, C, KH, dh, KW), read as rows spaced dh apart
        w = w.reshape(f, c, kh, 1, kw).pad(((0, 0), (0, 0), (0, 0), (0, dh - 1), (0, 0)))
        w = w.reshape(f, c, kh * dh, kw)[:, :, :(kh - 1) * dh + 1]
        kh = (kh - 1) * dh + 1
    if dw > 1:  # the same along the columns
        w = w.reshape(f, c, kh, kw, 1).pad(((0, 0), (0, 0), (0, 0), (0, 0), (0, dw - 1)))
        w = w.reshape(f, c, kh, kw * dw)[:, :, :, :(kw - 1) * dw + 1]
    return w


def conv(x: Tensor, w: Tensor, b: Tensor | None, strides: tuple[int, int], pads: Sequence[int],
         dilations: tuple[int, int], group: int) -> Tensor:
    """ONNX Conv on NCHW: pads [top, left, bottom, right], any dilation, `group` groups."""
    top, left, bottom, right = pads
    padding = (top, left)
    if top != bottom or left != right:
        x = x.pad(((0, 0), (0, 0), (top, bottom), (left, right)))
        padding = (0, 0)
    if tuple(dilations) != (1, 1):
        w = dilate_kernel(w, dilations)
    if group == 1:
        return I.conv2d(x, w, b, strides, padding)  # (N, C, H, W) x (F, C, KH, KW) -> (N, F, OH, OW)
    c, f = x.shape[1], w.shape[0]
    if c % group or f % group or w.shape[1] * group != c:
        raise ValueError(f"Conv: {group} groups do not fit input {x.shape} and weight {w.shape} "
                         f"(need C = {group} * weight.shape[1] and F divisible by {group})")
    cin, fout = c // group, f // group
    outs = []
    for g in range(group):  # (N, C/g, H, W) x (F/g, C/g, KH, KW) -> (N, F/g, OH, OW)
        bias = None if b is None else b[g * fout:(g + 1) * fout]
        outs.append(I.conv2d(x[:, g * cin:(g + 1) * cin], w[g * fout:(g + 1) * fout], bias, strides, padding))
    return I.concatenate(outs, 1)


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
