"""Reductions of `Tensor` (see base.py for the class chain): sums, extremes, statistics, softmax.

Every reduction takes PyTorch's `dim`/`keepdim` or NumPy's `axis`/`keepdims`. Only sum and max
over axes are primitives (ops/reduce.py); mean, var, std, logsumexp, softmax and the reductions
along one dim that return indices are composites.
"""
from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import numpy as np

from ..ops import reduce
from ..ops import shape_checks as checks
from .base import Axis, TensorBase, _new
from .shaping import ShapeTensor

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor


class ValuesIndices(NamedTuple):
    """What `max(dim)` and `min(dim)` return, as torch.return_types.max: `values, indices = x.max(1)`."""
    values: Tensor
    indices: Tensor


class ReduceTensor(ShapeTensor):
    """Reductions over dims: sum, mean, max/min/amax/amin, argmax/argmin, var, std, logsumexp, softmax."""

    def _axes(self, op: str, dim: Any, axis: Any) -> tuple[int, ...]:
        return checks.reduce_axes(op, self.ndim, dim, axis)

    def _count(self, axes: tuple[int, ...]) -> int:
        """How many elements each output of a reduction over `axes` (() = all) combines."""
        return math.prod(self.shape[a] for a in axes) if axes else self.numel()

    # ------------------------------------------------------------ sums, means
    def sum(self, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum over `dim` (or NumPy's `axis`): an int, a tuple of ints, or None for all dims."""
        axes = self._axes("sum", dim, axis)
        return reduce.Sum.apply(self, axis=axes, keepdims=keepdim or keepdims)

    def mean(self, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Mean over `dim` (or `axis`; None for all dims), as the sum times 1/count."""
        axes = self._axes("mean", dim, axis)
        count = self._count(axes)
        if count == 0:
            raise ValueError(f"mean: cannot average over an empty axis (shape {self.shape}, dim {axes or None})")
        return self.sum(axes, keepdim or keepdims) * (1.0 / count)

    def var(self, dim: Axis | bool = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None, axis: Axis = None, keepdims: bool = False,
            ddof: float | None = None) -> Tensor:
        """Variance over `dim`: sum((x - mean)^2) / (count - correction).

        As PyTorch, the correction is 1 unless given (`correction=0`, `unbiased=False` or NumPy's
        `ddof=0` give the population variance, NumPy's default). `x.var(False)` means unbiased=False.
        """
        return self._variance("var", dim, unbiased, keepdim or keepdims, correction, axis, ddof)

    def std(self, dim: Axis | bool = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None, axis: Axis = None, keepdims: bool = False,
            ddof: float | None = None) -> Tensor:
        """Standard deviation, sqrt(var) with the same arguments (correction 1 unless given)."""
        return self._variance("std", dim, unbiased, keepdim or keepdims, correction, axis, ddof).sqrt()

    def _variance(self, op: str, dim: Any, unbiased: bool | None, keepdim: bool, correction: float | None,
                  axis: Any, ddof: float | None) -> Tensor:
        if isinstance(dim, bool):  # the overload var(unbiased)
            if unbiased is not None:
                raise TypeError(f"{op}: got unbiased twice (dim={dim!r}, unbiased={unbiased!r})")
            dim, unbiased = None, dim
        given = {k: v for k, v in (("unbiased", unbiased), ("correction", correction), ("ddof", ddof)) if v is not None}
        if len(given) > 1:
            raise TypeError(f"{op}: give at most one of unbiased, correction and ddof, got {given}")
        corr = float(int(unbiased) if unbiased is not None else next(iter(given.values()), 1))
        axes = self._axes(op, dim, axis)
        count = self._count(axes)
        if count == 0:
            raise ValueError(f"{op}: cannot reduce over an empty axis (shape {self.shape}, dim {axes or None})")
        centered = self - self.mean(axes, keepdim=True)
        squares = (centered ** 2).sum(axes, keepdim)
        dof = count - corr
        if dof > 0:
            return squares * (1.0 / dof)
        warnings.warn(f"{op}: degrees of freedom <= 0 ({count} values, correction {corr:g}); the result is "
                      "inf or nan, as in PyTorch", RuntimeWarning, stacklevel=3)
        with np.errstate(divide="ignore", invalid="ignore"):
            return squares / 0.0

    def logsumexp(self, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None,
                  keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) over `dim`, shifted by the (constant) max for stability; an infinite
        max is not shifted by, as in PyTorch, so all -inf gives -inf."""
        axes = self._axes("logsumexp", dim, axis)
        keep = keepdim or keepdims
        top = self.amax(axes, keepdim=True)._data
        peak = _new(np.where(np.isinf(top), np.zeros((), top.dtype), top))
        total = (self - peak).exp().sum(axes, keep)
        return total.log() + (peak if keep else peak.reshape(total.shape))

    def softmax(self, dim: Axis = -1, *, axis: Axis = None) -> Tensor:
        """exp(x) / sum(exp(x)) along `dim` (default the last), shifted by the (constant) max."""
        axes = self._axes("softmax", None if axis is not None else dim, axis)
        e = (self - self.amax(axes, keepdim=True).detach()).exp()
        return e / e.sum(axes, keepdim=True)

    def log_softmax(self, dim: Axis = -1, *, axis: Axis = None) -> Tensor:
        """x - logsumexp(x) along `dim` (default the last), stable for large |x|."""
        axes = self._axes("log_softmax", None if axis is not None else dim, axis)
        shifted = self - self.amax(axes, keepdim=True).detach()
        return shifted - shifted.exp().sum(axes, keepdim=True).log()

    # ------------------------------------------------------------- extremes
    def amax(self, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Maximum over `dim` (an int, a tuple, or None for all); tied maxima share the gradient evenly."""
        axes = self._axes("amax", dim, axis)
        return reduce.Max.apply(self, axis=axes, keepdims=keepdim or keepdims)

    def amin(self, dim: Axis = None, keepdim: bool = False, *, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Minimum over `dim`, as -amax(-x); tied minima share the gradient evenly."""
        axes = self._axes("amin", dim, axis)
        return -reduce.Max.apply(-self, axis=axes, keepdims=keepdim or keepdims)

    @overload
    def max(self, dim: None = None, keepdim: bool = False, *, axis: Axis = None,
            keepdims: bool = False) -> Tensor: ...
    @overload
    def max(self, dim: int, keepdim: bool = False, *, axis: None = None, keepdims: bool = False) -> ValuesIndices: ...
    @overload
    def max(self, dim: TensorBase, keepdim: bool = False, *, axis: None = None, keepdims: bool = False) -> Tensor: ...

    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Axis = None,
            keepdims: bool = False) -> Tensor | ValuesIndices:
        """As PyTorch: `x.max()` is the maximum of all elements (tied maxima share the gradient
        evenly); `x.max(dim)` is a named tuple (values, indices) whose gradient goes to the index
        returned, the first maximum; `x.max(other)` is `maximum`. With NumPy's `axis=` (an int or
        a tuple) it is `amax`: the values only, ties sharing the gradient."""
        return self._extreme("max", dim, keepdim or keepdims, axis)

    @overload
    def min(self, dim: None = None, keepdim: bool = False, *, axis: Axis = None,
            keepdims: bool = False) -> Tensor: ...
    @overload
    def min(self, dim: int, keepdim: bool = False, *, axis: None = None, keepdims: bool = False) -> ValuesIndices: ...
    @overload
    def min(self, dim: TensorBase, keepdim: bool = False, *, axis: None = None, keepdims: bool = False) -> Tensor: ...

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Axis = None,
            keepdims: bool = False) -> Tensor | ValuesIndices:
        """The minimum, with the same forms and gradient rules as `max`."""
        return self._extreme("min", dim, keepdim or keepdims, axis)

    def _extreme(self, op: str, dim: Any, keepdim: bool, axis: Axis) -> Tensor | ValuesIndices:
        if isinstance(dim, (TensorBase, np.ndarray)):
            if axis is not None:
                raise TypeError(f"{op}: cannot give axis with another tensor")
            return self.maximum(dim) if op == "max" else self.minimum(dim)
        if dim is None:  # all elements, or NumPy's axis
            return self.amax(axis=axis, keepdims=keepdim) if op == "max" else self.amin(axis=axis, keepdims=keepdim)
        if axis is not None:
            raise TypeError(f"{op}: give dim or axis, not both (got dim={dim!r}, axis={axis!r})")
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            raise TypeError(f"{op}: dim must be an int (or use amax/axis= for a tuple of dims), got {dim!r}")
        d = checks.single_axis(dim, self.ndim, op)
        if self.ndim and self.shape[d] == 0:
            raise ValueError(f"{op}: cannot reduce an empty dim {d} (shape {self.shape})")
        pick = np.argmax if op == "max" else np.argmin
        index = np.expand_dims(pick(self._data, axis=d), d) if self.ndim else np.zeros((), np.int64)
        values = self._take_along(d, index)
        if not keepdim and self.ndim:
            values, index = values.reshape(np.squeeze(index, d).shape), np.squeeze(index, d)
        return ValuesIndices(values, _new(index.astype(np.int64)))

    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
               keepdims: bool = False) -> Tensor:
        """Index of the first maximum along `dim` (of the flattened tensor if None), int64, no gradient."""
        return self._arg("argmax", dim, keepdim or keepdims, axis)

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None,
               keepdims: bool = False) -> Tensor:
        """Index of the first minimum along `dim` (of the flattened tensor if None), int64, no gradient."""
        return self._arg("argmin", dim, keepdim or keepdims, axis)

    def _arg(self, op: str, dim: Any, keepdim: bool, axis: Any) -> Tensor:
        if dim is not None and axis is not None:
            raise TypeError(f"{op}: give dim or axis, not both (got dim={dim!r}, axis={axis!r})")
        dim = axis if dim is None else dim
        pick = np.argmax if op == "argmax" else np.argmin
        if dim is None:
            if self.numel() == 0:
                raise ValueError(f"{op}: cannot reduce an empty tensor of shape {self.shape}")
            flat = pick(self._data.reshape(-1))
            return _new(np.asarray(flat, np.int64).reshape((1,) * self.ndim if keepdim else ()))
        d = checks.single_axis(dim, self.ndim, op)
        if not self.ndim:
            return _new(np.zeros((), np.int64))
        if self.shape[d] == 0:
            raise ValueError(f"{op}: cannot reduce an empty dim {d} (shape {self.shape})")
        return _new(np.asarray(pick(self._data, axis=d, keepdims=keepdim), np.int64))

    def all(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        """True where every element over `dim` is nonzero (bool, no gradient)."""
        axes = self._axes("all", dim, None)
        return _new(np.asarray(np.all(self._data, axis=axes or None, keepdims=keepdim)))

    def any(self, dim: Axis = None, keepdim: bool = False) -> Tensor:
        """True where some element over `dim` is nonzero (bool, no gradient)."""
        axes = self._axes("any", dim, None)
        return _new(np.asarray(np.any(self._data, axis=axes or None, keepdims=keepdim)))
