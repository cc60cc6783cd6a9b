"""Elementwise and reduction methods of `Tensor` (see base.py for the class chain)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..ops import elementwise, reduce
from ..ops import shape_checks as checks
from .base import Axis, TensorBase

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor


class MathTensor(TensorBase):
    """Elementwise functions, clipping and reductions."""

    # ---------------------------------------------------- elementwise unary
    def exp(self) -> Tensor:
        """e ** x, elementwise."""
        return elementwise.Exp.apply(self)

    def log(self) -> Tensor:
        """Natural logarithm, elementwise."""
        return elementwise.Log.apply(self)

    def sqrt(self) -> Tensor:
        """Square root, elementwise."""
        return elementwise.Sqrt.apply(self)

    def abs(self) -> Tensor:
        """|x|, elementwise; the gradient at 0 is 0."""
        return elementwise.Abs.apply(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x)), exact and finite for any finite x."""
        return elementwise.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        """Hyperbolic tangent, elementwise."""
        return elementwise.Tanh.apply(self)

    def relu(self) -> Tensor:
        """max(x, 0), elementwise; the gradient at 0 is 0."""
        return elementwise.Relu.apply(self)

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        """Clamp values to [low, high]; the gradient flows only where the value was not clamped."""
        for bound in (low, high):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float, np.number))):
                raise TypeError(f"clip: bounds must be numbers or None, got low={low!r}, high={high!r}")
        return elementwise.Clip.apply(self, low=low, high=high)

    # ------------------------------------------------------------ reductions
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum over `axis` (all axes when None)."""
        return reduce.Sum.apply(self, axis=checks.normalize_axis(axis, self.ndim, "sum"), keepdims=keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Maximum over axis; tied maxima share the gradient evenly."""
        return reduce.Max.apply(self, axis=checks.normalize_axis(axis, self.ndim, "max"), keepdims=keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Minimum over axis, written as -max(-x); ties share the gradient evenly."""
        return -((-self).max(checks.normalize_axis(axis, self.ndim, "min"), keepdims))

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Mean over `axis` (all axes when None), as the sum times 1/count."""
        axes = checks.normalize_axis(axis, self.ndim, "mean")
        count = int(np.prod([self.shape[a] for a in axes])) if axes else self.size
        if count == 0:
            raise ValueError(f"mean: cannot average over an empty axis (shape {self.shape}, axis {axis!r})")
        return self.sum(axes, keepdims) * (1.0 / count)

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along axis, shifted by the (constant) max for stability."""
        axes = checks.normalize_axis(axis, self.ndim, "softmax")
        e = (self - self.max(axes, keepdims=True).detach()).exp()
        return e / e.sum(axes, keepdims=True)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - logsumexp(x) along axis, stable for large |x|."""
        axes = checks.normalize_axis(axis, self.ndim, "log_softmax")
        shifted = self - self.max(axes, keepdims=True).detach()
        return shifted - shifted.exp().sum(axes, keepdims=True).log()
