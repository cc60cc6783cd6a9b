"""Pooling layers: AvgPool2d, MaxPool2d."""
from __future__ import annotations

from typing import Any

from ..ops.pool import avg_pool2d, max_pool2d
from ..ops.shape_checks import pair
from ..tensor import Tensor, as_tensor
from .module import Module

IntOrPair = int | tuple[int, int]


class _Pool2d(Module):
    _name = ""

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size", self._name, 1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", self._name, 1)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class AvgPool2d(_Pool2d):
    """Mean pooling over kernel_size windows (stride defaults to kernel_size)."""
    _name = "AvgPool2d"

    def forward(self, x: Any) -> Tensor:
        return avg_pool2d(as_tensor(x), self.kernel_size, self.stride)


class MaxPool2d(_Pool2d):
    """Max pooling over kernel_size windows (stride defaults to kernel_size)."""
    _name = "MaxPool2d"

    def forward(self, x: Any) -> Tensor:
        return max_pool2d(as_tensor(x), self.kernel_size, self.stride)
