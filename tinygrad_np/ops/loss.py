"""Loss primitives whose backward is worth writing by hand (clamped logs, a finite gradient at 0 and 1).

Most losses are composites in `nn.functional`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Context, Function


class BinaryCrossEntropy(Function):
    """-(y log p + (1 - y) log(1 - p)) elementwise, each log clamped at -100 (as PyTorch does),
    so p = 0 or 1 gives a finite loss and gradient."""
    op_name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx: Context, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_q = np.maximum(np.log1p(-p), -100)
        ctx.save_for_backward(p, y)
        return -(y * log_p + (1 - y) * log_q)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        p, y = ctx.saved_tensors
        gp = gy = None
        if ctx.needs_input_grad[0]:
            # d/dp = (p - y) / (p (1 - p)), the denominator at least 1e-12 as in PyTorch, so the
            # gradient stays finite in float32 at p = 0 or 1 (and sigmoid's backward gives 0, not NaN)
            gp = grad * (p - y) / np.maximum(p * (1 - p), 1e-12)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                gy = grad * (np.maximum(np.log1p(-p), -100) - np.maximum(np.log(p), -100))
        return gp, gy

    @classmethod
    def backward_graph(cls, ctx: Any, grad: Any) -> tuple[Any, Any]:
        """The same formulas on tensors (the clamps as clips, whose gradient is 0 where they bind)."""
        p, y = ctx.saved_tensors
        gp = gy = None
        if ctx.needs_input_grad[0]:
            gp = grad * (p - y) / (p * (1 - p)).clip(1e-12, None)
        if ctx.needs_input_grad[1]:
            gy = grad * ((1 - p).log().clip(-100.0, None) - p.log().clip(-100.0, None))
        return gp, gy


class CrossEntropy(Function):
    """Softmax cross-entropy of scores x (M, C) against class indices y (M,), log-softmax and the
    negative log-likelihood in one op: loss_i = -w[y_i] (x[i, y_i] - logsumexp(x[i])), 0 where
    y_i == ignore_index; reduced by "mean" (divided by the sum of the counted weights), "sum", or
    not ("none", (M,)). Attributes: weight ((C,) array or None), ignore_index, reduction.

    The gradient is closed-form: d loss / dx = (softmax(x) - onehot(y)) * w[y] times the incoming
    gradient (divided by the weight sum for "mean"); the softmax is kept from the forward pass.
    """
    op_name = "cross_entropy"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None, ignore_index: int,
                reduction: str) -> np.ndarray:
        m = x.shape[0]
        valid = y != ignore_index
        safe = np.where(valid, y, 0)
        w_t = valid.astype(x.dtype) if weight is None else (weight[safe] * valid).astype(x.dtype)
        shifted = x - x.max(axis=1, keepdims=True)  # (M, C), each row's max at 0
        probs = np.exp(shifted)
        total = probs.sum(axis=1, keepdims=True)
        probs /= total
        rows = np.arange(m)
        losses = w_t * (np.log(total[:, 0]) - shifted[rows, safe])  # -w log softmax(x)[y]
        divisor = float(w_t.sum(dtype=np.float64))
        ctx.save_for_backward(probs, safe, w_t, divisor)
        if reduction == "none":
            return losses
        loss_sum = losses.sum(dtype=np.float64)
        if reduction == "sum":
            return np.asarray(loss_sum, dtype=x.dtype)
        return np.asarray(loss_sum / divisor if divisor else np.nan, dtype=x.dtype)  # all ignored: NaN

    @staticmethod
    def _row_factor(ctx: Any, grad: Any, w_t: np.ndarray, divisor: float) -> Any:
        """The factor of each row's (softmax - onehot): (M, 1)."""
        reduction = ctx.attrs["reduction"]
        if reduction == "none":
            return grad.reshape(-1, 1) * w_t.reshape(-1, 1)
        scale = w_t.reshape(-1, 1) / divisor if reduction == "mean" else w_t.reshape(-1, 1)
        return grad * scale if reduction == "sum" or divisor else grad * np.full_like(scale, np.nan)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, None]:
        probs, safe, w_t, divisor = ctx.saved_tensors
        gx = probs.copy()
        gx[np.arange(gx.shape[0]), safe] -= 1
        gx *= CrossEntropy._row_factor(ctx, grad, w_t, divisor)
        return gx, None

    @classmethod
    def backward_graph(cls, ctx: Any, grad: Any) -> tuple[Any, None]:
        """The same gradient on tensors: softmax(x) recorded on the tape, the one-hot target and
        the weights constants."""
        _, safe, w_t, divisor = ctx.saved_tensors
        x = ctx.parents[0]
        onehot = np.zeros(x.shape, dtype=x.dtype)
        onehot[np.arange(x.shape[0]), safe] = 1
        return (x.softmax(1) - onehot) * cls._row_factor(ctx, grad, w_t, divisor), None
