"""tinygrad_np: a NumPy-only tensor library with tape-based reverse-mode autograd."""
from .ops import allocator

allocator.apply_at_import()  # keep freed memory for the next batch (see ops/allocator.py)

from . import creation, dtypes, functions, nn, onnx, optim, random, testing, viz  # noqa: E402
from .autograd import (  # noqa: E402
    Context,
    Function,
    detect_anomaly,
    enable_grad,
    grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    sum_to_shape,
)

# PyTorch's factories, dtype names and functions of tensors, each module's __all__ (`tg.tensor` is
# the factory, as torch.tensor; the subpackage is imported with `from tinygrad_np.tensor import ...`).
from .creation import *  # noqa: E402, F403
from .dtypes import *  # noqa: E402, F403
from .functions import *  # noqa: E402, F403
from .join import cat, concatenate, stack  # noqa: E402
from .nn import functional  # noqa: E402
from .ops import parallel  # noqa: E402
from .ops.conv import conv2d, threshold  # noqa: E402
from .ops.pool import avg_pool2d, max_pool2d  # noqa: E402
from .random import default_generator, manual_seed, seed  # noqa: E402
from .serialization import load, save  # noqa: E402
from .tensor import Tensor  # noqa: E402
from .tensor.reductions import ValuesIndices  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "Context", "no_grad", "enable_grad", "grad", "is_grad_enabled", "sum_to_shape",
    "concatenate", "cat", "stack", "conv2d", "threshold", "avg_pool2d", "max_pool2d", "functional", "nn", "optim",
    "save", "load", "viz", "detect_anomaly", "is_anomaly_enabled", "allocator", "parallel", "testing", "onnx",
    "ValuesIndices", "manual_seed", "seed", "default_generator", "random", "creation", "dtypes", "functions",
    *creation.__all__, *dtypes.__all__, *functions.__all__,
]
