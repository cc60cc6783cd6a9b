"""Matrix product with NumPy's semantics (1-D promotion, broadcast batch dims)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Context, Function
from .shape_checks import broadcast_shape


class MatMul(Function):
    """NumPy matmul semantics: 1-D operands are promoted to matrices and the extra dim dropped."""

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
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = ctx.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a          # (..., M, K)
        b2 = b[:, None] if b.ndim == 1 else b          # (..., K, N)
        g = np.expand_dims(grad, -1) if b.ndim == 1 else grad
        g = np.expand_dims(g, -2) if a.ndim == 1 else g  # g: (..., M, N)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = np.matmul(g, np.swapaxes(b2, -1, -2))  # (..., M, N) x (..., N, K) -> (..., M, K)
            ga = ga[..., 0, :] if a.ndim == 1 else ga
        if ctx.needs_input_grad[1]:
            gb = np.matmul(np.swapaxes(a2, -1, -2), g)  # (..., K, M) x (..., M, N) -> (..., K, N)
            gb = gb[..., 0] if b.ndim == 1 else gb
        return ga, gb
