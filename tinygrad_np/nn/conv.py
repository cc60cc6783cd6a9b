"""Convolution layers: Conv2d, and Threshold (a per-channel bias, the original project's "threshold")."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.conv import conv2d
from ..ops.shape_checks import pair
from ..tensor import Tensor, as_tensor
from .args import float_dtype, positive_int, reset_default
from .module import Module, Parameter

IntOrPair = int | tuple[int, int]


class Conv2d(Module):
    """2-D cross-correlation layer: weight (F, C/groups, KH, KW), bias (F,) or None; see `tg.conv2d`.

    `padding` is an int, a pair, "valid" or "same"; `padding_mode` "zeros" (the only one; other
    modes are `tg.nn.functional.pad` before a conv with padding 0).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", rng: np.random.Generator | int | None = None, dtype: Any = np.float32):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = positive_int(out_channels, "out_channels", "Conv2d")
        self.groups = positive_int(groups, "groups", "Conv2d")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = pair(stride, "stride", "Conv2d", 1)
        self.dilation = pair(dilation, "dilation", "Conv2d", 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"Conv2d: padding='same' needs stride 1, got stride {self.stride}")
            self.padding: tuple[int, int] | str = padding
        else:
            self.padding = pair(padding, "padding", "Conv2d", 0)
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d: padding_mode {padding_mode!r} is not supported; use 'zeros', or pad "
                             "with tg.nn.functional.pad(x, ..., mode=...) and padding=0")
        self.padding_mode = padding_mode
        dt = float_dtype(dtype, "Conv2d")
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.zeros(shape), dtype=dt)
        self.bias = Parameter(np.zeros(self.out_channels), dtype=dt) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng: np.random.Generator | int | None = None) -> None:
        """Re-draw weight and bias with PyTorch's default initialisation."""
        reset_default(self.weight, self.bias, rng, type(self).__name__)

    def forward(self, x: Any) -> Tensor:
        # (N, C, H, W) x (F, C/groups, KH, KW) -> (N, F, OH, OW)
        return conv2d(as_tensor(x), self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Threshold(Module):
    """A learnable per-channel value (C,) added over N, H, W: `x.threshold(self.value)`."""

    def __init__(self, channels: int, init: float = 0.0, dtype: Any = np.float32):
        super().__init__()
        self.channels = positive_int(channels, "channels", "Threshold")
        self.value = Parameter(np.full(self.channels, init), dtype=float_dtype(dtype, "Threshold"))

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).threshold(self.value)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"
