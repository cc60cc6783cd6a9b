"""Validation of user-given shapes, axes, indices and paddings, with messages that show the values."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class IndexOutOfRange(IndexError, ValueError):
    """An index that does not fit the tensor; both an IndexError and a ValueError."""


def broadcast_shape(op: str, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast shape of a and b, or a ValueError naming the op and both shapes."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise ValueError(f"{op}: shapes {a} and {b} cannot be broadcast together") from None


def normalize_axis(axis: int | Sequence[int] | None, ndim: int, op: str, name: str = "axis") -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints; () means all axes for reductions. `name` is
    the argument's name in messages ("axis", or "dim" for PyTorch's spelling)."""
    if axis is None:
        return ()
    axes: tuple[Any, ...]
    try:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    except TypeError:  # not iterable, e.g. a float: reported below
        axes = (axis,)
    out = []
    for ax in axes:
        if not isinstance(ax, (int, np.integer)) or isinstance(ax, bool):
            raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {axis!r}")
        if not -max(ndim, 1) <= ax < max(ndim, 1):
            raise IndexOutOfRange(f"{op}: {name} {ax} is out of range for a tensor with {ndim} dims")
        out.append(int(ax) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated {name} in {axis!r}")
    return tuple(sorted(out))


def single_axis(dim: Any, ndim: int, op: str, name: str = "dim") -> int:
    """One axis as a non-negative int; a 0-d tensor accepts 0 and -1 (as PyTorch)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: {name} must be an int, got {dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexOutOfRange(f"{op}: {name} {dim} is out of range for a tensor with {ndim} dims")
    return int(dim) % max(ndim, 1)


def reduce_axes(op: str, ndim: int, dim: Any, axis: Any) -> tuple[int, ...]:
    """The axes a reduction runs over, from PyTorch's `dim` or NumPy's `axis` (not both);
    () means all axes (also for any valid axis of a 0-d tensor)."""
    if dim is not None and axis is not None:
        raise TypeError(f"{op}: give dim or axis, not both (got dim={dim!r}, axis={axis!r})")
    axes = normalize_axis(axis if dim is None else dim, ndim, op, "axis" if dim is None else "dim")
    return axes if ndim else ()


def resolve_shape(old: tuple[int, ...], new: Sequence[Any], op: str = "reshape") -> tuple[int, ...]:
    """Check a reshape target (one -1 allowed) against the element count."""
    new = tuple(int(n) for n in new)
    size = int(np.prod(old))
    if new.count(-1) > 1 or any(n < -1 for n in new):
        raise ValueError(f"{op}: invalid target shape {new}")
    if -1 in new:
        known = int(np.prod([n for n in new if n != -1]))
        if known == 0 or size % known:
            raise ValueError(f"{op}: cannot reshape {old} ({size} elements) into {new}")
        new = tuple(size // known if n == -1 else n for n in new)
    if int(np.prod(new)) != size:
        raise ValueError(f"{op}: cannot reshape {old} ({size} elements) into {new}")
    return new


def check_permutation(axes: Sequence[Any], ndim: int) -> tuple[int, ...]:
    axes = tuple(int(a) for a in axes)
    if any(not -ndim <= a < ndim for a in axes) or sorted(a % ndim for a in axes) != list(range(ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {ndim} axes")
    return tuple(a % ndim for a in axes)


def normalize_index(index: Any, shape: tuple[int, ...]) -> Any:
    """Turn lists inside an index into arrays and check the index against the shape (tensors
    inside the index were already replaced by their arrays)."""

    def plain(i: Any) -> Any:
        if isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
            raise TypeError(f"index: arrays used as indices must be integer or bool, got dtype {i.dtype}")
        return i

    index = tuple(plain(i) for i in index) if isinstance(index, tuple) else plain(index)
    probe = np.broadcast_to(np.zeros((), dtype=np.int8), shape)  # no memory; validates the index
    try:
        probe[index]
    except IndexError as exc:
        raise IndexOutOfRange(f"index: {exc} (tensor shape {shape})") from None
    return index


def normalize_pad(pad_width: Any, ndim: int) -> tuple[tuple[int, int], ...]:
    """np.pad-style widths (int, (lo, hi), or one pair per axis) as a tuple of pairs."""
    arr = np.asarray(pad_width)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"pad: widths must be integers, got {pad_width!r}")
    try:
        pairs = np.broadcast_to(arr, (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: widths {pad_width!r} do not fit a tensor with {ndim} dims") from None
    if (pairs < 0).any():
        raise ValueError(f"pad: widths must be non-negative, got {pad_width!r}")
    return tuple((int(lo), int(hi)) for lo, hi in pairs)


def check_concat_shapes(shapes: Sequence[tuple[int, ...]], axis: int) -> None:
    ndim = len(shapes[0])
    if any(len(s) != ndim for s in shapes):
        raise ValueError(f"concatenate: all tensors need the same number of dims, got {list(shapes)}")
    ax = normalize_axis(axis, ndim, "concatenate")[0]
    rest = {s[:ax] + s[ax + 1:] for s in shapes}
    if len(rest) != 1:
        raise ValueError(f"concatenate: shapes {list(shapes)} differ outside axis {axis}")


def pair(value: Any, name: str, op: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as a pair, each at least `minimum`."""
    try:
        vals = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    except TypeError:  # not iterable, e.g. a float: reported below
        vals = (value,)
    if len(vals) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(vals) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(vals[0]), int(vals[1])


def check_nchw(op: str, x: Any) -> None:
    """Require a 4-D (N, C, H, W) tensor or array."""
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {x.shape}")
