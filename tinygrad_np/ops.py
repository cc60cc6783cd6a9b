"""Primitive ops: elementwise, reductions, movement and matmul.

Each op is a `Function` with forward and backward side by side on plain ndarrays.
Broadcasting is undone by the engine (`sum_to_shape`), so backward may return a
gradient of the broadcast shape.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence, Tuple

import numpy as np

from . import parallel
from .autograd import Context, Function
from .shape_checks import (  # noqa: F401  (re-exported for tensor.py)
    broadcast_shape, check_concat_shapes, check_permutation, normalize_axis,
    normalize_index, normalize_pad, resolve_shape,
)


def accumulator(shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
    """A zero-filled array to accumulate into with `+=`.

    np.zeros maps fresh pages of a large array to the shared zero page, so `+=` faults on every
    page twice (the read, then the copy-on-write); filling np.empty memory faults once.
    """
    out = np.empty(shape, dtype=dtype)
    out.fill(0)
    return out


def sum_of(arrays: Sequence[np.ndarray], out: Optional[np.ndarray] = None) -> np.ndarray:
    """Elementwise sum of equally shaped arrays, into `out` (a new array if None; `out` may be
    arrays[0] itself, to add the rest into it)."""
    if len(arrays) == 1:
        if out is None:
            return arrays[0].copy()
        if out is not arrays[0]:
            np.copyto(out, arrays[0])
        return out
    out = np.add(arrays[0], arrays[1], out=out)
    for part in arrays[2:]:
        out += part
    return out


# ---------------------------------------------------------------- elementwise
class Add(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("add", a.shape, b.shape)
        return a + b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("sub", a.shape, b.shape)
        return a - b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("mul", a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("div", a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        a, b = ctx.saved_tensors
        ga = grad / b if ctx.needs_input_grad[0] else None
        gb = -grad * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        return -a

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return -grad


class PowScalar(Function):
    """x ** p for a constant exponent p."""
    op_name = "pow"

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
        return grad * p * np.power(a, np.asarray(p - 1, dtype=a.dtype))


class Pow(Function):
    """a ** b for two tensors; d/db = a**b * log(a) (defined for a > 0)."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("pow", a.shape, b.shape)
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        a, b, out = ctx.saved_tensors
        ga = grad * b * np.power(a, b - 1) if ctx.needs_input_grad[0] else None
        gb = grad * out * np.log(a) if ctx.needs_input_grad[1] else None
        return ga, gb


class Exp(Function):
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
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Function):
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

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        return grad * np.sign(a)


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


class Tanh(Function):
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
    """max(x, 0); the gradient at exactly 0 is 0."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        mask = a > 0
        ctx.save_for_backward(mask)
        return a * mask

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (mask,) = ctx.saved_tensors
        return grad * mask


class Clip(Function):
    """Clamp to [low, high]; the gradient is passed only where the input was inside."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, low: Optional[float], high: Optional[float]) -> np.ndarray:
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
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return a.astype(dtype)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return grad  # the engine casts it back to the input's dtype


# ----------------------------------------------------------------- reductions
def _expand_reduced(grad: np.ndarray, shape: Tuple[int, ...], axis: Tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes of `grad` as size-1 dims so it broadcasts against `shape`."""
    if not keepdims:
        grad = np.expand_dims(grad, axis) if axis else grad.reshape((1,) * len(shape))
    return grad


class Sum(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Tuple[int, ...], keepdims: bool) -> np.ndarray:
        ctx.save_for_backward(a.shape)
        return np.asarray(a.sum(axis=axis or None, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (shape,) = ctx.saved_tensors
        axis = ctx.attrs["axis"] or tuple(range(len(shape)))
        g = _expand_reduced(grad, shape, axis, ctx.attrs["keepdims"])
        return np.broadcast_to(g, shape)


class Max(Function):
    """Maximum over axes; equal maxima share the gradient evenly."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Tuple[int, ...], keepdims: bool) -> np.ndarray:
        axes = axis or tuple(range(a.ndim))
        if any(a.shape[i] == 0 for i in axes):  # reducing (0, 3) over axis 1 is fine: result (0,)
            raise ValueError(f"max: cannot reduce an empty tensor of shape {a.shape}"
                             + (f" over axis {axis}" if axis else ""))
        out = a.max(axis=axes, keepdims=True)
        ctx.save_for_backward(a, out)
        return out if keepdims else np.asarray(out.reshape([n for i, n in enumerate(a.shape) if i not in axes]))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        a, out = ctx.saved_tensors
        axes = ctx.attrs["axis"] or tuple(range(a.ndim))
        winners = a == out
        count = winners.sum(axis=axes, keepdims=True)
        g = grad.reshape(out.shape)
        return winners * (g / count)


# ------------------------------------------------------------------- movement
class Reshape(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
        ctx.save_for_backward(a.shape)
        return a.reshape(shape)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (shape,) = ctx.saved_tensors
        return grad.reshape(shape)


class Permute(Function):
    op_name = "permute"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axes: Tuple[int, ...]) -> np.ndarray:
        return a.transpose(axes)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        return grad.transpose(np.argsort(ctx.attrs["axes"]))


class Index(Function):
    """x[index] for basic and advanced indices; repeated indices accumulate in backward."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, index: Any) -> np.ndarray:
        ctx.save_for_backward(a.shape)
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        (shape,) = ctx.saved_tensors
        out = accumulator(shape, grad.dtype)
        np.add.at(out, ctx.attrs["index"], grad)
        return out


class Pad(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, pad_width: Tuple[Tuple[int, int], ...], value: float) -> np.ndarray:
        return np.pad(a, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> np.ndarray:
        crop = tuple(slice(lo, n - hi) for (lo, hi), n in zip(ctx.attrs["pad_width"], grad.shape))
        return grad[crop]


class Concatenate(Function):
    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, axis: int) -> np.ndarray:
        ctx.save_for_backward(np.cumsum([x.shape[axis] for x in arrays])[:-1])
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Tuple[np.ndarray, ...]:
        (splits,) = ctx.saved_tensors
        return tuple(np.split(grad, splits, axis=ctx.attrs["axis"]))


# --------------------------------------------------------------------- matmul
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
    def backward(ctx: Context, grad: np.ndarray) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
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
