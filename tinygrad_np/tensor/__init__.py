"""`Tensor` and `as_tensor`; the class is assembled from base.py, math.py, shaping.py, reductions.py
and tensor.py, each class adding methods to the one before."""
from .base import TensorBase
from .tensor import Tensor, as_tensor

__all__ = ["Tensor", "TensorBase", "as_tensor"]
