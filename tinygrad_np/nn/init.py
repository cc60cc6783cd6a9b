"""Weight initialisers (`tg.nn.init`), each drawing from an explicit `np.random.Generator`.

Every function writes in place into the tensor's array (so optimizers and modules keep
referencing the same array) and returns the tensor. Values are drawn in float64 and cast
to the tensor's dtype. `rng` is a `np.random.Generator`, an int seed, or None for the default
generator (`tg.manual_seed(0)` makes it reproducible).

Fans follow PyTorch: for a weight of shape (out, in, *kernel), fan_in = in * prod(kernel)
and fan_out = out * prod(kernel); a Linear weight (out, in) has no kernel dims and a
Conv2d weight (F, C, KH, KW) has fan_in = C * KH * KW.
"""
from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from ..random import as_generator
from ..tensor import Tensor

T = TypeVar("T", Tensor, np.ndarray)

__all__ = ["calculate_fan_in_and_fan_out", "calculate_gain", "uniform_", "normal_", "zeros_",
           "ones_", "constant_", "xavier_uniform_", "kaiming_uniform_"]


def _array(t: Any, op: str) -> np.ndarray:
    """The float array behind t (a Tensor or an ndarray), to be written in place."""
    arr = t.data if isinstance(t, Tensor) else t
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"init.{op}: expected a Tensor or ndarray, got {type(t).__name__}")
    if arr.dtype.kind != "f":
        raise TypeError(f"init.{op}: can only initialise floating point arrays, got dtype {arr.dtype}")
    return arr


def _generator(rng: np.random.Generator | int | None, op: str) -> np.random.Generator:
    return as_generator(rng, f"init.{op}")


def calculate_fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel); needs at least 2 dims."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need a weight with at least 2 dims, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended gain for a nonlinearity, as in PyTorch: linear/conv/sigmoid 1, tanh 5/3,
    relu sqrt(2), leaky_relu sqrt(2 / (1 + a^2)) with a = param (default 0.01)."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + a * a))
    raise ValueError(f"init.calculate_gain: unknown nonlinearity {nonlinearity!r}; expected one of "
                     "linear, conv2d, sigmoid, identity, tanh, relu, leaky_relu")


def uniform_(t: T, low: float = 0.0, high: float = 1.0, rng: np.random.Generator | int | None = None) -> T:
    """Fill t with draws from U(low, high)."""
    arr = _array(t, "uniform_")
    if not low <= high:
        raise ValueError(f"init.uniform_: need low <= high, got low={low}, high={high}")
    arr[...] = _generator(rng, "uniform_").uniform(low, high, size=arr.shape)
    return t


def normal_(t: T, mean: float = 0.0, std: float = 1.0, rng: np.random.Generator | int | None = None) -> T:
    """Fill t with draws from N(mean, std^2)."""
    arr = _array(t, "normal_")
    if not std >= 0:
        raise ValueError(f"init.normal_: std must be >= 0, got {std}")
    arr[...] = _generator(rng, "normal_").normal(mean, std, size=arr.shape)
    return t


def constant_(t: T, value: float) -> T:
    """Fill t with `value`."""
    _array(t, "constant_")[...] = value
    return t


def zeros_(t: T) -> T:
    """Fill t with zeros."""
    return constant_(t, 0.0)


def ones_(t: T) -> T:
    """Fill t with ones."""
    return constant_(t, 1.0)


def xavier_uniform_(t: T, rng: np.random.Generator | int | None = None, gain: float = 1.0) -> T:
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(t, "xavier_uniform_").shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound, _generator(rng, "xavier_uniform_"))


def kaiming_uniform_(t: T, rng: np.random.Generator | int | None = None, a: float = 0.0) -> T:
    """He uniform for a leaky-ReLU slope a: U(-b, b) with b = sqrt(2 / (1 + a^2)) * sqrt(3 / fan_in).

    With a = sqrt(5) (PyTorch's default for Linear and Conv2d) the bound is 1 / sqrt(fan_in).
    """
    fan_in, _ = calculate_fan_in_and_fan_out(_array(t, "kaiming_uniform_").shape)
    if fan_in == 0:
        raise ValueError(f"init.kaiming_uniform_: fan_in is 0 for shape {t.shape}")
    bound = calculate_gain("leaky_relu", a) * math.sqrt(3.0 / fan_in)
    return uniform_(t, -bound, bound, _generator(rng, "kaiming_uniform_"))
