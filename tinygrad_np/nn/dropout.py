"""Dropout layers: Dropout and Dropout2d, active in training mode only (see `tg.nn.functional.dropout`)."""
from __future__ import annotations

from typing import Any

from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .functional._common import check_probability
from .module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False, rng: Any = None):
        super().__init__()
        self.p = check_probability(p, type(self).__name__)
        self.inplace = inplace
        # an int seed becomes one generator for all calls; None draws from the default generator each call
        self.rng = None if rng is None else as_generator(rng, type(self).__name__)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout(_DropoutNd):
    """In training mode, zero each element with probability p and scale the rest by 1 / (1 - p);
    the identity in eval mode. Masks come from `rng` (an int seed, a np.random.Generator, or None
    for the default generator that `tg.manual_seed` seeds), drawn anew at every call."""

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training, rng=self.rng)


class Dropout2d(_DropoutNd):
    """In training mode, zero whole channels of (N, C, H, W) inputs with probability p and scale the
    rest by 1 / (1 - p); the identity in eval mode (masks from `rng`, as for Dropout)."""

    def forward(self, x: Any) -> Tensor:
        return F.dropout2d(x, self.p, self.training, rng=self.rng)
