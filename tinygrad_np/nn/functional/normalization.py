"""Normalization as in torch.nn.functional: batch_norm, layer_norm, group_norm.

layer_norm and group_norm are composites: the mean and the biased variance (the mean of squared
deviations) are ordinary reductions, so the gradient through both comes from the tape.
batch_norm with batch statistics is one primitive (`tinygrad_np.ops.normalization.BatchNorm`:
one pass for the statistics, a closed-form backward, recorded as tensor operations for second
derivatives); with running statistics it is a composite of two per-channel passes. When
training it updates the running statistics in place (outside the tape), with the unbiased
batch variance like PyTorch: running = (1 - momentum) * running + momentum * batch statistic,
computed in float64.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...ops.normalization import BatchNorm
from ...tensor import Tensor
from ._common import lift

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _float_input(op: str, input: Any, min_dims: int) -> Tensor:
    x = lift(input)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {x.dtype}")
    if x.ndim < min_dims:
        raise ValueError(f"{op}: input must have at least {min_dims} dims, got shape {x.shape}")
    return x


def _per_channel(op: str, value: Any, name: str, channels: int, x: Tensor) -> Tensor | None:
    """A (C,) tensor reshaped to broadcast along dim 1 of x: (1, C, 1, ...)."""
    if value is None:
        return None
    t = lift(value, x)
    if t.shape != (channels,):
        raise ValueError(f"{op}: {name} must have shape ({channels},), one value per channel, got {t.shape} "
                         f"(input {x.shape})")
    return t.reshape((1, channels) + (1,) * (x.ndim - 2))


def _normalize(x: Tensor, axes: tuple[int, ...], eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """((x - mean) / sqrt(var + eps), mean, biased var), the statistics over `axes` with keepdims."""
    mean = x.mean(axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axes, keepdims=True)
    return centered / (var + eps).sqrt(), mean, var


def _update_running(buffer: Any, batch_value: np.ndarray, momentum: float, name: str) -> None:
    arr = buffer.data if isinstance(buffer, Tensor) else buffer
    if not isinstance(arr, np.ndarray) or arr.shape != batch_value.shape:
        raise ValueError(f"batch_norm: {name} must be an array or Tensor of shape {batch_value.shape}, "
                         f"got {getattr(arr, 'shape', type(arr).__name__)}")
    arr[...] = momentum * batch_value + (1.0 - momentum) * arr.astype(np.float64)


def batch_norm(input: Tensor, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) of x (N, C, ...) over all other dims, then scale and shift.

    training=True uses the batch's mean and biased variance and, when running_mean/running_var
    are given, updates them in place; training=False uses the running statistics.
    """
    x = _float_input("batch_norm", input, 2)
    c = x.shape[1]
    stat_shape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        n = x.numel() // c
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input "
                             f"of shape {x.shape}")
        w = _channel_param("batch_norm", weight, "weight", c, x, 1.0)
        b = _channel_param("batch_norm", bias, "bias", c, x, 0.0)
        stats: list[np.ndarray] = []
        out = BatchNorm.apply(x, w, b, eps=float(eps), stats=stats)
        batch_mean, batch_var = stats
        if running_mean is not None:
            _update_running(running_mean, batch_mean, momentum, "running_mean")
        if running_var is not None:
            _update_running(running_var, batch_var * (n / (n - 1)), momentum, "running_var")  # unbiased
        return out
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    stats = []
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        arr = np.asarray(value.data if isinstance(value, Tensor) else value)
        if arr.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},), one value per channel, got "
                             f"{arr.shape} (input {x.shape})")
        stats.append(arr.astype(np.float64))
    # (x - running_mean) * (w / sqrt(running_var + eps)) + b: two passes with the per-channel factor
    # folded into the weight (a (C,) tensor op, so the weight still gets its gradient)
    invstd = Tensor((1.0 / np.sqrt(stats[1] + eps)).reshape(stat_shape), dtype=x.dtype)
    scale = invstd if weight is None else invstd * _per_channel("batch_norm", weight, "weight", c, x)
    out = (x - Tensor(stats[0].reshape(stat_shape), dtype=x.dtype)) * scale
    return out if bias is None else out + _per_channel("batch_norm", bias, "bias", c, x)


def _channel_param(op: str, value: Any, name: str, channels: int, x: Tensor, default: float) -> Tensor:
    """A (C,) tensor of the weight or bias, or a constant `default` (C,) when it is None."""
    if value is None:
        return Tensor(np.full(channels, default), dtype=x.dtype)
    t = lift(value, x)
    if t.shape != (channels,):
        raise ValueError(f"{op}: {name} must have shape ({channels},), one value per channel, got {t.shape} "
                         f"(input {x.shape})")
    return t


def _affine(op: str, out: Tensor, weight: Any, bias: Any, channels: int, x: Tensor) -> Tensor:
    w = _per_channel(op, weight, "weight", channels, x)
    b = _per_channel(op, bias, "bias", channels, x)
    if w is not None:
        out = out * w
    return out if b is None else out + b


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the last len(normalized_shape) dims (which must equal normalized_shape),
    then scale by weight and shift by bias (both of normalized_shape)."""
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    x = _float_input("layer_norm", input, len(shape))
    if x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm: normalized_shape={shape} must equal the last dims of the input, "
                         f"got input of shape {x.shape}")
    out, _, _ = _normalize(x, tuple(range(x.ndim - len(shape), x.ndim)), eps)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is None:
            continue
        t = lift(value, x)
        if t.shape != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {t.shape}")
        out = out * t if name == "weight" else out + t
    return out


def group_norm(input: Tensor, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Tensor:
    """Split the C channels of x (N, C, ...) into num_groups groups and normalize each group of each
    sample over its channels and positions; then scale and shift per channel."""
    x = _float_input("group_norm", input, 2)
    n, c = x.shape[:2]
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)) or num_groups < 1 \
            or c % num_groups:
        raise ValueError(f"group_norm: the {c} channels must split into num_groups={num_groups!r} equal groups "
                         f"(input {x.shape})")
    grouped = x.reshape(n, int(num_groups), -1)  # (N, G, C/G * spatial)
    out, _, _ = _normalize(grouped, (2,), eps)
    return _affine("group_norm", out.reshape(x.shape), weight, bias, c, x)
