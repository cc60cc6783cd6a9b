"""Lookups as in torch.nn.functional: embedding and one_hot."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...tensor import Tensor
from ._common import constant, int_array, lift

__all__ = ["embedding", "one_hot"]


def _check_indices(op: str, idx: np.ndarray, size: int, what: str) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx[(idx < 0) | (idx >= size)][0]
        raise ValueError(f"{op}: index {bad} is out of range for {size} {what} (indices from {idx.min()} "
                         f"to {idx.max()})")


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0) -> Tensor:
    """Rows of weight (num_embeddings, D) picked by the integer indices in `input`: shape input.shape + (D,).

    The row at padding_idx gets no gradient. With max_norm, every row looked up whose norm_type-norm
    exceeds max_norm is first rescaled in place to norm max_norm (as PyTorch does, outside the tape).
    """
    idx = int_array(input, "embedding", "indices")
    weight = lift(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    num = weight.shape[0]
    _check_indices("embedding", idx, num, "embeddings")
    if max_norm is not None:
        rows = np.unique(idx)
        norms = np.linalg.norm(weight.data[rows].astype(np.float64), ord=norm_type, axis=1)
        over = norms > max_norm
        scale = max_norm / (norms[over] + 1e-7)
        weight.data[rows[over]] *= scale[:, None].astype(weight.dtype)
    out = weight[idx]  # (*input.shape, D)
    if padding_idx is not None:
        pad = padding_idx + num if padding_idx < 0 else padding_idx
        if not 0 <= pad < num:
            raise ValueError(f"embedding: padding_idx={padding_idx} is out of range for {num} embeddings")
        is_pad = idx == pad
        if is_pad.any():  # padded positions read the row without passing a gradient to it
            keep = constant(~is_pad[..., None], out)
            out = out * keep + weight.detach()[idx] * (1.0 - keep)
    return out


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Integer class indices of any shape -> int64 tensor of shape (*shape, num_classes) with a 1 at each
    index (num_classes=-1: the largest index + 1)."""
    idx = int_array(tensor, "one_hot", "class indices")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be a non-negative int or -1, got {num_classes!r}")
    _check_indices("one_hot", idx, int(num_classes), "classes")
    out = np.zeros(idx.shape + (int(num_classes),), dtype=np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.int64), 1, axis=-1)
    return Tensor(out)
