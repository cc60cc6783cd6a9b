"""Linear (fully connected) layer and Flatten."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, as_tensor
from .args import float_dtype, positive_int, reset_default
from .module import Module, Parameter


class Linear(Module):
    """Fully connected layer y = x @ weight.T + bias with weight (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: np.random.Generator | int | None = None, dtype: Any = np.float32):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        dt = float_dtype(dtype, "Linear")
        self.weight = Parameter(np.zeros((self.out_features, self.in_features)), dtype=dt)
        self.bias = Parameter(np.zeros(self.out_features), dtype=dt) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng: np.random.Generator | int | None = None) -> None:
        """Re-draw weight and bias with PyTorch's default initialisation."""
        reset_default(self.weight, self.bias, rng, type(self).__name__)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: input's last dimension must be in_features={self.in_features}, "
                             f"got input of shape {x.shape} (weight {self.weight.shape})")
        out = x @ self.weight.T  # (..., in) x (in, out) -> (..., out)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Merge the dims start_dim..end_dim, row-major: (N, C, H, W) -> (N, C*H*W) by default (start_dim=1,
    as torch.nn.Flatten; the method `Tensor.flatten` starts at 0)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        for name, dim in (("start_dim", self.start_dim), ("end_dim", self.end_dim)):
            if not -x.ndim <= dim < x.ndim:
                raise ValueError(f"Flatten: {name}={dim} is out of range for input of shape {x.shape}")
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
