"""Linear maps as in torch.nn.functional: linear, conv2d, conv_transpose2d."""
from __future__ import annotations

from typing import Any

from ...ops.conv import conv2d
from ...ops.conv_transpose import conv_transpose2d
from ...tensor import Tensor
from ._common import lift

__all__ = ["linear", "conv2d", "conv_transpose2d"]


def linear(input: Tensor, weight: Any, bias: Any = None) -> Tensor:
    """input @ weight.T + bias, with weight (out_features, in_features): (..., in) -> (..., out)."""
    x, w = lift(input), lift(weight)
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input's last dimension must equal the weight's in_features, got input "
                         f"{x.shape} and weight {w.shape} (out_features, in_features)")
    out = x @ w.T  # (..., in) x (in, out) -> (..., out)
    return out if bias is None else out + lift(bias, out)
