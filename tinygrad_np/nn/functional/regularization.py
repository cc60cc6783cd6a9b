"""Dropout as in torch.nn.functional, with the random masks drawn from an explicit generator.

`rng` is an int seed, a `np.random.Generator` (drawn from, so successive calls differ) or
None (the default generator, which `tg.manual_seed` seeds). While training, each element (dropout) or each whole
channel (dropout2d) is kept with probability 1 - p and scaled by 1 / (1 - p); p = 1 gives
zeros. With training=False the input is returned unchanged. Composites: the input times a
constant mask.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...random import as_generator
from ...tensor import Tensor
from ._common import check_probability, constant, lift

__all__ = ["dropout", "dropout2d"]


def _masked(x: Tensor, p: float, mask_shape: tuple[int, ...], rng: np.random.Generator) -> Tensor:
    keep = rng.random(mask_shape) >= p  # kept with probability 1 - p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return x * constant(keep * scale, x)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, rng: Any = None) -> Tensor:
    """Zero each element with probability p and scale the others by 1 / (1 - p) (when training).

    `inplace=True` is accepted for PyTorch's signature and computes out of place.
    """
    p = check_probability(p, "dropout")
    x = lift(input)
    if not training or p == 0.0:
        return x
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: input must be floating point, got dtype {x.dtype}")
    return _masked(x, p, x.shape, as_generator(rng, "dropout"))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, rng: Any = None) -> Tensor:
    """Zero whole channels of x (N, C, H, W) (or unbatched (C, H, W)) with probability p and scale the
    others by 1 / (1 - p) (when training)."""
    p = check_probability(p, "dropout2d")
    x = lift(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {x.shape}")
    if not training or p == 0.0:
        return x
    if x.dtype.kind != "f":
        raise TypeError(f"dropout2d: input must be floating point, got dtype {x.dtype}")
    mask_shape = x.shape[:-2] + (1, 1)  # one draw per channel
    return _masked(x, p, mask_shape, as_generator(rng, "dropout2d"))
