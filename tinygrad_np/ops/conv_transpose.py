"""conv_transpose2d (the gradient of conv2d with respect to its input, used as a layer), as a composite.

For stride s, padding p, dilation d and output_padding q, the transposed convolution of
x (N, C_in, H, W) with weight (C_in, C_out / groups, KH, KW) is a stride-1 cross-correlation of
x with zeros inserted between its pixels ((H - 1) s + 1 rows), padded by d (K - 1) - p
(plus q at the bottom/right), with the kernel flipped, its two channel axes swapped and
zeros inserted between its taps (dilation). Output size (H - 1) s - 2p + d (K - 1) + q + 1,
as in PyTorch. Built from reshape, pad, indexing, concatenation and conv2d, so it needs no
backward of its own. Inserting zeros costs s^2 times the work of the direct scatter.
"""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor, as_tensor
from .conv import conv2d
from .movement import Concatenate
from .shape_checks import check_nchw, pair


def _spread(t: Tensor, step: tuple[int, int]) -> Tensor:
    """Insert step - 1 zeros after every element of the last two dims: (.., H, W) -> (.., H*sh, W*sw)
    (the trailing zeros included)."""
    sh, sw = step
    if (sh, sw) == (1, 1):
        return t
    lead, (h, w) = t.shape[:-2], t.shape[-2:]
    nd = len(lead)
    t = t.reshape(lead + (h, 1, w, 1)).pad(((0, 0),) * nd + ((0, 0), (0, sh - 1), (0, 0), (0, sw - 1)))
    return t.reshape(lead + (h * sh, w * sw))


def _pad_or_crop(t: Tensor, widths: list[tuple[int, int]]) -> Tensor:
    """Pad the last two dims by non-negative widths; crop by negative ones."""
    pads = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if any(lo or hi for lo, hi in pads):
        t = t.pad(((0, 0), (0, 0), *pads))
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        h, w = t.shape[2:]
        (top, bottom), (left, right) = ((max(-lo, 0), max(-hi, 0)) for lo, hi in widths)
        t = t[:, :, top:h - bottom, left:w - right]
    return t


def conv_transpose2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """Transposed 2-D convolution like PyTorch's: x (N, C_in, H, W), weight (C_in, C_out / groups, KH, KW),
    bias (C_out,) -> (N, C_out, OH, OW) with OH = (H - 1) sh - 2 ph + dh (KH - 1) + output_padding + 1."""
    op = "conv_transpose2d"
    x, weight = as_tensor(x), as_tensor(weight)
    s, p = pair(stride, "stride", op, 1), pair(padding, "padding", op, 0)
    q, d = pair(output_padding, "output_padding", op, 0), pair(dilation, "dilation", op, 1)
    check_nchw(op, x)
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D (C_in, C_out / groups, KH, KW), got shape {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    n, c, h, w = x.shape
    if c != weight.shape[0] or c % groups:
        raise ValueError(f"{op}: input has {c} channels but weight expects {weight.shape[0]}, split into "
                         f"groups={groups} (input {x.shape}, weight {weight.shape})")
    if q[0] >= max(s[0], d[0]) or q[1] >= max(s[1], d[1]):
        raise ValueError(f"{op}: output_padding {q} must be smaller than the stride {s} or the dilation {d}")
    k = weight.shape[2:]
    out = tuple((x.shape[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + q[i] + 1 for i in range(2))
    if min(out) < 1:
        raise ValueError(f"{op}: padding {p} leaves no output for input {x.shape} and kernel {k}")
    c_out = weight.shape[1] * groups
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (c_out,):
            raise ValueError(f"{op}: bias must have shape ({c_out},) for weight {weight.shape} and groups={groups}, "
                             f"got {bias.shape}")
    # spread x by the stride: (N, C, H*sh, W*sw), the last sh - 1 rows zero, counted in the padding below
    spread = _spread(x, s)
    widths = [(d[i] * (k[i] - 1) - p[i], d[i] * (k[i] - 1) - p[i] + q[i] - (s[i] - 1)) for i in range(2)]
    padded = _pad_or_crop(spread, widths)
    # flipped kernel, channel axes swapped, taps spread by the dilation: (C_out/g, C_in, KH', KW')
    kernel = _spread(weight[:, :, ::-1, ::-1].permute(1, 0, 2, 3), d)
    if d != (1, 1):
        kernel = kernel[:, :, :(k[0] - 1) * d[0] + 1, :(k[1] - 1) * d[1] + 1]
    cg = c // groups
    # per group: (N, C_in/g, H', W') x (C_out/g, C_in/g, KH', KW') -> (N, C_out/g, OH, OW)
    parts = [conv2d(padded[:, g * cg:(g + 1) * cg] if groups > 1 else padded,
                    kernel[:, g * cg:(g + 1) * cg] if groups > 1 else kernel) for g in range(groups)]
    y = parts[0] if groups == 1 else Concatenate.apply(*parts, axis=1)
    return y if bias is None else y + bias.reshape(1, c_out, 1, 1)
