"""conv_transpose2d: the gradient of conv2d with respect to its input, used as a layer.

For stride s, padding p, dilation d and output_padding q, the transposed convolution of
x (N, C_in, H, W) with weight (C_in, C_out / groups, KH, KW) is the input gradient of the conv2d
(N, C_out, OH, OW) -> (N, C_in, H, W) with that weight, stride, padding, dilation and groups, with
x as the incoming gradient: `ConvInputGrad` (conv_grads.py), the same lowerings as conv2d's
backward, differentiable twice. Output size (H - 1) s - 2p + d (K - 1) + q + 1, as in PyTorch;
output_padding picks which of the sizes that conv2d maps onto H the output has.
"""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor, as_tensor
from .conv_grads import ConvInputGrad
from .shape_checks import check_nchw, pair


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
    # (N, C_in, H, W) and (C_in, C_out/g, KH, KW) -> (N, C_out, OH, OW): conv2d's input gradient
    y = ConvInputGrad.apply(x, weight, x_shape=(n, c_out) + out, stride=s, padding=p, dilation=d, groups=groups)
    return y if bias is None else y + bias.reshape(1, c_out, 1, 1)
