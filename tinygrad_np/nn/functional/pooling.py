"""Pooling as in torch.nn.functional: avg_pool2d and max_pool2d with padding, ceil_mode,
count_include_pad, divisor_override and (max) dilation; adaptive_avg_pool2d.

Composites around the pooling primitives: the input is padded (zeros for the mean, -inf
for the max) out to the last window, the primitive pools, and for the mean a constant
factor turns each window's sum into PyTorch's divisor (the window clipped to the padded
input with count_include_pad, to the real input without). Output sizes are PyTorch's:
(H + 2p - d(k - 1) - 1) / s + 1 rounded down, or up with ceil_mode (a window must start
inside the input or its left padding). Inputs are (N, C, H, W) or unbatched (C, H, W).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...join import stack
from ...ops.pool import AvgPool2d, MaxPool2d
from ...ops.shape_checks import pair
from ...tensor import Tensor
from ._common import constant, lift

__all__ = ["avg_pool2d", "max_pool2d", "adaptive_avg_pool2d"]


def _batched(op: str, input: Any, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Run fn on a 4-D input; a 3-D (C, H, W) input gets a batch of one, removed afterwards."""
    x = lift(input)
    if x.ndim == 3:
        out = fn(x.reshape((1,) + x.shape))
        return out.reshape(out.shape[1:])
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {x.shape}")
    return fn(x)


def _out_size(op: str, size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = d * (k - 1) + 1  # the window's extent in the input
    if p > span // 2:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel extent {span}")
    out = (size + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:  # the last window would start in the right padding
        out -= 1
    if out < 1:
        raise ValueError(f"{op}: kernel extent {span} is larger than the input size {size} padded by {p} "
                         "on each side")
    return out


def _geometry(op: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int],
                                        tuple[int, int]]:
    k = pair(kernel_size, "kernel_size", op, 1)
    s = k if stride is None or stride == () else pair(stride, "stride", op, 1)
    p = pair(padding, "padding", op, 0)
    d = pair(dilation, "dilation", op, 1)
    out = tuple(_out_size(op, x.shape[2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2))
    return k, s, p, d, (out[0], out[1])


def _pad_to_windows(x: Tensor, k: tuple[int, int], s: tuple[int, int], p: tuple[int, int], d: tuple[int, int],
                    out: tuple[int, int], value: float) -> Tensor:
    """x padded by p on the top/left and, on the bottom/right, out to the end of the last window."""
    widths = []
    for i in range(2):
        end = (out[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1  # last window's end, in padded coordinates
        widths.append((p[i], max(end - p[i] - x.shape[2 + i], 0)))
    if widths == [(0, 0), (0, 0)]:
        return x
    return x.pad(((0, 0), (0, 0), *widths), value=value)


def _crop(y: Tensor, out: tuple[int, int]) -> Tensor:
    return y if y.shape[2:] == out else y[:, :, :out[0], :out[1]]


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over kernel windows (stride defaults to kernel_size), with zero padding."""
    def run(x: Tensor) -> Tensor:
        k, s, p, d, out = _geometry("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
        y = _crop(AvgPool2d.apply(_pad_to_windows(x, k, s, p, d, out, 0.0), kernel=k, stride=s), out)
        # each window's divisor: its rows times its columns, clipped as PyTorch clips them
        counts = []
        for i in range(2):
            start = np.arange(out[i]) * s[i] - p[i]
            end = np.minimum(start + k[i], x.shape[2 + i] + p[i])
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, x.shape[2 + i])
            counts.append(end - start)
        divisor = np.outer(counts[0], counts[1]).astype(np.float64)  # (OH, OW)
        if divisor_override is not None:
            if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)) \
                    or divisor_override == 0:
                raise ValueError(f"avg_pool2d: divisor_override must be a non-zero int, got {divisor_override!r}")
            divisor = np.full(out, float(divisor_override))
        factor = (k[0] * k[1]) / divisor
        return y if np.all(factor == 1.0) else y * constant(factor, y)

    return _batched("avg_pool2d", input, run)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over kernel windows (stride defaults to kernel_size), with -inf padding; ties share the
    gradient evenly. With return_indices, also the int64 tensor of each maximum's flat index into
    its input plane (row * W + column; the first maximum in row-major window order)."""
    def run(x: Tensor) -> Tensor:
        k, s, p, d, out = _geometry("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
        if x.dtype.kind != "f" and p != (0, 0):
            raise TypeError(f"max_pool2d: padding needs a floating point input, got dtype {x.dtype}")
        xp = _pad_to_windows(x, k, s, p, d, out, -np.inf)
        if return_indices:
            found.append(_argmax_indices(xp.data, x.shape[3], k, s, p, d, out))
        if d == (1, 1):
            return _crop(MaxPool2d.apply(xp, kernel=k, stride=s), out)
        # dilated windows: one strided slice per kernel offset, stacked, then the max over them
        return stack([xp[:, :, rows, cols] for rows, cols in _window_slices(k, s, d, out)], axis=-1).max(axis=-1)

    found: list[np.ndarray] = []
    y = _batched("max_pool2d", input, run)
    if not return_indices:
        return y
    return y, Tensor(found[0].reshape(y.shape))


def _window_slices(k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
                   out: tuple[int, int]) -> list[tuple[slice, slice]]:
    """For each kernel offset (row-major): the input rows and columns it reads, one per output."""
    return [(slice(i * d[0], i * d[0] + s[0] * (out[0] - 1) + 1, s[0]),
             slice(j * d[1], j * d[1] + s[1] * (out[1] - 1) + 1, s[1]))
            for i in range(k[0]) for j in range(k[1])]


def _argmax_indices(xp: np.ndarray, width: int, k: tuple[int, int], s: tuple[int, int], p: tuple[int, int],
                    d: tuple[int, int], out: tuple[int, int]) -> np.ndarray:
    """Flat input-plane index (row * width + column, unpadded) of each window's first maximum."""
    windows = np.stack([xp[:, :, rows, cols] for rows, cols in _window_slices(k, s, d, out)])  # (K, N, C, OH, OW)
    best = windows.argmax(axis=0)  # kernel offset of the first maximum
    i, j = best // k[1], best % k[1]
    rows = np.arange(out[0])[:, None] * s[0] - p[0] + i * d[0]
    cols = np.arange(out[1])[None, :] * s[1] - p[1] + j * d[1]
    return (rows * width + cols).astype(np.int64)


def _adaptive_matrix(size: int, out: int, dtype: Any) -> np.ndarray:
    """(out, size) averaging matrix of PyTorch's adaptive windows [floor(i size / out), ceil((i+1) size / out))."""
    m = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Mean pooling to a fixed output size (an int, a pair; None keeps that input size), with
    PyTorch's windows: output i covers inputs floor(i H / OH) to ceil((i + 1) H / OH)."""
    def run(x: Tensor) -> Tensor:
        sizes = (output_size, output_size) if not isinstance(output_size, (tuple, list)) else tuple(output_size)
        if len(sizes) != 2:
            raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}")
        oh, ow = (x.shape[2 + i] if sizes[i] is None else sizes[i] for i in range(2))
        pair((oh, ow), "output_size", "adaptive_avg_pool2d", 1)
        h, w = x.shape[2:]
        if (oh, ow) == (1, 1):
            return x.mean((2, 3), keepdims=True)
        if h % oh == 0 and w % ow == 0:  # equal windows: plain mean pooling
            return AvgPool2d.apply(x, kernel=(h // oh, w // ow), stride=(h // oh, w // ow))
        rows = constant(_adaptive_matrix(h, oh, x.dtype), x)
        cols = constant(_adaptive_matrix(w, ow, x.dtype).T, x)
        # (OH, H) x (N, C, H, W) -> (N, C, OH, W); then (N, C, OH, W) x (W, OW) -> (N, C, OH, OW)
        return (rows @ x) @ cols

    return _batched("adaptive_avg_pool2d", input, run)
