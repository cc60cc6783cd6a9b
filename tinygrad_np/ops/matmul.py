"""Matrix product with NumPy's semantics (1-D promotion, broadcast batch dims).

Products of arrays run with BLAS held to one thread, a large 2-D product split by rows (or by
columns when it has few rows) over our threads in pieces fixed by its shape, so that results do
not depend on the thread count: NumPy's BLAS, left to its own threads, keeps them spinning for a
while after each product, and they take the cores from the next op (a batch-64 input gradient
of a 64-channel 3x3 conv took 30 ms alone and 42-46 ms right after a 64 x 4096 x 10 product;
docs/benchmarks.md).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from . import dual, parallel
from .shape_checks import broadcast_shape

# Seconds per multiply-add on one core (float32 GEMM at about 65 GFLOP/s, measured here).
_MULTIPLY_ADD_SECONDS = 1 / 32e9
# A product is cut into pieces of at least this many multiply-adds (about 0.3 ms) when it splits.
_PIECE_MULTIPLY_ADDS = 1 << 23


def matmul_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.matmul(a, b), BLAS on one thread, a large 2-D product split over the threads."""
    with parallel.single_threaded_blas():
        if a.ndim != 2 or b.ndim != 2:
            return np.matmul(a, b)
        (m, k), n = a.shape, b.shape[1]
        pieces = min(max(m, n), (m * k * n) // _PIECE_MULTIPLY_ADDS)
        if pieces < 2:
            return np.matmul(a, b)
        out = np.empty((m, n), dtype=np.result_type(a, b))
        by_rows = m >= n
        bounds = parallel.split_range(m if by_rows else n, pieces)

        def run(part: slice) -> None:
            for piece in bounds[part]:
                if by_rows:  # (rows, K) x (K, N) -> (rows, N)
                    np.matmul(a[piece], b, out=out[piece])
                else:  # (M, K) x (K, cols) -> (M, cols)
                    np.matmul(a, b[:, piece], out=out[:, piece])

        parallel.for_each_slice(pieces, m * k * n / pieces * _MULTIPLY_ADD_SECONDS, run, uses_blas=True)
        return out


def _matmul(a: Any, b: Any) -> Any:
    return dual.matmul(a, b) if dual.is_tensor(a) or dual.is_tensor(b) else matmul_arrays(a, b)


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
        return matmul_arrays(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        a2 = dual.reshape(a, (1,) + a.shape) if a.ndim == 1 else a          # (..., M, K)
        b2 = dual.reshape(b, b.shape + (1,)) if b.ndim == 1 else b          # (..., K, N)
        g = dual.reshape(grad, grad.shape + (1,)) if b.ndim == 1 else grad
        g = dual.reshape(g, g.shape[:-1] + (1, g.shape[-1])) if a.ndim == 1 else g  # g: (..., M, N)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = _matmul(g, dual.swap_last(b2))  # (..., M, N) x (..., N, K) -> (..., M, K)
            ga = dual.reshape(ga, ga.shape[:-2] + (ga.shape[-1],)) if a.ndim == 1 else ga
        if ctx.needs_input_grad[1]:
            gb = _matmul(dual.swap_last(a2), g)  # (..., K, M) x (..., M, N) -> (..., K, N)
            gb = dual.reshape(gb, gb.shape[:-1]) if b.ndim == 1 else gb
        return ga, gb
