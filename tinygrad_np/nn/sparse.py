"""Embedding: a lookup table of trainable vectors (see `tg.nn.functional.embedding`)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import functional as F
from . import init
from .args import float_dtype, positive_int
from .module import Module, Parameter


class Embedding(Module):
    """Vectors weight (num_embeddings, embedding_dim), initialised N(0, 1) like PyTorch (the row at
    padding_idx zero); `embedding(indices)` has shape indices.shape + (embedding_dim,). The row at
    padding_idx gets no gradient; max_norm rescales looked-up rows whose norm exceeds it."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, _weight: Any = None,
                 _freeze: bool = False, rng: np.random.Generator | int | None = None, dtype: Any = np.float32):
        super().__init__()
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx={padding_idx} must be within num_embeddings="
                                 f"{self.num_embeddings}")
            padding_idx = padding_idx % self.num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, float(norm_type)
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            self.weight = Parameter(np.zeros(shape), dtype=float_dtype(dtype, "Embedding"))
            self.reset_parameters(rng)
        else:
            w = np.asarray(_weight.data if isinstance(_weight, Tensor) else _weight)
            if w.shape != shape:
                raise ValueError(f"Embedding: _weight must have shape {shape}, got {w.shape}")
            self.weight = Parameter(w, dtype=w.dtype if w.dtype.kind == "f" else np.float32)
        self.weight.requires_grad_(not _freeze)

    def reset_parameters(self, rng: np.random.Generator | int | None = None) -> None:
        """Draw the weight from N(0, 1) and zero the padding row."""
        init.normal_(self.weight, 0.0, 1.0, rng=rng)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0) -> Embedding:
        """An Embedding holding a copy of `embeddings` (2-D); frozen (no grad) unless freeze=False."""
        arr = np.asarray(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if arr.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {arr.shape}")
        return cls(arr.shape[0], arr.shape[1], padding_idx, max_norm, norm_type, _weight=arr, _freeze=freeze)

    def forward(self, indices: Any) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx, self.max_norm, self.norm_type)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
