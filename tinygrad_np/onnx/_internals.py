"""Everything the ONNX bridge needs from the rest of tinygrad_np, in one place.

The exporter records the primitive ops of one forward pass through the engine's forward hooks,
reads each op's `Context` (`.fn`, `.parents`, `.attrs`) and the tensors' arrays, and writes the
file with the package's atomic writer. The importer builds ordinary modules and tensor code
from the functions below. When those modules move, only this file changes.
"""
from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..autograd import function as autograd
from ..autograd import no_grad
from ..join import concatenate
from ..nn.functional import gelu, softplus
from ..nn.module import Module, Parameter
from ..ops.conv import conv2d
from ..ops.conv_transpose import conv_transpose2d
from ..ops.pool import avg_pool2d, max_pool2d
from ..ops.special import erf
from ..serialization import atomic_write as _atomic_write
from ..tensor import Tensor
from ..tensor.math import where

__all__ = ["Module", "Parameter", "Tensor", "no_grad", "conv2d", "avg_pool2d", "max_pool2d", "concatenate",
           "softplus", "gelu", "erf", "conv_transpose2d", "where", "Recorded", "record_ops",
           "op_name", "tensor_array", "atomic_write", "require_onnx", "INSTALL_HINT"]

INSTALL_HINT = 'pip install "tinygrad_np[onnx]"'

#: one executed primitive: (its Context, its output array)
Recorded = tuple[Any, np.ndarray]


def require_onnx() -> Any:
    """The `onnx` package, imported on first use; ImportError with the install command if missing."""
    try:
        return importlib.import_module("onnx")
    except ImportError as exc:
        raise ImportError(f"tg.onnx needs the onnx package: {INSTALL_HINT} ({exc})") from None


@contextlib.contextmanager
def record_ops() -> Iterator[list[Recorded]]:
    """Collect every primitive op run inside the block, in execution order, even under no_grad.

    Each entry keeps its output array alive, so array ids stay unique while the list lives.
    """
    ops: list[Recorded] = []

    def hook(ctx: Any, out: np.ndarray) -> None:
        ops.append((ctx, out))

    autograd._forward_hooks.append(hook)
    try:
        yield ops
    finally:
        autograd._forward_hooks.remove(hook)


def op_name(ctx: Any) -> str:
    """The class name of the op's Function (Add, Conv2d, PowScalar, ...): the key of the export table."""
    return str(ctx.fn.__name__)


def tensor_array(t: Tensor) -> np.ndarray:
    """The array behind a tensor (shared, not copied; `detach()` shares it too)."""
    return t._data


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a file through a temporary file next to it and a rename: all or nothing."""
    _atomic_write(path, write)
