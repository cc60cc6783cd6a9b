"""Layers of `tg.nn` (import them from `tg.nn`): Conv2d, Linear, Threshold, pools, activations,
Flatten and Sequential.

Weights are initialised like PyTorch's defaults from an explicit generator `rng` (a fresh
`np.random.default_rng()` when None): kaiming-uniform with a = sqrt(5), i.e.
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then the bias from the same interval, weight first.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Optional, Tuple, Union

import numpy as np

from . import nn_init as init
from .conv import avg_pool2d, conv2d, max_pool2d
from .nn_module import Module, Parameter
from .shape_checks import pair
from .tensor import Tensor

__all__ = ["Conv2d", "Linear", "Threshold", "AvgPool2d", "MaxPool2d", "Sigmoid", "ReLU", "Tanh",
           "Flatten", "Sequential"]

IntOrPair = Union[int, Tuple[int, int]]


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _positive_int(value: Any, name: str, layer: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def _float_dtype(dtype: Any, layer: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{layer}: dtype must be a floating point type, got {dt}")
    return dt


def _reset_default(weight: Parameter, bias: Optional[Parameter], rng: Optional[np.random.Generator]) -> None:
    """PyTorch's default init: kaiming_uniform(a=sqrt(5)) for the weight, U(+-1/sqrt(fan_in)) for the bias."""
    rng = np.random.default_rng() if rng is None else rng
    init.kaiming_uniform_(weight, rng, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight.shape)
        bound = 1.0 / math.sqrt(fan_in)
        init.uniform_(bias, -bound, bound, rng)


class Conv2d(Module):
    """2-D cross-correlation layer: weight (F, C, KH, KW), bias (F,) or None; see `tg.conv2d`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair = 0, bias: bool = True, rng: Optional[np.random.Generator] = None,
                 dtype: Any = np.float32):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = _positive_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = pair(stride, "stride", "Conv2d", 1)
        self.padding = pair(padding, "padding", "Conv2d", 0)
        dt = _float_dtype(dtype, "Conv2d")
        self.weight = Parameter(np.zeros((self.out_channels, self.in_channels) + self.kernel_size), dtype=dt)
        self.bias = Parameter(np.zeros(self.out_channels), dtype=dt) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng: Optional[np.random.Generator] = None) -> None:
        """Re-draw weight and bias with PyTorch's default initialisation."""
        _reset_default(self.weight, self.bias, rng)

    def forward(self, x: Any) -> Tensor:
        # (N, C, H, W) x (F, C, KH, KW) -> (N, F, OH, OW)
        return conv2d(_as_tensor(x), self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Linear(Module):
    """Fully connected layer y = x @ weight.T + bias with weight (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: Optional[np.random.Generator] = None, dtype: Any = np.float32):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        dt = _float_dtype(dtype, "Linear")
        self.weight = Parameter(np.zeros((self.out_features, self.in_features)), dtype=dt)
        self.bias = Parameter(np.zeros(self.out_features), dtype=dt) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng: Optional[np.random.Generator] = None) -> None:
        """Re-draw weight and bias with PyTorch's default initialisation."""
        _reset_default(self.weight, self.bias, rng)

    def forward(self, x: Any) -> Tensor:
        x = _as_tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: input's last dimension must be in_features={self.in_features}, "
                             f"got input of shape {x.shape} (weight {self.weight.shape})")
        out = x @ self.weight.T  # (..., in) x (in, out) -> (..., out)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Threshold(Module):
    """A learnable per-channel value (C,) added over N, H, W: `x.threshold(self.value)`."""

    def __init__(self, channels: int, init: float = 0.0, dtype: Any = np.float32):
        super().__init__()
        self.channels = _positive_int(channels, "channels", "Threshold")
        self.value = Parameter(np.full(self.channels, init), dtype=_float_dtype(dtype, "Threshold"))

    def forward(self, x: Any) -> Tensor:
        return _as_tensor(x).threshold(self.value)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class _Pool2d(Module):
    _name = ""

    def __init__(self, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size", self._name, 1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", self._name, 1)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class AvgPool2d(_Pool2d):
    """Mean pooling over kernel_size windows (stride defaults to kernel_size)."""
    _name = "AvgPool2d"

    def forward(self, x: Any) -> Tensor:
        return avg_pool2d(_as_tensor(x), self.kernel_size, self.stride)


class MaxPool2d(_Pool2d):
    """Max pooling over kernel_size windows (stride defaults to kernel_size)."""
    _name = "MaxPool2d"

    def forward(self, x: Any) -> Tensor:
        return max_pool2d(_as_tensor(x), self.kernel_size, self.stride)


class Sigmoid(Module):
    """Elementwise logistic function."""

    def forward(self, x: Any) -> Tensor:
        return _as_tensor(x).sigmoid()


class ReLU(Module):
    """Elementwise max(x, 0) (gradient 0 at 0)."""

    def forward(self, x: Any) -> Tensor:
        return _as_tensor(x).relu()


class Tanh(Module):
    """Elementwise hyperbolic tangent."""

    def forward(self, x: Any) -> Tensor:
        return _as_tensor(x).tanh()


class Flatten(Module):
    """Merge the dims from start_dim on, row-major: (N, C, H, W) -> (N, C*H*W)."""

    def __init__(self, start_dim: int = 1):
        super().__init__()
        self.start_dim = int(start_dim)

    def forward(self, x: Any) -> Tensor:
        x = _as_tensor(x)
        if not -x.ndim <= self.start_dim < x.ndim:
            raise ValueError(f"Flatten: start_dim={self.start_dim} is out of range for input of shape {x.shape}")
        return x.flatten(self.start_dim % x.ndim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"


class Sequential(Module):
    """Modules applied in order; children are named "0", "1", ... (`seq[0]`, `len(seq)`, iteration)."""

    def __init__(self, *modules: Module):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> "Sequential":
        """Add a module at the end (named by its position)."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected Module instances, got {type(module).__name__} "
                            f"at position {len(self)}")
        setattr(self, str(len(self)), module)
        return self

    def __len__(self) -> int:
        return len(self.children())

    def __iter__(self) -> Iterator[Module]:
        return iter(self.children())

    def __getitem__(self, index: int) -> Module:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"Sequential: index must be an int, got {type(index).__name__}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"Sequential: index {index} is out of range for {n} modules")
        return self.children()[index % n]

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x
