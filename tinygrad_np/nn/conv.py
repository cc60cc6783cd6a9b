"""Convolution layers: Conv2d, ConvTranspose2d, and Threshold (a per-channel bias, the original project's
"threshold")."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.conv import conv2d
from ..ops.conv_transpose import conv_transpose2d
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


class ConvTranspose2d(Module):
    """Transposed 2-D convolution layer (the input-gradient of Conv2d, used to upsample): weight
    (in_channels, out_channels / groups, KH, KW), bias (out_channels,) or None; output size
    (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1. See
    `tg.nn.functional.conv_transpose2d`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair = 0, output_padding: IntOrPair = 0, groups: int = 1, bias: bool = True,
                 dilation: IntOrPair = 1, rng: np.random.Generator | int | None = None, dtype: Any = np.float32):
        super().__init__()
        name = "ConvTranspose2d"
        self.in_channels = positive_int(in_channels, "in_channels", name)
        self.out_channels = positive_int(out_channels, "out_channels", name)
        self.groups = positive_int(groups, "groups", name)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{name}: in_channels={in_channels} and out_channels={out_channels} must both be "
                             f"divisible by groups={groups}")
        self.kernel_size = pair(kernel_size, "kernel_size", name, 1)
        self.stride = pair(stride, "stride", name, 1)
        self.padding = pair(padding, "padding", name, 0)
        self.output_padding = pair(output_padding, "output_padding", name, 0)
        self.dilation = pair(dilation, "dilation", name, 1)
        if any(q >= max(s, d) for q, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True)):
            raise ValueError(f"{name}: output_padding {self.output_padding} must be smaller than the stride "
                             f"{self.stride} or the dilation {self.dilation}")
        dt = float_dtype(dtype, name)
        shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.zeros(shape), dtype=dt)
        self.bias = Parameter(np.zeros(self.out_channels), dtype=dt) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng: np.random.Generator | int | None = None) -> None:
        """Re-draw weight and bias with PyTorch's default initialisation (fans from the weight's shape)."""
        reset_default(self.weight, self.bias, rng, type(self).__name__)

    def forward(self, x: Any) -> Tensor:
        # (N, C_in, H, W) x (C_in, C_out/g, KH, KW) -> (N, C_out, OH, OW)
        return conv_transpose2d(as_tensor(x), self.weight, self.bias, self.stride, self.padding,
                                self.output_padding, self.groups, self.dilation)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        for name, default in (("padding", (0, 0)), ("output_padding", (0, 0)), ("dilation", (1, 1))):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + (", bias=False" if self.bias is None else "")


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
