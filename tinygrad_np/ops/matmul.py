"""Matrix product with NumPy's semantics (1-D promotion, broadcast batch dims)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from . import dual
from .shape_checks import broadcast_shape


class MatMul(Function):
    """NumPy matmul semantics: 1-D operands are promoted to matrices and the extra dim dropped."""

    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
        k_a = a.shape[-1]
        k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k_a != k_b:
            raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape} ({k_a} != {k_b})")
        broadcast_shape("matmul", a.shape[:-2], b.shape[:-2])
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        a2 = dual.reshape(a, (1,) + a.shape) if a.ndim == 1 else a          # (..., M, K)
        b2 = dual.reshape(b, b.shape + (1,)) if b.ndim == 1 else b          # (..., K, N)
        g = dual.reshape(grad, grad.shape + (1,)) if b.ndim == 1 else grad
        g = dual.reshape(g, g.shape[:-1] + (1, g.shape[-1])) if a.ndim == 1 else g  # g: (..., M, N)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = dual.matmul(g, dual.swap_last(b2))  # (..., M, N) x (..., N, K) -> (..., M, K)
            ga = dual.reshape(ga, ga.shape[:-2] + (ga.shape[-1],)) if a.ndim == 1 else ga
        if ctx.needs_input_grad[1]:
            gb = dual.matmul(dual.swap_last(a2), g)  # (..., K, M) x (..., M, N) -> (..., K, N)
            gb = dual.reshape(gb, gb.shape[:-1]) if b.ndim == 1 else gb
        return ga, gb
