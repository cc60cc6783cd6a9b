"""`Tensor`: an ndarray with a place on the tape, and the methods users call.

The class is built in steps, a file each: base.py (state, gradient, operators) -> math.py
(elementwise) -> shaping.py (movement, indexing) -> reductions.py (sums, extremes, statistics,
softmax) -> here (contractions, conv and pooling, dtype conversions)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import elementwise
from ..ops import matmul as matmul_op
from .base import IntOrPair, TensorBase
from .reductions import ReduceTensor


class Tensor(ReduceTensor):
    """An n-dimensional array that records the operations applied to it.

    Float input becomes float32 unless `dtype` is given (`dtype=np.float64` for double
    precision); integer and bool data keep their dtype and cannot require grad. The data
    is copied.

    `.data` is the underlying ndarray. Assigning it (`w.data = new`, `w.data -= lr * g`) counts
    as an in-place modification (`_version` goes up); backward raises if an array that an op
    saved was modified between that op and the backward (see docs/debugging.md).
    """

    # ------------------------------------------------------------ contractions
    def __matmul__(self, o: Any) -> Tensor: return self.matmul(o)
    def __rmatmul__(self, o: Any) -> Tensor: return self._lift(o, "matmul").matmul(self)

    def matmul(self, other: Any) -> Tensor:
        """Matrix product with NumPy semantics (1-D, 2-D, batched with broadcast batch dims)."""
        return matmul_op.MatMul.apply(self, self._lift(other))

    def conv2d(self, weight: Tensor, bias: Tensor | None = None,
               stride: IntOrPair = 1, padding: IntOrPair = 0) -> Tensor:
        """2-D cross-correlation, NCHW input, (F, C, KH, KW) weight; see `tg.conv2d`."""
        from ..ops.conv import conv2d
        return conv2d(self, weight, bias, stride, padding)

    def threshold(self, t: Tensor) -> Tensor:
        """Add a per-channel threshold t of shape (C,) over N, H, W."""
        from ..ops.conv import threshold
        return threshold(self, t)

    def avg_pool2d(self, kernel_size: IntOrPair, stride: IntOrPair | None = None) -> Tensor:
        """Mean pooling over kernel_size windows; see `tg.avg_pool2d`."""
        from ..ops.pool import avg_pool2d
        return avg_pool2d(self, kernel_size, stride)

    def max_pool2d(self, kernel_size: IntOrPair, stride: IntOrPair | None = None) -> Tensor:
        """Max pooling over kernel_size windows; see `tg.max_pool2d`."""
        from ..ops.pool import max_pool2d
        return max_pool2d(self, kernel_size, stride)

    # ------------------------------------------------------- dtype and device
    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
        """`to(dtype)`, `to(other_tensor)` (its dtype) or `to(device[, dtype])`, as PyTorch; the only
        device is "cpu". Returns self when nothing changes, else a cast copy (on the tape)."""
        for arg in args:
            if isinstance(arg, TensorBase):
                dtype = arg.dtype if dtype is None else dtype
            elif isinstance(arg, str) and not _is_dtype_name(arg):
                device = arg
            else:
                dtype = arg
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"to: only the device 'cpu' exists here, got {device!r}")
        if dtype is None or np.dtype(dtype) == self.dtype:
            return self
        return self.astype(dtype)

    def type_as(self, other: TensorBase) -> Tensor:
        """This tensor cast to `other`'s dtype (self if it already has it)."""
        return self.to(other.dtype)

    def float(self) -> Tensor:
        """Cast to float32 (self if it already is)."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """Cast to float64 (self if it already is)."""
        return self.to(np.float64)

    def half(self) -> Tensor:
        """Cast to float16 (self if it already is)."""
        return self.to(np.float16)

    def long(self) -> Tensor:
        """Cast to int64 (no gradient flows through an integer tensor)."""
        return self.to(np.int64)

    def int(self) -> Tensor:
        """Cast to int32 (no gradient flows through an integer tensor)."""
        return self.to(np.int32)

    def bool(self) -> Tensor:
        """Cast to bool (no gradient)."""
        return self.to(np.bool_)

    def cpu(self) -> Tensor:
        """Self: every tensor lives in main memory."""
        return self

    def contiguous(self) -> Tensor:
        """Self: NumPy handles any memory layout, so no copy is needed."""
        return self

    def clone(self) -> Tensor:
        """A copy of the data on the tape: the gradient flows back unchanged."""
        return elementwise.Cast.apply(self, dtype=self.dtype)


def _is_dtype_name(name: str) -> bool:
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


def as_tensor(x: Any) -> Tensor:
    """`x` itself if it is a Tensor, else a new (float32 for float data) Tensor of it."""
    return x if isinstance(x, Tensor) else Tensor(x)
