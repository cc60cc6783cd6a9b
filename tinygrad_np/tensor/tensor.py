"""`Tensor`: an ndarray with a place on the tape, and the methods users call.

The class is built in steps, a file each: base.py (state, gradient, operators) -> math.py
(elementwise, reductions) -> shaping.py (movement, indexing) -> here (contractions, conv and
pooling)."""
from __future__ import annotations

from typing import Any

from ..ops import matmul as matmul_op
from .base import IntOrPair
from .shaping import ShapeTensor


class Tensor(ShapeTensor):
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


def as_tensor(x: Any) -> Tensor:
    """`x` itself if it is a Tensor, else a new (float32 for float data) Tensor of it."""
    return x if isinstance(x, Tensor) else Tensor(x)
