"""tinygrad_np: a NumPy-only tensor library with tape-based reverse-mode autograd."""
from . import allocator
allocator.apply_at_import()  # keep freed memory for the next batch (see allocator.py)

from .autograd import Context, Function, is_grad_enabled, no_grad, sum_to_shape
from .anomaly import detect_anomaly, is_anomaly_enabled
from .tensor import Tensor, concatenate, stack
from .conv import avg_pool2d, conv2d, max_pool2d, threshold
from . import functional
from . import nn, optim, parallel
from .serialization import load, save
from . import viz
from . import onnx  # the onnx package itself is imported only when tg.onnx.export/load run

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "Context", "no_grad", "is_grad_enabled", "sum_to_shape",
    "concatenate", "stack", "conv2d", "threshold", "avg_pool2d", "max_pool2d", "functional", "nn", "optim",
    "save", "load", "viz", "detect_anomaly", "is_anomaly_enabled", "allocator", "parallel", "onnx",
]
