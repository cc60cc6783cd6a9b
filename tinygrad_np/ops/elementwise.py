"""Elementwise primitives: arithmetic, exp/log, activations, clip, cast, sign and trigonometry.

Each op is a `Function` with forward and backward side by side on plain ndarrays.
Broadcasting is undone by the engine (`sum_to_shape`), so backward may return a
gradient of the broadcast shape. Every backward here is written with arithmetic and the
helpers of `dual`, so the same code also runs on tensors when the backward pass is recorded
(`create_graph=True`); Sigmoid keeps a faster array-only backward beside its recorded one.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from . import dual, parallel
from .shape_checks import broadcast_shape


class Add(Function):
    differentiable_backward = True
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("add", a.shape, b.shape)
        return a + b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return grad, grad


class Sub(Function):
    differentiable_backward = True
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("sub", a.shape, b.shape)
        return a - b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    differentiable_backward = True
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("mul", a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    differentiable_backward = True
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("div", a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = ctx.saved_tensors
        ga = grad / b if ctx.needs_input_grad[0] else None
        gb = -grad * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    differentiable_backward = True
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        return -a

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return -grad


class PowScalar(Function):
    """x ** p for a constant exponent p."""
    op_name = "pow"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, exponent: float) -> np.ndarray:
        ctx.save_for_backward(a)
        p = exponent
        return a * a if p == 2 else np.power(a, np.asarray(p, dtype=a.dtype))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        p = ctx.attrs["exponent"]
        if p == 2:
            return grad * 2 * a
        return grad * p * dual.power(a, p - 1)


class Pow(Function):
    """a ** b for two tensors; d/db = a**b * log(a) (defined for a > 0)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("pow", a.shape, b.shape)
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b, out = ctx.saved_tensors
        ga = grad * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        gb = grad * out * dual.log(a) if ctx.needs_input_grad[1] else None
        return ga, gb


class Exp(Function):
    differentiable_backward = True
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    differentiable_backward = True
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Function):
    differentiable_backward = True
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Abs(Function):
    """|x|; the gradient at 0 is 0 (sign(0))."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        return grad * np.sign(dual.array(a))


# Elements per block for multi-pass elementwise work (128 KiB of float32: stays in L2).
_CACHE_BLOCK = 1 << 15
# Seconds per element on one core (float32, measured here), to decide whether to split the work.
_SIGMOID_SECONDS = 3e-9           # NumPy's exp dominates
_SIGMOID_GRAD_SECONDS = 0.6e-9


def _cache_blocks(part: slice) -> Iterator[slice]:
    """`part` of a flat array in blocks of _CACHE_BLOCK elements: an op that makes several
    passes over its data makes them all over one block while it is in cache."""
    for start in range(part.start, part.stop, _CACHE_BLOCK):
        yield slice(start, min(part.stop, start + _CACHE_BLOCK))


def stable_sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)), accurate and finite for every finite a.

    exp(-a) overflows to inf for very negative a, and 1 / (1 + inf) is exactly the 0 that
    sigmoid rounds to there, so the overflow is harmless and silenced. Computed in place on
    the output, block by block, on all cores when large (this runs on every activation of a
    network).
    """
    out = np.empty(a.shape, dtype=np.result_type(a.dtype, np.float32))
    flat_a, flat_out = np.ascontiguousarray(a).reshape(-1), out.reshape(-1)

    def run(part: slice) -> None:
        with np.errstate(over="ignore"):  # error state is per thread
            for block in _cache_blocks(part):
                o = flat_out[block]
                np.negative(flat_a[block], out=o)
                np.exp(o, out=o)
                o += 1
                np.reciprocal(o, out=o)

    parallel.for_each_slice(flat_out.size, _SIGMOID_SECONDS, run)
    return out


class Sigmoid(Function):
    """1 / (1 + exp(-x)), exact and finite for any finite x."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        out = stable_sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        result = np.empty(out.shape, dtype=np.result_type(out, grad))
        flat_out, flat_result = out.reshape(-1), result.reshape(-1)
        flat_grad = np.ascontiguousarray(grad).reshape(-1)

        def run(part: slice) -> None:
            for block in _cache_blocks(part):  # three passes over each cache-sized block
                r = flat_result[block]
                np.subtract(1, flat_out[block], out=r)  # sigmoid' = out * (1 - out)
                r *= flat_out[block]
                r *= flat_grad[block]

        parallel.for_each_slice(flat_result.size, _SIGMOID_GRAD_SECONDS, run)
        return result

    @classmethod
    def backward_graph(cls, ctx: Any, grad: Any) -> Any:
        """The same formula as `backward`, on tensors: grad * out * (1 - out)."""
        (out,) = ctx.saved_tensors
        return grad * (out * (1 - out))


class Tanh(Function):
    differentiable_backward = True
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Relu(Function):
    """max(x, 0), as PyTorch: relu(-inf) = 0, a negative gives +0.0, NaN stays NaN. The gradient at
    exactly 0 (and at NaN) is 0."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a > 0)
        # not a * (a > 0): that makes -inf * 0 = NaN and -x * 0 = -0.0
        return np.maximum(a, np.zeros((), dtype=a.dtype))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (mask,) = ctx.saved_tensors
        return grad * mask


class Clip(Function):
    """Clamp to [low, high]; the gradient is passed only where the input was inside."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
        inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        ctx.save_for_backward(inside)
        return np.clip(a, low, high)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (inside,) = ctx.saved_tensors
        return grad * inside


class Cast(Function):
    differentiable_backward = True
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return a.astype(dtype)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return grad  # the engine casts it back to the input's dtype


class Softplus(Function):
    """log(1 + exp(x)), stable for any x; gradient sigmoid(x)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return grad * dual.sigmoid(x)


class Log1p(Function):
    """log(1 + x), accurate for small x."""

    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return np.log1p(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        return grad / (1 + a)


class Expm1(Function):
    """exp(x) - 1, accurate for small x."""

    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        out = np.expm1(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved_tensors
        return grad * (out + 1)


class Sin(Function):
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        return grad * dual.cos(a)


class Cos(Function):
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        return -grad * dual.sin(a)


class Sign(Function):
    """-1, 0 or 1; the gradient is 0 everywhere (as PyTorch)."""

    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        return np.sign(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return np.zeros(grad.shape, dtype=grad.dtype)  # a constant, also when recorded

