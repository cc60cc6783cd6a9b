"""`Tensor` and `as_tensor`; the class is assembled from base.py, math.py, shaping.py and tensor.py."""
from .base import TensorBase
from .tensor import Tensor, as_tensor

__all__ = ["Tensor", "TensorBase", "as_tensor"]
