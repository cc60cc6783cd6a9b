"""conv2d on arrays (any stride, padding, dilation and groups), and its two gradients as ops of
their own, so that a recorded backward (`create_graph=True`) can be differentiated again.

Groups: each group is a convolution of its own on its slice of the channels; when every group
has one input channel (depthwise), a sum over the kernel taps of strided slices times one weight
per channel, with no matrix product. Dilation: im2col with taps dh and dw apart.

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
from . import conv_depthwise as depthwise
from . import conv_lowerings as algo
from . import conv_rows as rows
from . import conv_shortcuts as shortcut
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
def _pointwise(w_shape: tuple[int, ...], groups: int) -> bool:
    """A 1x1 kernel in one group (dilation does not matter): plain matrix products."""
    return w_shape[2] == w_shape[3] == 1 and groups == 1 and algo._forced[0] is None


def _lowering(padded_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: Pair, out_hw: tuple[int, int],
              dilation: Pair, pass_name: str) -> tuple[str, int]:
    """The lowering of one pass: band or im2col by the cost model; im2col when dilated (the band
    matrix assumes adjacent kernel taps)."""
    if dilation != (1, 1):
        return "im2col", 0
    return algo.choose_algorithm(padded_shape, w_shape, stride, out_hw, pass_name)


def output_hw(padded_hw: tuple[int, ...], kernel: tuple[int, ...], stride: Pair, dilation: Pair) -> tuple[int, int]:
    """(OH, OW) of a convolution of a padded input: (Hp - dh*(KH-1) - 1) // sh + 1."""
    return ((padded_hw[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1,
            (padded_hw[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1)


def _per_group(groups: int, c: int, f: int) -> list[tuple[slice, slice]]:
    """(input channels, output channels) of each group."""
    cg, fg = c // groups, f // groups
    return [(slice(k * cg, (k + 1) * cg), slice(k * fg, (k + 1) * fg)) for k in range(groups)]


def conv_arrays(xp: np.ndarray, w: np.ndarray, stride: Pair, dilation: Pair = (1, 1), groups: int = 1) -> np.ndarray:
    """conv2d of an already padded xp (N, C, Hp, Wp) with w (F, C/groups, KH, KW) -> (N, F, OH, OW)."""
    f, _, kh, kw = w.shape
    oh, ow = output_hw(xp.shape[2:], (kh, kw), stride, dilation)
    if xp.shape[0] == 0 or f == 0:  # empty batch or no filters: an empty output, as in PyTorch
        return np.zeros((xp.shape[0], f, oh, ow), dtype=np.result_type(xp, w))
    if groups > 1:
        if groups == xp.shape[1]:
            return depthwise.forward(xp, w, stride, dilation)
        out = np.empty((xp.shape[0], f, oh, ow), dtype=np.result_type(xp, w))
        for cs, fs in _per_group(groups, xp.shape[1], f):
            out[:, fs] = conv_arrays(xp[:, cs], w[fs], stride, dilation)
        return out
    if _pointwise(w.shape, groups):
        return shortcut.pointwise_forward(xp, w, stride)
    if rows.use_rows(xp.shape, w.shape, stride, dilation, (oh, ow)):
        return rows.rows_forward(xp, w, oh, ow)
    algorithm, block = _lowering(xp.shape, w.shape, stride, (oh, ow), dilation, "forward")
    if algorithm == "band":
        return algo.band_forward(xp, w, stride[0], stride[1], oh, ow, block)
    return algo.im2col_forward(xp, w, stride[0], stride[1], oh, ow, *dilation)


def input_grad_arrays(grad: np.ndarray, w: np.ndarray, padded_shape: tuple[int, ...], stride: Pair,
                      dilation: Pair = (1, 1), groups: int = 1) -> np.ndarray:
    """d<grad, conv2d(xp, w)>/dxp for the padded input shape: (N, F, OH, OW) -> (N, C, Hp, Wp)."""
    if grad.size == 0 or w.size == 0:
        return np.zeros(padded_shape, dtype=np.result_type(grad, w))
    grad = np.ascontiguousarray(grad)
    if groups > 1:
        if groups == padded_shape[1]:
            return depthwise.input_grad(grad, w, padded_shape, stride, dilation)
        gxp = np.empty(padded_shape, dtype=np.result_type(grad, w))
        for cs, fs in _per_group(groups, padded_shape[1], w.shape[0]):
            shape = (padded_shape[0], cs.stop - cs.start) + tuple(padded_shape[2:])
            gxp[:, cs] = input_grad_arrays(grad[:, fs], w[fs], shape, stride, dilation)
        return gxp
    if _pointwise(w.shape, groups):
        return shortcut.pointwise_input_grad(grad, w, padded_shape, stride)
    algorithm, block = _lowering(padded_shape, w.shape, stride, grad.shape[2:], dilation, "input_grad")
    if algorithm == "band":
        return algo.band_input_grad(grad, w, padded_shape, stride[0], stride[1], block)
    return algo.im2col_input_grad(grad, w, padded_shape, stride[0], stride[1], *dilation)


def weight_grad_arrays(xp: np.ndarray, grad: np.ndarray, w_shape: tuple[int, ...], stride: Pair,
                       dilation: Pair = (1, 1), groups: int = 1) -> np.ndarray:
    """d<grad, conv2d(xp, w)>/dw: (N, C, Hp, Wp) and (N, F, OH, OW) -> (F, C/groups, KH, KW)."""
    if grad.size == 0 or xp.size == 0:
        return np.zeros(w_shape, dtype=np.result_type(xp, grad))
    grad = np.ascontiguousarray(grad)
    if groups > 1:
        if groups == xp.shape[1]:
            return depthwise.weight_grad(xp, grad, w_shape, stride, dilation)
        gw = np.empty(w_shape, dtype=np.result_type(xp, grad))
        for cs, fs in _per_group(groups, xp.shape[1], w_shape[0]):
            gw[fs] = weight_grad_arrays(xp[:, cs], grad[:, fs], (fs.stop - fs.start,) + tuple(w_shape[1:]),
                                        stride, dilation)
        return gw
    if _pointwise(w_shape, groups):
        return shortcut.pointwise_weight_grad(xp, grad, w_shape, stride)
    algorithm, block = _lowering(xp.shape, w_shape, stride, grad.shape[2:], dilation, "weight_grad")
    if algorithm == "band":
        return algo.band_weight_grad(xp, grad, w_shape, stride[0], stride[1], block)
    return algo.im2col_weight_grad(xp, grad, w_shape, stride[0], stride[1], *dilation)


def unpadded_input_grad(grad: np.ndarray, w: np.ndarray, padded_shape: tuple[int, ...], stride: Pair,
                        padding: Pair, dilation: Pair = (1, 1), groups: int = 1) -> np.ndarray:
    """d<grad, conv2d(x, w)>/dx for the unpadded x: by the flipped kernel when the cost model
    prefers it (conv_shortcuts.py), else input_grad_arrays cropped."""
    if grad.size and w.size and shortcut.use_flipped(grad.shape, w.shape, padded_shape, stride, padding,
                                                     dilation, groups):
        return shortcut.flipped_input_grad(np.ascontiguousarray(grad), w, padding)
    return _crop_hw(input_grad_arrays(grad, w, padded_shape, stride, dilation, groups), *padding)


# ------------------------------------------------------------- on arrays or tensors
def conv(x: Any, w: Any, stride: Pair, padding: Pair, dilation: Pair = (1, 1), groups: int = 1) -> Any:
    """conv2d(x, w) without bias; recorded when x or w is a tensor."""
    if dual.is_tensor(x) or dual.is_tensor(w):
        from .conv import Conv2d

        return Conv2d.apply(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return conv_arrays(_pad_hw(x, *padding), w, stride, dilation, groups)


def input_grad(grad: Any, w: Any, x_shape: tuple[int, ...], stride: Pair, padding: Pair, dilation: Pair = (1, 1),
               groups: int = 1) -> Any:
    """The gradient of conv2d with respect to its input, of shape x_shape."""
    if dual.is_tensor(grad) or dual.is_tensor(w):
        return ConvInputGrad.apply(grad, w, x_shape=tuple(x_shape), stride=stride, padding=padding,
                                   dilation=dilation, groups=groups)
    return unpadded_input_grad(grad, w, _padded_shape(x_shape, padding), stride, padding, dilation, groups)


def weight_grad(x: Any, grad: Any, w_shape: tuple[int, ...], stride: Pair, padding: Pair, dilation: Pair = (1, 1),
                groups: int = 1) -> Any:
    """The gradient of conv2d with respect to its weight, of shape w_shape."""
    if dual.is_tensor(x) or dual.is_tensor(grad):
        return ConvWeightGrad.apply(x, grad, w_shape=tuple(w_shape), stride=stride, padding=padding,
                                    dilation=dilation, groups=groups)
    return weight_grad_arrays(_pad_hw(x, *padding), grad, w_shape, stride, dilation, groups)


class ConvInputGrad(Function):
    """input_grad(g, w): conv2d's gradient with respect to its input, as an op."""

    op_name = "conv2d_input_grad"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, grad: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: Pair,
                padding: Pair, dilation: Pair = (1, 1), groups: int = 1) -> np.ndarray:
        ctx.save_for_backward(grad, w)
        return np.ascontiguousarray(input_grad(grad, w, x_shape, stride, padding, dilation, groups))

    @staticmethod
    def backward(ctx: Context, u: Any) -> tuple[Any, Any]:
        grad, w = ctx.saved_tensors
        geometry = _geometry(ctx)
        d_grad = _fit(conv(u, w, *geometry), grad.shape) if ctx.needs_input_grad[0] else None
        d_w = weight_grad(u, grad, w.shape, *geometry) if ctx.needs_input_grad[1] else None
        return d_grad, d_w


class ConvWeightGrad(Function):
    """weight_grad(x, g): conv2d's gradient with respect to its weight, as an op."""

    op_name = "conv2d_weight_grad"
    differentiable_backward = True

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, grad: np.ndarray, w_shape: tuple[int, ...], stride: Pair,
                padding: Pair, dilation: Pair = (1, 1), groups: int = 1) -> np.ndarray:
        ctx.save_for_backward(x, grad)
        return weight_grad(x, grad, w_shape, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx: Context, v: Any) -> tuple[Any, Any]:
        x, grad = ctx.saved_tensors
        geometry = _geometry(ctx)
        d_x = input_grad(grad, v, x.shape, *geometry) if ctx.needs_input_grad[0] else None
        d_grad = _fit(conv(x, v, *geometry), grad.shape) if ctx.needs_input_grad[1] else None
        return d_x, d_grad


def _fit(y: Any, shape: tuple[int, ...]) -> Any:
    """y cropped to the spatial size of `shape`: an input larger than the convolution reads (the
    output_padding of a transposed convolution) has rows and columns that no output depends on."""
    return y if tuple(y.shape) == tuple(shape) else y[:, :, :shape[2], :shape[3]]


def _geometry(ctx: Any) -> tuple[Pair, Pair, Pair, int]:
    """(stride, padding, dilation, groups) of a recorded conv2d or of one of its gradients."""
    attrs = ctx.attrs
    return attrs["stride"], attrs["padding"], attrs.get("dilation", (1, 1)), attrs.get("groups", 1)
