"""Joining tensors: `cat`/`concatenate` along an existing dim, `stack` along a new one."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .ops import movement
from .ops import shape_checks as checks
from .tensor import Tensor


def _pick(op: str, dim: int | None, axis: int | None) -> int:
    """The dim given as PyTorch's `dim` or NumPy's `axis` (not both); 0 if neither."""
    if dim is not None and axis is not None:
        raise TypeError(f"{op}: give dim or axis, not both (got dim={dim!r}, axis={axis!r})")
    return dim if dim is not None else axis if axis is not None else 0


def concatenate(tensors: Sequence[Any], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (default 0; NumPy's name, `dim=` also works)."""
    axis = _pick("concatenate", dim, axis)
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    checks.check_concat_shapes([t.shape for t in tensors], axis)
    axis = checks.normalize_axis(axis, tensors[0].ndim, "concatenate")[0]
    return movement.Concatenate.apply(*tensors, axis=axis)


def cat(tensors: Sequence[Any], dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim (default 0), like torch.cat (same as `concatenate`)."""
    return concatenate(tensors, _pick("cat", dim, axis))


def stack(tensors: Sequence[Any], dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Join tensors of equal shape along a new dim (default 0; `dim=` or NumPy's `axis=`)."""
    dim = _pick("stack", dim, axis)
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {[t.shape for t in tensors]}")
    ndim = tensors[0].ndim + 1
    dim = checks.normalize_axis(dim, ndim, "stack")[0]
    expanded = [t.reshape(t.shape[:dim] + (1,) + t.shape[dim:]) for t in tensors]
    return concatenate(expanded, dim)
