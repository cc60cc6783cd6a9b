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
