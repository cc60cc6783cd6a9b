"""Elementwise methods of `Tensor` (see base.py for the class chain): functions of one tensor,
PyTorch's method forms of the operators, clamping, `maximum`/`minimum` and selection by a mask."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..ops import activation, elementwise, movement, select
from ..ops import shape_checks as checks
from .base import TensorBase, _new, _to_array

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.number)) and not isinstance(x, (bool, np.bool_))


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """`input` where `condition` is True, else `other`, broadcast together (like torch.where).

    `condition` is a bool tensor or array; `input` and `other` are tensors or numbers (a number
    takes the dtype of the tensor on the other side). The gradient goes to the side chosen.
    """
    cond: TensorBase = condition if isinstance(condition, TensorBase) else _new(np.asarray(condition))
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    x: TensorBase
    y: TensorBase
    if isinstance(input, TensorBase):
        x = input
        y = x._lift(other, "where")
    elif isinstance(other, TensorBase):
        y = other
        x = y._lift(input, "where")
    else:
        x = _new(_to_array(input, None, "where"))  # numbers on both sides: floats become float32
        y = x._lift(other, "where")
    return select.Where.apply(cond, x, y)


class MathTensor(TensorBase):
    """Elementwise functions, the operators as methods, clamping and selection."""

    # ---------------------------------------------------- elementwise unary
    def exp(self) -> Tensor:
        """e ** x, elementwise."""
        return elementwise.Exp.apply(self)

    def log(self) -> Tensor:
        """Natural logarithm, elementwise."""
        return elementwise.Log.apply(self)

    def log1p(self) -> Tensor:
        """log(1 + x), elementwise, accurate for small |x|."""
        return elementwise.Log1p.apply(self)

    def expm1(self) -> Tensor:
        """exp(x) - 1, elementwise, accurate for small |x|."""
        return elementwise.Expm1.apply(self)

    def sqrt(self) -> Tensor:
        """Square root, elementwise."""
        return elementwise.Sqrt.apply(self)

    def abs(self) -> Tensor:
        """|x|, elementwise; the gradient at 0 is 0."""
        return elementwise.Abs.apply(self)

    def sign(self) -> Tensor:
        """-1, 0 or 1 by the sign of x; its gradient is 0 everywhere."""
        return elementwise.Sign.apply(self)

    def sin(self) -> Tensor:
        """Sine, elementwise."""
        return elementwise.Sin.apply(self)

    def cos(self) -> Tensor:
        """Cosine, elementwise."""
        return elementwise.Cos.apply(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x)), exact and finite for any finite x."""
        return activation.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        """Hyperbolic tangent, elementwise."""
        return activation.Tanh.apply(self)

    def relu(self) -> Tensor:
        """max(x, 0), elementwise; the gradient at 0 is 0."""
        return activation.Relu.apply(self)

    # ------------------------------------------------- operators as methods
    def add(self, other: Any, alpha: float = 1) -> Tensor:
        """self + alpha * other."""
        return self + (other if alpha == 1 else self._lift(other, "add") * alpha)

    def sub(self, other: Any, alpha: float = 1) -> Tensor:
        """self - alpha * other."""
        return self - (other if alpha == 1 else self._lift(other, "sub") * alpha)

    def mul(self, other: Any) -> Tensor:
        """self * other."""
        return self * other

    def div(self, other: Any) -> Tensor:
        """self / other (true division)."""
        return self / other

    def pow(self, exponent: Any) -> Tensor:
        """self ** exponent."""
        return self ** exponent

    def neg(self) -> Tensor:
        """-self."""
        return -self

    def square(self) -> Tensor:
        """self ** 2."""
        return self ** 2

    def lt(self, other: Any) -> Tensor:
        """Elementwise <, as a bool tensor (no gradient)."""
        return self < other

    def le(self, other: Any) -> Tensor:
        """Elementwise <=, as a bool tensor (no gradient)."""
        return self <= other

    def gt(self, other: Any) -> Tensor:
        """Elementwise >, as a bool tensor (no gradient)."""
        return self > other

    def ge(self, other: Any) -> Tensor:
        """Elementwise >=, as a bool tensor (no gradient)."""
        return self >= other

    # -------------------------------------------------- clamping, selection
    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Clamp to [min, max] (either may be None, or a tensor broadcast against self).

        The gradient flows to self where min <= self <= max, and to a tensor bound where it was
        the value chosen. If min > max the result is max, as in PyTorch."""
        return self._clamp(min, max, "clamp")

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        """Alias of `clamp`."""
        return self._clamp(min, max, "clip")

    def _clamp(self, low: Any, high: Any, op: str) -> Tensor:
        if low is None and high is None:
            raise ValueError(f"{op}: give min or max (or both), got neither")
        bounds = (low, high)
        tensors = [isinstance(b, (TensorBase, np.ndarray)) for b in bounds]
        for bound, is_tensor in zip(bounds, tensors, strict=True):
            if bound is not None and not is_tensor and not _is_number(bound):
                raise TypeError(f"{op}: min and max must be numbers, tensors or None, got min={low!r}, max={high!r}")
        if not any(tensors):
            return elementwise.Clip.apply(self, low=low, high=high)
        out: Tensor = self  # type: ignore[assignment]
        if low is not None:
            lo = self._lift(low, op)
            out = where(out < lo, lo, out)
        if high is not None:
            hi = self._lift(high, op)
            out = where(out > hi, hi, out)
        return out

    def maximum(self, other: Any) -> Tensor:
        """Elementwise maximum of self and other (broadcast); equal values share the gradient evenly."""
        return select.Maximum.apply(self, self._lift(other, "maximum"))

    def minimum(self, other: Any) -> Tensor:
        """Elementwise minimum, -maximum(-self, -other); equal values share the gradient evenly."""
        other = self._lift(other, "minimum")
        if self.dtype.kind not in "fc" or other.dtype.kind not in "fc":  # no gradient, and -bool fails
            checks.broadcast_shape("minimum", self.shape, other.shape)
            return _new(np.minimum(self._data, other._data))
        return -select.Maximum.apply(-self, -other)

    def where(self, condition: Any, other: Any) -> Tensor:
        """self where condition is True, else other (see `tg.where`)."""
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """A copy with `value` (a number or a one-element tensor) where the bool `mask` (broadcast to
        self's shape) is True; the gradient flows to self elsewhere, and to a tensor value."""
        mask_arr = mask._data if isinstance(mask, TensorBase) else np.asarray(mask)
        if mask_arr.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask_arr.dtype}")
        if checks.broadcast_shape("masked_fill", mask_arr.shape, self.shape) != self.shape:
            raise ValueError(f"masked_fill: mask of shape {mask_arr.shape} does not broadcast to the "
                             f"tensor's shape {self.shape}")
        if isinstance(value, TensorBase):
            if value.numel() != 1:
                raise ValueError(f"masked_fill: value must be a number or a one-element tensor, "
                                 f"got shape {value.shape}")
            fill: Any = movement.Reshape.apply(value, shape=()) if value.ndim else value
        elif _is_number(value) or isinstance(value, (bool, np.bool_)):
            fill = _new(np.asarray(value).astype(self.dtype))
        else:
            raise TypeError(f"masked_fill: value must be a number or a tensor, got {type(value).__name__}")
        return where(mask if isinstance(mask, TensorBase) else _new(mask_arr), fill, self)
