"""Classification losses as in torch.nn.functional: cross_entropy and nll_loss.

The input holds one score per class along dim 1: (N, C), (N, C, d1, d2, ...) or an unbatched
(C,). The target holds either class indices (integers, the input's shape without the class
dim) or, for cross_entropy, class probabilities (floats, the input's shape). cross_entropy of
class indices without label smoothing is one primitive (`tinygrad_np.ops.loss.CrossEntropy`,
log-softmax and the negative log-likelihood fused, closed-form backward); the rest are composites
of log_softmax, indexing and sums. Like PyTorch, class `weight`s are constants (no gradient).

With class indices, `reduction="mean"` divides the weighted sum by the sum of the weights
of the targets that are not `ignore_index` (NaN if every target is ignored); with class
probabilities it divides by the number of targets (N * d1 * d2 ...).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...ops.loss import CrossEntropy
from ...tensor import Tensor
from ._common import check_reduction, constant, lift

__all__ = ["cross_entropy", "nll_loss"]


def _scores(op: str, input: Any, what: str) -> Tensor:
    input = lift(input)
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be floating point, got dtype {input.dtype}")
    if input.ndim == 0:
        raise ValueError(f"{op}: {what} must have a class dim: (C,), (N, C) or (N, C, d1, ...), got a 0-d tensor")
    return input


def _class_weight(op: str, weight: Any, num_classes: int) -> np.ndarray | None:
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=np.float64)
    if w.shape != (num_classes,):
        raise ValueError(f"{op}: weight must have shape ({num_classes},), one value per class, got {w.shape}")
    return w


def _class_indices(op: str, input: Tensor, target: np.ndarray, ignore_index: int, what: str) -> np.ndarray:
    """Check an integer target against the input; returns it flattened to (M,)."""
    expected = () if input.ndim == 1 else input.shape[:1] + input.shape[2:]
    if target.shape != expected:
        if input.ndim == 1:
            raise ValueError(f"{op}: {what} must be 2-D (N, C) or more for a target of shape {target.shape}; "
                             f"an unbatched input of shape {input.shape} takes a target of shape ()")
        raise ValueError(f"{op}: labels must have shape {expected} for {what} of shape {input.shape}, "
                         f"got shape {target.shape}")
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    flat = target.reshape(-1).astype(np.int64)
    bad = (flat != ignore_index) & ((flat < 0) | (flat >= c))
    if bad.any():
        raise ValueError(f"{op}: labels must be in [0, {c - 1}] (class indices) or equal ignore_index="
                         f"{ignore_index}, got {flat[bad][0]} (values from {flat.min()} to {flat.max()})")
    return flat


def _classes_last(x: Tensor) -> Tensor:
    """(C,) -> (1, C); (N, C, d1, ...) -> (N * d1 * ..., C)."""
    if x.ndim == 1:
        return x.reshape(1, -1)
    if x.ndim > 2:
        x = x.permute((0, *range(2, x.ndim), 1))
    return x.reshape(-1, x.shape[-1])


def _picked(log_probs: Tensor, target: np.ndarray, weight: np.ndarray | None,
            ignore_index: int) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """(-w[y] log_probs[y] per target (M,), the per-target weights (M,), the valid mask (M,))."""
    lp = _classes_last(log_probs)  # (M, C)
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    w_t = valid.astype(np.float64) if weight is None else weight[safe] * valid
    picked = lp[np.arange(lp.shape[0]), safe]  # (M,)
    return -picked * constant(w_t, picked), w_t, valid


def _finish(loss: Tensor, reduction: str, divisor: float, target_shape: tuple[int, ...]) -> Tensor:
    if reduction == "none":
        return loss.reshape(target_shape)
    total = loss.sum()
    if reduction == "sum":
        return total
    return total * math.nan if divisor == 0 else total / divisor  # every target ignored: NaN, as PyTorch


def nll_loss(input: Tensor, target: Any, weight: Any = None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices: -weight[y] * input[y] with `input` holding log-probabilities."""
    input = _scores("nll_loss", input, "input")
    check_reduction(reduction, "nll_loss")
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must be integer class indices, got dtype {target.dtype}")
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    w = _class_weight("nll_loss", weight, c)
    flat = _class_indices("nll_loss", input, target, ignore_index, "input")
    loss, w_t, _ = _picked(input, flat, w, ignore_index)
    return _finish(loss, reduction, float(w_t.sum()), target.shape)


def cross_entropy(input: Tensor, target: Any, weight: Any = None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of scores (logits) against class indices or class probabilities.

    label_smoothing = e mixes the target with the uniform distribution: (1 - e) * target + e / C.
    `weight` (C,) rescales each class; targets equal to `ignore_index` add nothing.
    """
    op = "cross_entropy"
    input = _scores(op, input, "logits")
    check_reduction(reduction, op)
    if isinstance(label_smoothing, bool) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    w = _class_weight(op, weight, c)
    class_dim = 0 if input.ndim == 1 else 1
    raw = target.data if isinstance(target, Tensor) else np.asarray(target)
    if raw.dtype.kind == "f":
        log_probs = input.log_softmax(class_dim)
        return _probability_targets(log_probs, lift(target, input), w, reduction, label_smoothing)
    if raw.dtype.kind not in "iu":
        raise TypeError(f"{op}: labels must be integers (class indices) or floats (class probabilities), "
                        f"got dtype {raw.dtype}")
    flat = _class_indices(op, input, raw, ignore_index, "logits")
    if label_smoothing == 0:  # log-softmax and the picked log-probabilities in one op
        loss = CrossEntropy.apply(_classes_last(input), Tensor(flat), weight=w, ignore_index=int(ignore_index),
                                  reduction=reduction)
        return loss.reshape(raw.shape) if reduction == "none" else loss
    log_probs = input.log_softmax(class_dim)
    loss, w_t, valid = _picked(log_probs, flat, w, ignore_index)
    divisor = float(w_t.sum())
    nll = _finish(loss, reduction, divisor, raw.shape)
    lp = _classes_last(log_probs)  # (M, C)
    smooth = -(lp if w is None else lp * constant(w, lp)).sum(1) * constant(valid.astype(np.float64), lp)
    if reduction == "mean" and w is None:
        divisor = float(valid.sum())
    return nll * (1.0 - label_smoothing) + _finish(smooth, reduction, divisor, raw.shape) * (label_smoothing / c)


def _probability_targets(log_probs: Tensor, target: Tensor, w: np.ndarray | None, reduction: str,
                         label_smoothing: float) -> Tensor:
    if target.shape != log_probs.shape:
        raise ValueError(f"cross_entropy: labels must be integers (class indices, shape "
                         f"{log_probs.shape[:1] + log_probs.shape[2:] if log_probs.ndim > 1 else ()}) or class "
                         f"probabilities of the logits' shape {log_probs.shape}; got a float target of shape "
                         f"{target.shape}")
    class_dim = 0 if log_probs.ndim == 1 else 1
    c = log_probs.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    terms = log_probs * target
    if w is not None:
        shape = (c,) + (1,) * (log_probs.ndim - 1 - class_dim)  # weight along the class dim
        terms = terms * constant(w.reshape(shape), terms)
    if reduction == "none":
        return -terms.sum(class_dim)
    total = -terms.sum()
    return total if reduction == "sum" else total / (log_probs.numel() // c)
