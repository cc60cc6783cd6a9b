"""Resampling as in torch.nn.functional.interpolate: nearest, nearest-exact, (bi/tri)linear, area.

Separable composites: along each spatial dim the output gathers input rows by index (nearest)
or blends two gathered rows with constant weights (linear), so the gradient scatters back
through the indexing op. Source coordinates are PyTorch's, computed in the same precision
(float32 scales for nearest; the input's float type for linear), so the picked rows and
weights are the same as PyTorch's.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...tensor import Tensor
from ._common import constant, lift
from .pooling import adaptive_avg_pool2d

__all__ = ["interpolate"]

_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area")


def _per_dim(value: Any, n: int, name: str) -> tuple[Any, ...]:
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(vals) != n:
        raise ValueError(f"interpolate: {name} must have one value per spatial dim ({n}), got {value!r}")
    return vals


def _output_sizes(x: Tensor, size: Any, scale_factor: Any) -> tuple[tuple[int, ...], tuple[float | None, ...]]:
    n = x.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        sizes = _per_dim(size, n, "size")
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(f"interpolate: size must be positive ints, got {size!r}")
        return tuple(int(s) for s in sizes), (None,) * n
    scales = tuple(float(s) for s in _per_dim(scale_factor, n, "scale_factor"))
    if not all(s > 0 and math.isfinite(s) for s in scales):
        raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor!r}")
    sizes = tuple(int(math.floor(x.shape[2 + i] * scales[i])) for i in range(n))
    if min(sizes) < 1:
        raise ValueError(f"interpolate: scale_factor {scale_factor!r} gives an empty output for input {x.shape}")
    return sizes, scales


def _scale(in_size: int, out_size: int, scale: float | None, dtype: Any) -> Any:
    """PyTorch's compute_scales_value: 1 / scale_factor when given, else in / out, in `dtype`."""
    t = np.dtype(dtype).type
    return t(1.0 / scale) if scale is not None and scale > 0 else t(in_size) / t(out_size)


def _nearest_index(in_size: int, out_size: int, scale: float | None, exact: bool) -> np.ndarray:
    s = _scale(in_size, out_size, scale, np.float32)
    dst = np.arange(out_size)
    if exact:  # floorf((dst + 0.5) * scale): the product in double, rounded to float
        src = np.floor(((dst + 0.5) * np.float64(s)).astype(np.float32))
    elif out_size == in_size:
        src = dst
    elif out_size == 2 * in_size:
        src = dst >> 1
    else:
        src = np.floor(dst.astype(np.float32) * s)
    return np.minimum(src.astype(np.int64), in_size - 1)


def _linear_weights(in_size: int, out_size: int, scale: float | None, align_corners: bool,
                    dtype: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index0, index1, lambda1): output i blends input index0 (weight 1 - lambda1) and index1."""
    t = np.dtype(dtype).type
    dst = np.arange(out_size).astype(dtype)
    if align_corners:
        s = t(in_size - 1) / t(out_size - 1) if out_size > 1 else t(0)
        real = s * dst
    else:
        real = np.maximum(_scale(in_size, out_size, scale, dtype) * (dst + t(0.5)) - t(0.5), t(0))
    i0 = np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), in_size - 1)
    lam = np.clip(real - i0, 0, 1).astype(dtype)
    i1 = np.where(i0 < in_size - 1, i0 + 1, i0)
    return i0, i1, lam


def _take(x: Tensor, dim: int, index: np.ndarray) -> Tensor:
    return x[(slice(None),) * dim + (index,)]


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> Tensor:
    """Resize x (N, C, *spatial) to `size`, or by `scale_factor` (output floor(in * scale_factor)).

    mode: "nearest" (PyTorch's default: input floor(i * in / out)), "nearest-exact"
    (floor((i + 0.5) * in / out)), "linear" (3-D), "bilinear" (4-D), "trilinear" (5-D) with
    align_corners False (default) or True, or "area" (4-D: adaptive mean pooling). With a
    scale_factor the coordinates use 1 / scale_factor unless recompute_scale_factor=True.
    """
    x = lift(input)
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if not 3 <= x.ndim <= 5:
        raise ValueError(f"interpolate: input must be 3-D, 4-D or 5-D (N, C, *spatial), got shape {x.shape}")
    if mode in _LINEAR and x.ndim != _LINEAR[mode]:
        raise ValueError(f"interpolate: mode {mode!r} needs a {_LINEAR[mode]}-D input, got shape {x.shape}")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError(f"interpolate: align_corners can only be set with the linear modes, not {mode!r}")
    sizes, scales = _output_sizes(x, size, scale_factor)
    if recompute_scale_factor:
        scales = (None,) * len(sizes)
    if mode == "area":
        if x.ndim != 4:
            raise ValueError(f"interpolate: mode 'area' needs a 4-D input, got shape {x.shape}")
        return adaptive_avg_pool2d(x, sizes)
    if mode in _LINEAR and x.dtype.kind != "f":
        raise TypeError(f"interpolate: mode {mode!r} needs a floating point input, got dtype {x.dtype}")
    y = x
    for i, (out, scale) in enumerate(zip(sizes, scales, strict=True)):
        dim, in_size = 2 + i, x.shape[2 + i]
        if mode in ("nearest", "nearest-exact"):
            y = _take(y, dim, _nearest_index(in_size, out, scale, mode == "nearest-exact"))
            continue
        i0, i1, lam = _linear_weights(in_size, out, scale, bool(align_corners), x.dtype)
        shape = (out,) + (1,) * (x.ndim - 1 - dim)  # the weights vary along `dim`
        lam1 = constant(lam.reshape(shape), y)
        y = _take(y, dim, i0) * (1.0 - lam1) + _take(y, dim, i1) * lam1
    return y
