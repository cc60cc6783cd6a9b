"""Activation primitives: sigmoid (blocked, on all cores: it runs on every activation of a network),
tanh, relu and softplus. Their backward passes also run recorded (`create_graph=True`)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from . import dual, parallel

# Elements per block for multi-pass elementwise work (128 KiB of float32: stays in L2).
_CACHE_BLOCK = 1 << 15
# Seconds per element on one core (float32, measured here), to decide whether to split the work.
_SIGMOID_SECONDS = 3e-9           # NumPy's exp dominates
_SIGMOID_GRAD_SECONDS = 0.6e-9
_PASS_SECONDS = 0.5e-9            # one pass over an array (float32, out of cache)


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
    exactly 0 (and at NaN) is 0.

    Saves its output (which the next op usually keeps anyway), not a mask: the gradient flows
    where the output is positive. Both passes split over the cores when large.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        out = np.empty(a.shape, dtype=a.dtype)
        flat_a, flat_out = np.ascontiguousarray(a).reshape(-1), out.reshape(-1)
        zero = np.zeros((), dtype=a.dtype)

        def run(part: slice) -> None:
            # not a * (a > 0): that makes -inf * 0 = NaN and -x * 0 = -0.0
            np.maximum(flat_a[part], zero, out=flat_out[part])

        parallel.for_each_slice(flat_out.size, _PASS_SECONDS, run)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (out,) = ctx.saved_tensors
        positive = dual.array(out)  # where the gradient flows: a constant of the backward graph
        if dual.is_tensor(grad) or positive.shape != grad.shape:
            return grad * (positive > 0)
        result = np.empty(grad.shape, dtype=np.result_type(grad, positive))
        flat_out, flat_result = positive.reshape(-1), result.reshape(-1)
        flat_grad = np.ascontiguousarray(grad).reshape(-1)

        def run(part: slice) -> None:
            np.multiply(flat_grad[part], flat_out[part] > 0, out=flat_result[part])

        parallel.for_each_slice(flat_result.size, 2 * _PASS_SECONDS, run)
        return result


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
