"""Movement and indexing methods of `Tensor` (see base.py for the class chain)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..ops import movement
from ..ops import shape_checks as checks
from .base import TensorBase
from .math import MathTensor

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor


class ShapeTensor(MathTensor):
    """Reshaping, permuting, indexing and padding."""

    # -------------------------------------------------------------- movement
    def reshape(self, *shape: Any) -> Tensor:
        """The same data in a new shape (one dimension may be -1), row-major like NumPy."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
            raise TypeError(f"reshape: the target shape must be ints, got {shape!r}")
        return movement.Reshape.apply(self, shape=checks.resolve_shape(self.shape, shape))

    def flatten(self, start_dim: int = 1) -> Tensor:
        """Merge the dims from start_dim on (row-major): (N, C, H, W) -> (N, C*H*W)."""
        (start,) = checks.normalize_axis(start_dim, self.ndim, "flatten") if self.ndim else (0,)
        return self.reshape(self.shape[:start] + (-1,))

    def permute(self, *axes: Any) -> Tensor:
        """Reorder the axes: `x.permute(0, 2, 3, 1)` turns NCHW into NHWC."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
            raise TypeError(f"permute: axes must be ints, got {axes!r}")
        return movement.Permute.apply(self, axes=checks.check_permutation(axes, self.ndim))

    def transpose(self, dim0: int | None = None, dim1: int | None = None) -> Tensor:
        """Reverse all axes (no arguments), or swap dim0 and dim1."""
        axes = list(range(self.ndim))
        if dim0 is None and dim1 is None:
            axes.reverse()
        elif dim0 is None or dim1 is None:
            raise TypeError(f"transpose: give both dim0 and dim1, or neither; got dim0={dim0!r}, dim1={dim1!r}")
        else:
            d0, d1 = (checks.normalize_axis(d, self.ndim, "transpose")[0] for d in (dim0, dim1))
            axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(tuple(axes))

    @property
    def T(self) -> Tensor:
        """All axes reversed (the transpose of a matrix)."""
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, tuple):
            index = tuple(i._data if isinstance(i, TensorBase) else i for i in index)
        elif isinstance(index, TensorBase):
            index = index._data
        return movement.Index.apply(self, index=checks.normalize_index(index, self.shape))

    def pad(self, pad_width: Any, value: float = 0.0) -> Tensor:
        """Constant padding, `pad_width` as for np.pad (int, pair, or one pair per axis)."""
        return movement.Pad.apply(self, pad_width=checks.normalize_pad(pad_width, self.ndim), value=value)
