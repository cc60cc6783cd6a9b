"""conv2d's two gradients as ops of their own, so that a recorded backward (`create_graph=True`)
can be differentiated again.

For y = conv2d(x, w) (stride s, padding p) and an incoming gradient g of y's shape:

    gx = input_grad(g, w)   = d<g, conv2d(x, w)>/dx   (a transposed convolution of g with w)
    gw = weight_grad(x, g)  = d<g, conv2d(x, w)>/dw   (a correlation of x with g)

Both are bilinear, and their own gradients are convolutions again: for a cotangent u of gx's
shape, <u, input_grad(g, w)> = <conv2d(u, w), g>, so d/dg = conv2d(u, w) and d/dw =
weight_grad(u, g); for a cotangent v of gw's shape, <v, weight_grad(x, g)> = <g, conv2d(x, v)>,
so d/dg = conv2d(x, v) and d/dx = input_grad(g, v). Each backward below is that one formula,
run on arrays or on tensors; the arrays go through the same lowerings as the first-order pass.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from . import conv_lowerings as algo
from . import dual

Pair = tuple[int, int]


def _pad_hw(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _crop_hw(g: np.ndarray, ph: int, pw: int) -> np.ndarray:
    h, w = g.shape[2], g.shape[3]
    return g[:, :, ph:h - ph, pw:w - pw]


def _padded_shape(x_shape: tuple[int, ...], padding: Pair) -> tuple[int, ...]:
    return x_shape[:2] + (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])


# --------------------------------------------------------------------------- on arrays
def conv_arrays(xp: np.ndarray, w: np.ndarray, stride: Pair) -> np.ndarray:
    """conv2d of an already padded xp (N, C, Hp, Wp) with w (F, C, KH, KW) -> (N, F, OH, OW)."""
    (sh, sw), (f, _, kh, kw) = stride, w.shape
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    if xp.shape[0] == 0 or f == 0:  # empty batch or no filters: an empty output, as in PyTorch
        return np.zeros((xp.shape[0], f, oh, ow), dtype=np.result_type(xp, w))
    algorithm, block = algo.choose_algorithm(xp.shape, w.shape, stride, (oh, ow), "forward")
    if algorithm == "band":
        return algo.band_forward(xp, w, sh, sw, oh, ow, block)
    return algo.im2col_forward(xp, w, sh, sw, oh, ow)


def input_grad_arrays(grad: np.ndarray, w: np.ndarray, padded_shape: tuple[int, ...], stride: Pair) -> np.ndarray:
    """d<grad, conv2d(xp, w)>/dxp for the padded input shape: (N, F, OH, OW) -> (N, C, Hp, Wp)."""
    if grad.size == 0 or w.size == 0:
        return np.zeros(padded_shape, dtype=np.result_type(grad, w))
    grad = np.ascontiguousarray(grad)
    algorithm, block = algo.choose_algorithm(padded_shape, w.shape, stride, grad.shape[2:], "input_grad")
    if algorithm == "band":
        return algo.band_input_grad(grad, w, padded_shape, stride[0], stride[1], block)
    return algo.im2col_input_grad(grad, w, padded_shape, stride[0], stride[1])


def weight_grad_arrays(xp: np.ndarray, grad: np.ndarray, w_shape: tuple[int, ...], stride: Pair) -> np.ndarray:
    """d<grad, conv2d(xp, w)>/dw: (N, C, Hp, Wp) and (N, F, OH, OW) -> (F, C, KH, KW)."""
    if grad.size == 0 or xp.size == 0:
        return np.zeros(w_shape, dtype=np.result_type(xp, grad))
    grad = np.ascontiguousarray(grad)
    algorithm, block = algo.choose_algorithm(xp.shape, w_shape, stride, grad.shape[2:], "weight_grad")
    if algorithm == "band":
        return algo.band_weight_grad(xp, grad, w_shape, stride[0], stride[1], block)
    return algo.im2col_weight_grad(xp, grad, w_shape, stride[0], stride[1])


# ------------------------------------------------------------- on arrays or tensors
def conv(x: Any, w: Any, stride: Pair, padding: Pair) -> Any:
    """conv2d(x, w) without bias; recorded when x or w is a tensor."""
    if dual.is_tensor(x) or dual.is_tensor(w):
        from .conv import Conv2d

        return Conv2d.apply(x, w, stride=stride, padding=padding)
    return conv_arrays(_pad_hw(x, *padding), w, stride)


def input_grad(grad: Any, w: Any, x_shape: tuple[int, ...], stride: Pair, padding: Pair) -> Any:
    """The gradient of conv2d with respect to its input, of shape x_shape."""
    if dual.is_tensor(grad) or dual.is_tensor(w):
        return ConvInputGrad.apply(grad, w, x_shape=tuple(x_shape), stride=stride, padding=padding)
    return _crop_hw(input_grad_arrays(grad, w, _padded_shape(x_shape, padding), stride), *padding)


def weight_grad(x: Any, grad: Any, w_shape: tuple[int, ...], stride: Pair, padding: Pair) -> Any:
    """The gradient of conv2d with respect to its weight, of shape w_shape."""
    if dual.is_tensor(x) or dual.is_tensor(grad):
        return ConvWeightGrad.apply(x, grad, w_shape=tuple(w_shape), stride=stride, padding=padding)
    return weight_grad_arrays(_pad_hw(x, *padding), grad, w_shape, stride)


class ConvInputGrad(Function):
    """input_grad(g, w): conv2d's gradient with respect to its input, as an op."""

    op_name = "conv2d_input_grad"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, grad: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: Pair,
                padding: Pair) -> np.ndarray:
        ctx.save_for_backward(grad, w)
        return np.ascontiguousarray(input_grad(grad, w, x_shape, stride, padding))

    @staticmethod
    def backward(ctx: Context, u: Any) -> tuple[Any, Any]:
        grad, w = ctx.saved_tensors
        stride, padding = ctx.attrs["stride"], ctx.attrs["padding"]
        d_grad = conv(u, w, stride, padding) if ctx.needs_input_grad[0] else None
        d_w = weight_grad(u, grad, w.shape, stride, padding) if ctx.needs_input_grad[1] else None
        return d_grad, d_w


class ConvWeightGrad(Function):
    """weight_grad(x, g): conv2d's gradient with respect to its weight, as an op."""

    op_name = "conv2d_weight_grad"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, grad: np.ndarray, w_shape: tuple[int, ...], stride: Pair,
                padding: Pair) -> np.ndarray:
        ctx.save_for_backward(x, grad)
        return weight_grad(x, grad, w_shape, stride, padding)

    @staticmethod
    def backward(ctx: Context, v: Any) -> tuple[Any, Any]:
        x, grad = ctx.saved_tensors
        stride, padding = ctx.attrs["stride"], ctx.attrs["padding"]
        d_x = input_grad(grad, v, x.shape, stride, padding) if ctx.needs_input_grad[0] else None
        d_grad = conv(x, v, stride, padding) if ctx.needs_input_grad[1] else None
        return d_x, d_grad
