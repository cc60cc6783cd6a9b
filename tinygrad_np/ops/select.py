"""Selection primitives: `where` (one of two inputs by a mask) and elementwise `maximum`.

The gradient goes to the input chosen; `minimum`, `clamp` with tensor bounds, `masked_fill`,
`tril` and `triu` are composites over these (see tensor/math.py and tensor/shaping.py).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from . import dual
from .shape_checks import broadcast_shape


def _select(cond: np.ndarray, a: Any, b: Any) -> Any:
    """a where cond else b; recorded when a or b is a tensor."""
    if dual.is_tensor(a) or dual.is_tensor(b):
        return Where.apply(cond, a, b)
    return np.where(cond, a, b)


class Where(Function):
    """x where cond else y (cond a bool input without gradient); the gradient goes to the chosen side.

    A primitive because the composite cond * x + (1 - cond) * y is NaN wherever the side not
    chosen is infinite."""

    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, cond: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        broadcast_shape("where", cond.shape, broadcast_shape("where", x.shape, y.shape))
        ctx.save_for_backward(cond)
        return np.where(cond, x, y)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[None, Any, Any]:
        (cond,) = ctx.saved_tensors
        cond = dual.array(cond)
        zero = np.zeros((), dtype=grad.dtype)
        return (None, _select(cond, grad, zero) if ctx.needs_input_grad[1] else None,
                _select(cond, zero, grad) if ctx.needs_input_grad[2] else None)


class Maximum(Function):
    """Elementwise max(a, b); where a == b each side gets half the gradient (as PyTorch).

    A primitive because a composite of `where`s cannot split ties evenly without changing the
    value at infinite or subnormal ties."""

    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("maximum", a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        a, b = (dual.array(v) for v in ctx.saved_tensors)  # which side won: constants
        half = np.where(a == b, 0.5, 1.0).astype(grad.dtype)  # the share of each side, 1/2 at ties
        ga = grad * half * ~(a < b) if ctx.needs_input_grad[0] else None  # NaN: both sides get it all
        gb = grad * half * ~(a > b) if ctx.needs_input_grad[1] else None
        return ga, gb
