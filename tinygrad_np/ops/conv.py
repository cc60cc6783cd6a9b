"""conv2d and the per-channel threshold (NCHW): the primitives and the checked functions users call.

conv2d lowers to matrix products (conv_lowerings.py), chosen per pass by a cost model.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import Context, Function
from ..tensor import Tensor, as_tensor
from . import conv_grads as grads
from . import parallel
from .shape_checks import check_nchw, pair

# Seconds per element of one pass over an array on one core (float32, out of cache, measured
# here), to decide whether an op is worth splitting over the threads (parallel.py).
_PASS_SECONDS = 0.5e-9
# The threshold's contiguous add, per element on one core, its input in cache as it is after
# the conv that feeds it (0.144 ms for the CNN's first layer at batch 64, 614,400 elements).
_ADD_SECONDS = 0.25e-9


class Conv2d(Function):
    """Cross-correlation of x (N, C, H, W) with w (F, C, KH, KW), optional bias (F,).

    The lowering to matrix products (band or im2col) is chosen by shape, for each pass on its
    own; see conv_lowerings. Its gradients are ops of their own when recorded (conv_grads.py).
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, *bias: np.ndarray, stride: tuple[int, int],
                padding: tuple[int, int], dilation: tuple[int, int] = (1, 1), groups: int = 1) -> np.ndarray:
        xp = grads._pad_hw(x, *padding)
        # the input itself, not its padded copy: the graph keeps the input alive anyway, and the
        # weight gradient pads it again (a copy in backward instead of a second array held)
        ctx.save_for_backward(x, w)
        out = grads.conv_arrays(xp, w, stride, dilation, groups)
        del xp
        if bias and out.size:
            out += bias[0].reshape(1, w.shape[0], 1, 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = grads._geometry(ctx)
        gx = gw = None
        if ctx.needs_input_grad[1]:  # first, so that the padded copy is freed before gx is made
            gw = grads.weight_grad_arrays(grads._pad_hw(x, *padding), grad, w.shape, stride, dilation, groups)
        if ctx.needs_input_grad[0]:
            gx = grads.unpadded_input_grad(grad, w, grads._padded_shape(x.shape, padding), stride, padding,
                                           dilation, groups)
        result: tuple[np.ndarray | None, ...] = (gx, gw)
        if len(ctx.needs_input_grad) == 3:
            result += (grad.sum(axis=(0, 2, 3)) if ctx.needs_input_grad[2] else None,)
        return result

    @classmethod
    def backward_graph(cls, ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        """The gradients as recorded ops (conv_grads.py), so they can be differentiated again."""
        x, w = ctx.parents[0], ctx.parents[1]
        geometry = grads._geometry(ctx)
        gx = grads.input_grad(grad, w, x.shape, *geometry) if ctx.needs_input_grad[0] else None
        gw = grads.weight_grad(x, grad, w.shape, *geometry) if ctx.needs_input_grad[1] else None
        result: tuple[Tensor | None, ...] = (gx, gw)
        if len(ctx.needs_input_grad) == 3:
            result += (grad.sum((0, 2, 3)) if ctx.needs_input_grad[2] else None,)
        return result


class Threshold(Function):
    """x (N, C, ...) plus a per-channel threshold t (C,): the original project's "threshold pile"."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, dtype=np.result_type(x, t))
        rows: np.ndarray
        per_channel: np.ndarray
        out_rows: np.ndarray
        n = x.shape[0]
        if x.flags.c_contiguous:
            # each image as one row (C*H*W,) plus the thresholds repeated H*W times each: a
            # contiguous add, about twice as fast as broadcasting t over (1, C, 1, 1), whose
            # inner loop adds one scalar to each H*W run (docs/benchmarks.md)
            spatial = math.prod(x.shape[2:])
            rows, per_channel = x.reshape(n, x.shape[1] * spatial), np.repeat(t, spatial)
            out_rows = out.reshape(rows.shape)
        else:
            rows, per_channel = x, t.reshape((1, -1) + (1,) * (x.ndim - 2))
            out_rows = out

        def run(images: slice) -> None:
            np.add(rows[images], per_channel, out=out_rows[images])

        parallel.for_each_slice(n, x[:1].size * _ADD_SECONDS, run)
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if not ctx.needs_input_grad[1]:
            return grad, None
        spatial = tuple(range(2, grad.ndim))
        if not spatial:
            return grad, grad.sum(axis=0)

        def run(images: slice) -> np.ndarray:
            return grad[images].sum(axis=spatial)  # (n, C): each image's sums, whatever the slice

        # (N, C) summed over the batch in one place: the result does not depend on the slices
        per_image = np.concatenate(parallel.map_slices(grad.shape[0], grad[:1].size * _PASS_SECONDS, run))
        return grad, per_image.sum(axis=0)

    @classmethod
    def backward_graph(cls, ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor | None]:
        """The same gradients, recorded: grad itself, and its sum over all but the channel axis."""
        axes = (0,) + tuple(range(2, grad.ndim))
        return grad, (grad.sum(axes) if ctx.needs_input_grad[1] else None)


def _same_padding(kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(before, after) padding of each spatial axis that keeps the size at stride 1 (the extra pixel
    of an even kernel goes after, as PyTorch)."""
    totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    return (totals[0] // 2, totals[0] - totals[0] // 2), (totals[1] // 2, totals[1] - totals[1] // 2)


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation like PyTorch's conv2d: x (N, C, H, W), weight (F, C/groups, KH, KW)
    -> (N, F, OH, OW).

    OH = (H + 2*ph - dh*(KH-1) - 1) // sh + 1. `padding` is an int, a pair, or "valid" (0) or
    "same" (stride 1 only; an even kernel gets its extra pixel at the bottom and right). With
    `groups`, input and output channels are split into that many groups, each convolved on its
    own (groups = C: depthwise). For the flipped-kernel ("true") convolution of the original
    project, pass `weight[:, :, ::-1, ::-1]`.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    sh, sw = pair(stride, "stride", "conv2d", 1)
    dh, dw = pair(dilation, "dilation", "conv2d", 1)
    check_nchw("conv2d", x)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (F, C/groups, KH, KW), got shape {weight.shape}")
    n, c, h, w = x.shape
    f, wc, kh, kw = weight.shape
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    if c % groups or f % groups:
        raise ValueError(f"conv2d: groups={groups} must divide the input channels ({c}) and the filters ({f}) "
                         f"(input {x.shape}, weight {weight.shape})")
    if c != wc * groups:
        per_group = f"{wc} per group x {groups} groups; " if groups > 1 else ""
        raise ValueError(f"conv2d: input has {c} channels but weight expects {wc * groups} "
                         f"({per_group}input {x.shape}, weight {weight.shape})")
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding != "same":
            raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
        elif (sh, sw) != (1, 1):
            raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {(sh, sw)}")
        else:
            (top, bottom), (left, right) = _same_padding((kh, kw), (dh, dw))
            if (top, left) != (bottom, right):  # an even kernel: pad unevenly first, then convolve
                x = x.pad(((0, 0), (0, 0), (top, bottom), (left, right)))
                h, w = h + top + bottom, w + left + right
                padding = 0
            else:
                padding = (top, left)
    ph, pw = pair(padding, "padding", "conv2d", 0)
    if dh * (kh - 1) + 1 > h + 2 * ph or dw * (kw - 1) + 1 > w + 2 * pw:
        dilated = f" (dilation {(dh, dw)})" if (dh, dw) != (1, 1) else ""
        raise ValueError(f"conv2d: kernel {kh}x{kw}{dilated} is larger than the padded input "
                         f"{h + 2 * ph}x{w + 2 * pw} (input {x.shape}, padding {(ph, pw)})")
    inputs = [x, weight]
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (f,):
            raise ValueError(f"conv2d: bias must have shape ({f},) for weight {weight.shape}, got {bias.shape}")
        inputs.append(bias)
    extra: dict[str, Any] = {}
    if (dh, dw) != (1, 1):
        extra["dilation"] = (dh, dw)
    if groups != 1:
        extra["groups"] = int(groups)
    return Conv2d.apply(*inputs, stride=(sh, sw), padding=(ph, pw), **extra)


def threshold(x: Any, t: Any) -> Tensor:
    """Add a per-channel threshold t (C,) to x (N, C, ...) over every other axis."""
    x, t = as_tensor(x), as_tensor(t)
    if x.ndim < 2:
        raise ValueError(f"threshold: input must have a channel axis (N, C, ...), got shape {x.shape}")
    if t.shape != (x.shape[1],):
        raise ValueError(f"threshold: expected {x.shape[1]} thresholds, shape ({x.shape[1]},), for input "
                         f"{x.shape}, got shape {t.shape}")
    return Threshold.apply(x, t)
