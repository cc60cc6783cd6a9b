"""Weight initialisers (`tg.nn.init`) with PyTorch's names and arguments, drawing from `rng`.

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

__all__ = ["calculate_fan_in_and_fan_out", "calculate_gain", "uniform_", "normal_", "trunc_normal_", "zeros_",
           "ones_", "constant_", "eye_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "orthogonal_"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "sigmoid", "identity")


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
    relu sqrt(2), leaky_relu sqrt(2 / (1 + a^2)) with a = param (default 0.01), selu 3/4."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "selu":
        return 0.75
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + a * a))
    raise ValueError(f"init.calculate_gain: unknown nonlinearity {nonlinearity!r}; expected one of "
                     f"{', '.join(_LINEAR)}, tanh, relu, leaky_relu, selu")


def uniform_(t: T, a: float = 0.0, b: float = 1.0, rng: np.random.Generator | int | None = None) -> T:
    """Fill t with draws from U(a, b)."""
    arr = _array(t, "uniform_")
    if not a <= b:
        raise ValueError(f"init.uniform_: need a <= b, got a={a}, b={b}")
    arr[...] = _generator(rng, "uniform_").uniform(a, b, size=arr.shape)
    return t


def normal_(t: T, mean: float = 0.0, std: float = 1.0, rng: np.random.Generator | int | None = None) -> T:
    """Fill t with draws from N(mean, std^2)."""
    arr = _array(t, "normal_")
    if not std >= 0:
        raise ValueError(f"init.normal_: std must be >= 0, got {std}")
    arr[...] = _generator(rng, "normal_").normal(mean, std, size=arr.shape)
    return t


def trunc_normal_(t: T, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  rng: np.random.Generator | int | None = None) -> T:
    """Fill t with draws from N(mean, std^2) restricted to [a, b] (out-of-range draws are drawn again)."""
    arr = _array(t, "trunc_normal_")
    if not (std > 0 and a < b) or _norm_cdf_mass(mean, std, a, b) < 1e-6:
        raise ValueError(f"init.trunc_normal_: need std > 0, a < b and [a, b] near the mean, got mean={mean}, "
                         f"std={std}, a={a}, b={b}")
    gen = _generator(rng, "trunc_normal_")
    out = gen.normal(mean, std, size=arr.size)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = gen.normal(mean, std, size=int(bad.sum()))
        bad = (out < a) | (out > b)
    arr[...] = out.reshape(arr.shape)
    return t


def _norm_cdf_mass(mean: float, std: float, a: float, b: float) -> float:
    """The probability that N(mean, std^2) falls in [a, b]."""
    def cdf(x: float) -> float:
        return 0.5 * (1.0 + math.erf((x - mean) / (std * math.sqrt(2.0))))
    return cdf(b) - cdf(a)


def constant_(t: T, val: float) -> T:
    """Fill t with `val`."""
    _array(t, "constant_")[...] = val
    return t


def zeros_(t: T) -> T:
    """Fill t with zeros."""
    return constant_(t, 0.0)


def ones_(t: T) -> T:
    """Fill t with ones."""
    return constant_(t, 1.0)


def eye_(t: T) -> T:
    """Fill a 2-D t with the identity matrix (ones on the diagonal)."""
    arr = _array(t, "eye_")
    if arr.ndim != 2:
        raise ValueError(f"init.eye_: needs a 2-D tensor, got shape {arr.shape}")
    arr[...] = np.eye(*arr.shape)
    return t


def _number(value: Any, name: str, op: str) -> float:
    if isinstance(value, np.random.Generator) or isinstance(value, bool) \
            or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"init.{op}: {name} must be a number, got {type(value).__name__} "
                        "(pass a generator as rng=...)")
    return float(value)


def xavier_uniform_(t: T, gain: float = 1.0, rng: np.random.Generator | int | None = None) -> T:
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(t, "xavier_uniform_").shape)
    bound = _number(gain, "gain", "xavier_uniform_") * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound, _generator(rng, "xavier_uniform_"))


def xavier_normal_(t: T, gain: float = 1.0, rng: np.random.Generator | int | None = None) -> T:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(t, "xavier_normal_").shape)
    std = _number(gain, "gain", "xavier_normal_") * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(t, 0.0, std, _generator(rng, "xavier_normal_"))


def _kaiming_std(t: Any, a: float, mode: str, nonlinearity: str, op: str) -> float:
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(t, op).shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init.{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"init.{op}: {mode} is 0 for shape {t.shape}")
    return calculate_gain(nonlinearity, _number(a, "a", op)) / math.sqrt(fan)


def kaiming_uniform_(t: T, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     rng: np.random.Generator | int | None = None) -> T:
    """He uniform: U(-b, b) with b = sqrt(3) * gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).

    With a = sqrt(5) (PyTorch's default for Linear and Conv2d) the bound is 1 / sqrt(fan_in).
    """
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(t, -bound, bound, _generator(rng, "kaiming_uniform_"))


def kaiming_normal_(t: T, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    rng: np.random.Generator | int | None = None) -> T:
    """He normal: N(0, std^2) with std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    std = _kaiming_std(t, a, mode, nonlinearity, "kaiming_normal_")
    return normal_(t, 0.0, std, _generator(rng, "kaiming_normal_"))


def orthogonal_(t: T, gain: float = 1.0, rng: np.random.Generator | int | None = None) -> T:
    """A (semi-)orthogonal matrix times gain, from the QR decomposition of a Gaussian matrix, as in
    PyTorch (t is viewed as (shape[0], rest) and needs at least 2 dims)."""
    arr = _array(t, "orthogonal_")
    if arr.ndim < 2:
        raise ValueError(f"init.orthogonal_: needs at least 2 dims, got shape {arr.shape}")
    rows, cols = arr.shape[0], arr.size // arr.shape[0]
    flat = _generator(rng, "orthogonal_").normal(size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # make the decomposition unique
    if rows < cols:
        q = q.T
    arr[...] = (q * _number(gain, "gain", "orthogonal_")).reshape(arr.shape)
    return t
