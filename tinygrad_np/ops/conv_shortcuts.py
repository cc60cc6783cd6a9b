"""Two conv2d shapes that need no general lowering: the input gradient of a stride-1 convolution
as a convolution of the output gradient with the flipped kernel, and 1x1 convolutions as plain
matrix products.

Flipped kernel: for y = conv2d(x, w) at stride 1 (no dilation, one group) with padding p,

    dx = conv2d(pad(g, KH - 1 - ph, KW - 1 - pw), w'),  w'[c, f, i, j] = w[f, c, KH-1-i, KW-1-j]

the full correlation of the gradient g with the kernel turned around and its channel axes
swapped, cropped to the unpadded input by the smaller padding. It runs through the same lowerings
as the forward pass (chosen by the cost model for its own shape), and writes each input gradient
once; the scatter of the other lowerings adds KH*KW (or KH) pieces into every input position.
With many channels it is the cheaper one (conv_lowerings.pass_costs decides; docs/benchmarks.md).

1x1: each output pixel is a matrix product of the channels of one input pixel,
(F, C) x (C, OH*OW) per image, read straight from the (strided) input without a copy.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import conv_lowerings as algo
from . import parallel

Pair = tuple[int, int]
# Seconds per multiply-add on one core (float32 GEMM, about 65 GFLOP/s here).
_MULTIPLY_ADD_SECONDS = 1 / 32e9


def _flipped_weight(w: np.ndarray) -> np.ndarray:
    """w' (C, F, KH, KW): the kernel turned by 180 degrees, input and output channels swapped."""
    return np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def flipped_padding(w_shape: tuple[int, ...], padding: Pair) -> Pair:
    """How much the output gradient is padded for the flipped-kernel input gradient."""
    return w_shape[2] - 1 - padding[0], w_shape[3] - 1 - padding[1]


def flipped_costs(grad_shape: tuple[int, ...], w_shape: tuple[int, ...], padding: Pair) -> float:
    """The cost model's estimate (seconds on both cores) of the flipped-kernel input gradient."""
    n, f, oh, ow = grad_shape
    qh, qw = flipped_padding(w_shape, padding)
    padded = (n, f, oh + 2 * qh, ow + 2 * qw)
    out_hw = (padded[2] - w_shape[2] + 1, padded[3] - w_shape[3] + 1)
    flipped = (w_shape[1], w_shape[0], w_shape[2], w_shape[3])
    return min(algo.pass_costs(padded, flipped, (1, 1), out_hw, "forward").values())


def use_flipped(grad_shape: tuple[int, ...], w_shape: tuple[int, ...], padded_shape: tuple[int, ...],
                stride: Pair, padding: Pair, dilation: Pair, groups: int) -> bool:
    """True when the flipped-kernel input gradient applies (stride 1, no dilation, one group, a
    kernel larger than 1x1 and padding below it) and the cost model finds it cheaper than the
    scatter of the cheaper lowering."""
    if stride != (1, 1) or dilation != (1, 1) or groups != 1 or w_shape[2] * w_shape[3] == 1:
        return False
    if padding[0] >= w_shape[2] or padding[1] >= w_shape[3] or algo._forced[0] is not None:
        return False
    scatter = min(algo.pass_costs(tuple(padded_shape), tuple(w_shape), stride, tuple(grad_shape[2:]),
                                  "input_grad").values())
    return flipped_costs(tuple(grad_shape), tuple(w_shape), padding) < scatter


def flipped_input_grad(grad: np.ndarray, w: np.ndarray, padding: Pair) -> np.ndarray:
    """d<grad, conv2d(x, w)>/dx for the unpadded x of a stride-1 convolution with `padding`:
    (N, F, OH, OW) -> (N, C, H, W), as conv2d(pad(grad), w') (see the module docstring)."""
    from .conv_grads import conv_arrays

    qh, qw = flipped_padding(w.shape, padding)
    gp = grad if qh == qw == 0 else np.pad(grad, ((0, 0), (0, 0), (qh, qh), (qw, qw)))
    return conv_arrays(gp, _flipped_weight(w), (1, 1))


# ------------------------------------------------------------------------------- 1x1
def _pixels(xp: np.ndarray, stride: Pair, out_hw: tuple[int, ...]) -> np.ndarray:
    """The input pixels a 1x1 convolution with output size out_hw reads: (N, C, OH, OW), a view."""
    (sh, sw), (oh, ow) = stride, out_hw
    return xp[:, :, :sh * (oh - 1) + 1:sh, :sw * (ow - 1) + 1:sw]


def pointwise_forward(xp: np.ndarray, w: np.ndarray, stride: Pair) -> np.ndarray:
    """conv2d with a 1x1 kernel w (F, C, 1, 1) of the padded input xp -> (N, F, OH, OW)."""
    x = _pixels(xp, stride, ((xp.shape[2] - 1) // stride[0] + 1, (xp.shape[3] - 1) // stride[1] + 1))
    n, c, oh, ow = x.shape
    f = w.shape[0]
    w2 = w.reshape(f, c)
    x3 = x.reshape(n, c, oh * ow) if x.flags.c_contiguous else None
    out = np.empty((n, f, oh * ow), dtype=np.result_type(xp, w))

    def run(images: slice) -> None:
        xs = x3[images] if x3 is not None else x[images].reshape(-1, c, oh * ow)
        np.matmul(w2, xs, out=out[images])  # (F, C) x (m, C, OH*OW) -> (m, F, OH*OW)

    _split(n, f * c * oh * ow, run)
    return out.reshape(n, f, oh, ow)


def pointwise_input_grad(grad: np.ndarray, w: np.ndarray, padded_shape: tuple[int, ...],
                         stride: Pair) -> np.ndarray:
    """The gradient of a 1x1 convolution with respect to its padded input (N, C, Hp, Wp)."""
    n, f, oh, ow = grad.shape
    c = padded_shape[1]
    wt = np.ascontiguousarray(w.reshape(f, c).T)
    g3 = np.ascontiguousarray(grad).reshape(n, f, oh * ow)
    dtype = np.result_type(grad, w)
    if stride == (1, 1) and tuple(padded_shape[2:]) == (oh, ow):
        gx = np.empty(padded_shape, dtype=dtype)
        target = gx.reshape(n, c, oh * ow)
    else:  # only the pixels read get a gradient
        gx = np.zeros(padded_shape, dtype=dtype)
        target = None

    def run(images: slice) -> None:
        # (C, F) x (m, F, OH*OW) -> (m, C, OH*OW)
        if target is not None:
            np.matmul(wt, g3[images], out=target[images])
        else:
            m = images.stop - images.start
            _pixels(gx[images], stride, (oh, ow))[...] = np.matmul(wt, g3[images]).reshape(m, c, oh, ow)

    _split(n, f * c * oh * ow, run)
    return gx


def pointwise_weight_grad(xp: np.ndarray, grad: np.ndarray, w_shape: tuple[int, ...], stride: Pair) -> np.ndarray:
    """The gradient of a 1x1 convolution with respect to its weight (F, C, 1, 1)."""
    x = _pixels(xp, stride, grad.shape[2:])
    n, c, oh, ow = x.shape
    f = w_shape[0]
    g3 = np.ascontiguousarray(grad).reshape(n, f, oh * ow)
    chunks = algo.batch_chunks(n, c * oh * ow * xp.itemsize, 2 * f * c * oh * ow * _MULTIPLY_ADD_SECONDS)

    def run(part: slice) -> list[np.ndarray]:
        sums = []
        for piece in chunks[part]:
            xs = x[piece].reshape(-1, c, oh * ow)
            # (m, F, OH*OW) x (m, OH*OW, C) -> (m, F, C), summed over the chunk's images
            sums.append(np.matmul(g3[piece], xs.transpose(0, 2, 1)).sum(axis=0))
        return sums

    with parallel.single_threaded_blas():
        parts = parallel.map_slices(len(chunks), n * f * c * oh * ow * _MULTIPLY_ADD_SECONDS / len(chunks), run,
                                    uses_blas=True)
    partials = [p for group in parts for p in group]  # in chunk order: the same sum on any thread count
    total = partials[0]
    for p in partials[1:]:
        total += p
    return total.reshape(w_shape)


def _split(n: int, multiply_adds_per_image: int, run: Callable[[slice], Any]) -> None:
    """run(images) over the batch, BLAS on one thread, split over the threads when large."""
    with parallel.single_threaded_blas():
        parallel.for_each_slice(n, multiply_adds_per_image * _MULTIPLY_ADD_SECONDS, run, uses_blas=True)
