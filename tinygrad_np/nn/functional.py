"""Losses and activations as functions of tensors."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.activation import Softplus
from ..ops.loss import BinaryCrossEntropy
from ..tensor import Tensor

__all__ = ["sigmoid", "relu", "tanh", "softmax", "log_softmax", "softplus", "mse_loss", "cross_entropy",
           "binary_cross_entropy", "binary_cross_entropy_with_logits"]


def _as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return like._lift(x) if like is not None else Tensor(x)


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(op: str, a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{op}: input has shape {a.shape} but target has shape {b.shape}")


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), elementwise."""
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise."""
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    return x.tanh()


def softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (or NumPy's `axis`), stable for large |x|."""
    return x.softmax(dim, axis=axis)


def log_softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """x - logsumexp(x) along `dim` (or NumPy's `axis`), stable for large |x|."""
    return x.log_softmax(dim, axis=axis)


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of squared differences, like torch.nn.functional.mse_loss."""
    target = _as_tensor(target, input)
    _same_shape("mse_loss", input, target)
    return _reduce((input - target) ** 2, reduction, "mse_loss")


def cross_entropy(logits: Tensor, labels: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of logits (N, K) against integer class labels (N,)."""
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be 2-D (N, classes), got shape {logits.shape}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integers, got dtype {labels.dtype}")
    n, k = logits.shape
    if labels.shape != (n,):
        raise ValueError(f"cross_entropy: labels must have shape ({n},) for logits {logits.shape}, "
                         f"got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"cross_entropy: labels must be in [0, {k - 1}], got values from "
                         f"{labels.min()} to {labels.max()}")
    picked = logits.log_softmax(axis=1)[np.arange(n), labels]
    return _reduce(-picked, reduction, "cross_entropy")


def binary_cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1] against targets in [0, 1]."""
    target = _as_tensor(target, input)
    _same_shape("binary_cross_entropy", input, target)
    lo, hi = float(np.min(input._data, initial=0.0)), float(np.max(input._data, initial=1.0))
    if lo < 0 or hi > 1:
        raise ValueError(f"binary_cross_entropy: input must be probabilities in [0, 1], "
                         f"got values from {lo} to {hi}")
    return _reduce(BinaryCrossEntropy.apply(input, target), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on logits: max(x, 0) - x*y + log(1 + exp(-|x|)), stable for any x."""
    target = _as_tensor(target, logits)
    _same_shape("binary_cross_entropy_with_logits", logits, target)
    loss = softplus(logits) - logits * target
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)), stable for any x."""
    return Softplus.apply(x)
