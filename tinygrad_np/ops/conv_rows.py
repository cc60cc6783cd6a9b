"""A third conv2d lowering for stride-1 convolutions with at least as many input channels as
output channels: shifted rows.

Each padded image is read as flat rows of Hp*Wp values per channel. For a kernel column j, the
row shifted left by j holds, at position p, the input under tap (i, j) of the output at p - i*Wp
for every kernel row i. So with X (KW*C, Hp*Wp) made of the KW shifted copies of the input (long
contiguous copies, KW times the input instead of im2col's KH*KW times), one product

    Y = A X,  A[(i, f), (j, c)] = w[f, c, i, j]       (KH*F, KW*C) x (KW*C, Hp*Wp)

gives each kernel row's partial sums, and the output is the sum of KH shifted views of Y:
out[f, r, s] = sum_i Y[(i, f), (r + i) * Wp + s]. The product also computes the Wp - OW columns
past the end of each output row and the KH - 1 rows below the output, which are dropped:
(Hp*Wp) / (OH*OW) times the useful multiply-adds, so small images pay more.

Used for the forward pass (and so for the flipped-kernel input gradient, a forward convolution
itself) when `use_rows` says so: measured on one core against im2col, per chunk of images
(ms, im2col / rows): 16->16 on 32x32 0.40 / 0.26, 32->32 on 32x32 0.46 / 0.41, 32->32 on 16x16
0.32 / 0.27, 64->64 on 16x16 0.87 / 0.80, 64->64 on 8x8 0.56 / 0.57, 3->32 on 32x32 0.15 / 0.23,
32->64 on 16x16 0.43 / 0.46 (docs/benchmarks.md).
"""
from __future__ import annotations

import numpy as np

from . import conv_lowerings as algo

# The share of the product's columns that must be useful (OH*OW of Hp*Wp) for rows to be chosen.
MIN_USEFUL = 0.75
# At least this many input channels (fewer make a thin product: 3->32 lost to im2col).
MIN_CHANNELS = 8


def use_rows(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, int],
             dilation: tuple[int, int], out_hw: tuple[int, int]) -> bool:
    """True for a stride-1, undilated convolution of a padded input x_shape with w_shape whose
    filters are no more than its input channels (at least MIN_CHANNELS), a kernel wider than
    one column, and at least MIN_USEFUL of the product's columns in the output."""
    if stride != (1, 1) or dilation != (1, 1) or algo._forced[0] is not None:
        return False
    f, c, kh, kw = w_shape
    if c < MIN_CHANNELS or f > c or kh * kw == 1:
        return False
    return out_hw[0] * out_hw[1] >= MIN_USEFUL * x_shape[2] * x_shape[3]


def rows_forward(xp: np.ndarray, w: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """conv2d at stride 1 of the padded input xp (N, C, Hp, Wp) with w (F, C, KH, KW) by shifted
    rows (see the module docstring) -> (N, F, OH, OW)."""
    n, c, hp, wp = xp.shape
    f, _, kh, kw = w.shape
    flat = hp * wp
    xf = np.ascontiguousarray(xp).reshape(n, c, flat)
    a = np.ascontiguousarray(w.transpose(2, 0, 3, 1).reshape(kh * f, kw * c))  # [(i, f), (j, c)]
    out = np.empty((n, f, oh, ow), dtype=np.result_type(xp, w))

    def chunk(part: slice) -> None:
        m = part.stop - part.start
        x = algo._scratch("rows_x", (m, kw, c, flat), xp.dtype)
        for j in range(kw):  # X[(j, c), p] = x[c, p + j]: one long copy per image and channel
            x[:, j, :, :flat - j] = xf[part, :, j:]
            x[:, j, :, flat - j:] = 0
        # (KH*F, KW*C) x (m, KW*C, Hp*Wp) -> (m, KH*F, Hp*Wp)
        y = np.matmul(a, x.reshape(m, kw * c, flat), out=algo._scratch("rows_y", (m, kh * f, flat), out.dtype))
        views = [y[:, i * f:(i + 1) * f, i * wp:(i + oh) * wp].reshape(m, f, oh, wp)[..., :ow] for i in range(kh)]
        o = out[part]
        if kh == 1:
            o[...] = views[0]
            return
        np.add(views[0], views[1], out=o)
        for v in views[2:]:
            o += v

    seconds = 2.0 * kh * f * kw * c * flat / algo.PEAK * 2  # one core: half the modelled two
    algo._map_chunks(n, kw * c * flat * xp.itemsize, seconds, chunk)
    return out
