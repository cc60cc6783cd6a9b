"""Regression and binary losses, as in torch.nn.functional (cross_entropy and nll_loss are in
classification.py). Every loss takes reduction "mean" (default), "sum" or "none" (the
elementwise loss). The input and target must have the same shape; weights broadcast to it.

All are composites of existing ops except binary_cross_entropy, a primitive that clamps its
logs at -100 like PyTorch so p = 0 or 1 stays finite.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...ops.activation import Softplus
from ...ops.loss import BinaryCrossEntropy
from ...tensor import Tensor
from ._common import broadcastable, check_reduction, constant, lift, reduce_loss, same_shape

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div"]


def _pair(op: str, input: Any, target: Any) -> tuple[Tensor, Tensor]:
    input = lift(input)
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {input.dtype}")
    target = lift(target, input)
    same_shape(op, input, target)
    return input, target


def _weight(op: str, weight: Any, input: Tensor, what: str = "weight") -> Tensor | None:
    if weight is None:
        return None
    w = lift(weight, input)
    broadcastable(op, input.shape, w.shape, what)
    return w


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(input - target)^2, reduced."""
    input, target = _pair("mse_loss", input, target)
    return reduce_loss((input - target) ** 2, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced (the gradient at 0 is 0)."""
    input, target = _pair("l1_loss", input, target)
    return reduce_loss((input - target).abs(), reduction, "l1_loss")


def _quadratic_near_zero(diff: Tensor, width: float, quadratic_scale: float, linear: Tensor) -> Tensor:
    """0.5 * d^2 * quadratic_scale where |d| < width, `linear` elsewhere (a constant mask picks)."""
    near = constant(np.abs(diff.data) < width, diff)
    return diff * diff * (0.5 * quadratic_scale) * near + linear * (1.0 - near)


def smooth_l1_loss(input: Tensor, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target); beta = 0 is l1_loss."""
    input, target = _pair("smooth_l1_loss", input, target)
    check_reduction(reduction, "smooth_l1_loss")
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    diff = input - target
    if beta == 0:
        return reduce_loss(diff.abs(), reduction, "smooth_l1_loss")
    loss = _quadratic_near_zero(diff, beta, 1.0 / beta, diff.abs() - 0.5 * beta)
    return reduce_loss(loss, reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere (d = input - target)."""
    input, target = _pair("huber_loss", input, target)
    check_reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    diff = input - target
    loss = _quadratic_near_zero(diff, delta, 1.0, (diff.abs() - 0.5 * delta) * delta)
    return reduce_loss(loss, reduction, "huber_loss")


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, *, reduction: str = "mean") -> Tensor:
    """-w (y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1] (logs clamped at -100)."""
    input, target = _pair("binary_cross_entropy", input, target)
    check_reduction(reduction, "binary_cross_entropy")
    lo, hi = float(np.min(input.data, initial=0.0)), float(np.max(input.data, initial=1.0))
    if lo < 0 or hi > 1:
        raise ValueError(f"binary_cross_entropy: input must be probabilities in [0, 1], "
                         f"got values from {lo} to {hi}")
    loss = BinaryCrossEntropy.apply(input, target)
    w = _weight("binary_cross_entropy", weight, input)
    return reduce_loss(loss if w is None else loss * w, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None, *, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), stable for any input:
    w ((1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)); pos_weight (one per class, the last
    dim) weighs the positive term."""
    op = "binary_cross_entropy_with_logits"
    input, target = _pair(op, input, target)
    check_reduction(reduction, op)
    log_weight: Any = 1.0
    if pos_weight is not None:
        pw = lift(pos_weight, input)
        broadcastable(op, input.shape, pw.shape, "pos_weight")
        log_weight = (pw - 1.0) * target + 1.0
    loss = (1.0 - target) * input + Softplus.apply(-input) * log_weight
    w = _weight(op, weight, input)
    return reduce_loss(loss if w is None else loss * w, reduction, op)


def kl_div(input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence with `input` holding log-probabilities: target * (log(target) - input)
    (0 where target is 0), or exp(target) * (target - input) with log_target. reduction "batchmean"
    divides the sum by the batch size (input.shape[0]); "mean" averages over every element."""
    input, target = _pair("kl_div", input, target)
    check_reduction(reduction, "kl_div", ("mean", "batchmean", "sum", "none"))
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # xlogy(t, t): t log t with 0 where t == 0 (log(1) there)
        loss = target * (target + constant(target.data == 0, target)).log() - target * input
    if reduction == "batchmean":
        if input.ndim == 0:
            raise ValueError("kl_div: reduction='batchmean' needs an input with a batch dimension, got a 0-d input")
        return loss.sum() / input.shape[0]
    return reduce_loss(loss, reduction, "kl_div")
