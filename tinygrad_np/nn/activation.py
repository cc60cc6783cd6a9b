"""Activation layers."""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor, as_tensor
from .module import Module


class Sigmoid(Module):
    """Elementwise logistic function."""

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).sigmoid()


class ReLU(Module):
    """Elementwise max(x, 0) (gradient 0 at 0)."""

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).relu()


class Tanh(Module):
    """Elementwise hyperbolic tangent."""

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).tanh()
