"""Pooling layers: AvgPool2d, MaxPool2d (with padding, ceil_mode, ...) and AdaptiveAvgPool2d;
the functions are in `tg.nn.functional`."""
from __future__ import annotations

from typing import Any

from ..ops.shape_checks import pair
from ..tensor import Tensor
from . import functional as F
from .module import Module

IntOrPair = int | tuple[int, int]


class _Pool2d(Module):
    _name = ""

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0,
                 ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size", self._name, 1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", self._name, 1)
        self.padding = pair(padding, "padding", self._name, 0)
        self.ceil_mode = bool(ceil_mode)

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        return s + (", ceil_mode=True" if self.ceil_mode else "")


class AvgPool2d(_Pool2d):
    """Mean pooling over kernel_size windows (stride defaults to kernel_size), zero padding counted in
    the mean unless count_include_pad=False; divisor_override replaces the window size."""
    _name = "AvgPool2d"

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad, self.divisor_override = bool(count_include_pad), divisor_override

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)


class MaxPool2d(_Pool2d):
    """Max pooling over kernel_size windows (stride defaults to kernel_size), -inf padding, dilation
    between the taps; with return_indices the call returns (output, indices)."""
    _name = "MaxPool2d"

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0,
                 dilation: IntOrPair = 1, return_indices: bool = False, ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation = pair(dilation, "dilation", self._name, 1)
        self.return_indices = bool(return_indices)

    def forward(self, x: Any) -> Any:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AdaptiveAvgPool2d(Module):
    """Mean pooling to a fixed output size (int or pair; None keeps that input size), PyTorch's windows."""

    def __init__(self, output_size: Any):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
