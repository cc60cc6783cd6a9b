"""Joining tensors: `concatenate` along an existing axis, `stack` along a new one."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .ops import movement
from .ops import shape_checks as checks
from .tensor import Tensor


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    checks.check_concat_shapes([t.shape for t in tensors], axis)
    axis = checks.normalize_axis(axis, tensors[0].ndim, "concatenate")[0]
    return movement.Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of equal shape along a new axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {[t.shape for t in tensors]}")
    ndim = tensors[0].ndim + 1
    axis = checks.normalize_axis(axis, ndim, "stack")[0]
    expanded = [t.reshape(t.shape[:axis] + (1,) + t.shape[axis:]) for t in tensors]
    return concatenate(expanded, axis)
