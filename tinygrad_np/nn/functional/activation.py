"""Activation functions, as in torch.nn.functional.

All are composites of existing ops except softplus (a primitive, stable for any x) and the
exact gelu (which uses the erf primitive). Gradients at the kinks are PyTorch's:
leaky_relu'(0) = negative_slope, elu'(0) = alpha, hardswish'(-3) = 0 and hardswish'(3) = 1,
hardtanh (and relu6) pass no gradient at their bounds.
`inplace=True` is accepted for PyTorch's signatures and computes out of place (the tape
needs the input), giving the same values.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...ops.activation import Softplus
from ...ops.special import erf
from ...tensor import Tensor
from ._common import constant, lift

__all__ = ["sigmoid", "relu", "relu6", "tanh", "softmax", "log_softmax", "softplus", "leaky_relu", "elu",
           "gelu", "silu", "hardswish", "mish", "hardtanh"]

_TANH_BETA = math.sqrt(2.0) * (2.0 / math.sqrt(math.pi)) * 0.5  # sqrt(2 / pi), computed as PyTorch does


def _float_tensor(x: Any, op: str) -> Tensor:
    x = lift(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {x.dtype}")
    return x


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), elementwise."""
    return lift(input).sigmoid()


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0), elementwise (gradient 0 at 0)."""
    return lift(input).relu()


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6), elementwise."""
    return hardtanh(input, 0.0, 6.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]; the gradient is 1 strictly inside, 0 outside and at the bounds."""
    x = _float_tensor(input, "hardtanh")
    if not min_val < max_val:
        raise ValueError(f"hardtanh: min_val must be less than max_val, got {min_val} and {max_val}")
    # PyTorch passes the gradient only where min_val < x < max_val
    inside = constant((x.data > min_val) & (x.data < max_val), x)
    return x * inside + x.detach().clip(min_val, max_val) * (1.0 - inside)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    return lift(input).tanh()


def softmax(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (`axis` is the same; the last axis when neither is given)."""
    return lift(input).softmax(_dim(dim, axis, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """x - logsumexp(x) along `dim` (`axis` is the same; the last axis when neither is given)."""
    return lift(input).log_softmax(_dim(dim, axis, "log_softmax"))


def _dim(dim: int | None, axis: int | None, op: str) -> int:
    if dim is not None and axis is not None and dim != axis:
        raise TypeError(f"{op}: got dim={dim} and axis={axis}; give one of them")
    chosen = dim if dim is not None else axis
    return -1 if chosen is None else chosen


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch).

    The softplus primitive alone when no element is past the threshold (the usual case), so the
    graph holds one op (which ONNX export maps to Softplus).
    """
    x = _float_tensor(input, "softplus")
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    smooth = Softplus.apply(x) if beta == 1.0 else Softplus.apply(x * beta) / beta
    past = x.data * beta > threshold
    if not past.any():
        return smooth
    linear = constant(past, x)
    return x * linear + smooth * (1.0 - linear)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    x = _float_tensor(input, "leaky_relu")
    slope = np.where(x.data > 0, 1.0, negative_slope)
    return x * constant(slope, x)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    x = _float_tensor(input, "elu")
    return x.relu() + alpha * (x.clip(max=0.0).exp() - 1.0)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) with Phi the standard normal CDF, 0.5 * (1 + erf(x / sqrt(2))) (approximate="none"),
    or with the tanh approximation 0.5 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) ("tanh")."""
    x = _float_tensor(input, "gelu")
    if approximate == "none":
        return x * (erf(x * math.sqrt(0.5)) + 1.0) * 0.5
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _TANH_BETA
        return x * 0.5 * (inner.tanh() + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = _float_tensor(input, "silu")
    return x * x.sigmoid()


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6; like PyTorch the gradient is 0 at x = -3 and 1 at x = 3."""
    x = _float_tensor(input, "hardswish")
    inside = constant((x.data > -3.0) & (x.data < 3.0), x)
    # relu6(x + 3), passing a gradient only strictly between the kinks
    clipped = (x + 3.0) * inside + (x.detach() + 3.0).clip(0.0, 6.0) * (1.0 - inside)
    return x * clipped / 6.0


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    x = _float_tensor(input, "mish")
    return x * Softplus.apply(x).tanh()
