"""Depthwise conv2d (groups == input channels): each output channel f reads input channel
f // (F/C), so there is no matrix product to make. Each pass is a sum over the KH*KW kernel taps
of strided slices times one weight per channel.

The weight gradient of a stride-1, undilated depthwise convolution reads the input as flat rows
(Hp*Wp values per channel) and the output gradient at the same row pitch (zeros past each output
row): each tap's sum is then a per-channel dot product of two contiguous runs, through BLAS
(2.3x faster than the strided products for 32 channels of 32x32 at batch 32; docs/benchmarks.md).
Blocks of images on several threads and flat runs for the other two passes were not faster.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import parallel

Pair = tuple[int, int]


def output_hw(padded_hw: tuple[int, ...], kernel: tuple[int, ...], stride: Pair, dilation: Pair) -> tuple[int, int]:
    """(OH, OW) of a convolution of a padded input."""
    return ((padded_hw[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1,
            (padded_hw[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1)


def _taps(kh: int, kw: int, stride: Pair, dilation: Pair, oh: int, ow: int) -> Iterator[tuple[int, int, slice, slice]]:
    """For each kernel tap (i, j): the rows and columns of the padded input it reads."""
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(kh):
        for j in range(kw):
            yield i, j, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh), slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)


def _repeated(xp: np.ndarray, f: int) -> np.ndarray:
    """The input with each channel repeated F/C times: (N, F, Hp, Wp) (xp itself when F == C)."""
    return xp if f == xp.shape[1] else np.repeat(xp, f // xp.shape[1], axis=1)


def forward(xp: np.ndarray, w: np.ndarray, stride: Pair, dilation: Pair) -> np.ndarray:
    """Depthwise conv2d of the padded input xp (N, C, Hp, Wp) with w (F, 1, KH, KW)."""
    f, _, kh, kw = w.shape
    oh, ow = output_hw(xp.shape[2:], (kh, kw), stride, dilation)
    xr = _repeated(xp, f)
    out = np.zeros((xp.shape[0], f, oh, ow), dtype=np.result_type(xp, w))

    def run(images: slice) -> None:
        o, tmp = out[images], np.empty(out[images].shape, dtype=out.dtype)
        for i, j, rows, cols in _taps(kh, kw, stride, dilation, oh, ow):
            o += np.multiply(xr[images, :, rows, cols], w[:, 0, i, j].reshape(1, f, 1, 1), out=tmp)

    parallel.for_each_slice(xp.shape[0], out[:1].size * kh * kw * 1e-9, run)
    return out


def input_grad(grad: np.ndarray, w: np.ndarray, padded_shape: tuple[int, ...], stride: Pair,
               dilation: Pair) -> np.ndarray:
    """The gradient of the depthwise conv2d with respect to its padded input (N, C, Hp, Wp)."""
    n, f, oh, ow = grad.shape
    c, kh, kw = padded_shape[1], w.shape[2], w.shape[3]
    gxr = np.zeros((n, f) + tuple(padded_shape[2:]), dtype=np.result_type(grad, w))
    for i, j, rows, cols in _taps(kh, kw, stride, dilation, oh, ow):
        gxr[:, :, rows, cols] += grad * w[:, 0, i, j].reshape(1, f, 1, 1)
    # output channels that read the same input channel add up: (N, C, F/C, Hp, Wp) -> (N, C, Hp, Wp)
    return gxr if f == c else gxr.reshape((n, c, f // c) + tuple(padded_shape[2:])).sum(axis=2)


def weight_grad(xp: np.ndarray, grad: np.ndarray, w_shape: tuple[int, ...], stride: Pair,
                dilation: Pair) -> np.ndarray:
    """The gradient of the depthwise conv2d with respect to its weight (F, 1, KH, KW)."""
    f, _, kh, kw = w_shape
    n, _, oh, ow = grad.shape
    xr = _repeated(xp, f)
    gw = np.empty(w_shape, dtype=np.result_type(xp, grad))
    if stride == (1, 1) and dilation == (1, 1) and (oh, ow) == (xp.shape[2] - kh + 1, xp.shape[3] - kw + 1):
        hp, wp = xp.shape[2:]
        length = (oh - 1) * wp + ow  # the flat run from the first output to the last
        xf = np.ascontiguousarray(xr).reshape(n, f, hp * wp)
        pitched = np.zeros((n, f, oh, wp), dtype=grad.dtype)  # the gradient at the input's row pitch
        pitched[..., :ow] = grad
        gf = pitched.reshape(n, f, oh * wp)[..., :length]
        with parallel.single_threaded_blas():
            for i in range(kh):
                for j in range(kw):
                    off = i * wp + j
                    # (N, F, 1, L) x (N, F, L, 1) -> (N, F, 1, 1): per image and channel, summed over N
                    gw[:, 0, i, j] = np.matmul(gf[:, :, None, :], xf[:, :, off:off + length, None]).sum(axis=(0, 2, 3))
        return gw
    for i, j, rows, cols in _taps(kh, kw, stride, dilation, oh, ow):
        # (N, F, OH, OW) . (N, F, OH, OW) over N, OH, OW -> (F,)
        gw[:, 0, i, j] = np.einsum("nfhw,nfhw->f", grad, xr[:, :, rows, cols])
    return gw
