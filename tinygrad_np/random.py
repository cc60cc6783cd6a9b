"""The default random generator, `manual_seed`, and `as_generator`, which every `rng` (and
`generator`) argument of the package goes through.

    tg.manual_seed(0)                    # layer init, tg.rand/randn/..., shuffling: reproducible
    tg.nn.Linear(3, 2, rng=0)            # or a seed (or a np.random.Generator) for one call

Draws come from NumPy's `np.random.Generator` (PCG64), so they differ from PyTorch's for the
same seed; what is reproducible is a run of this library with the same seeds.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["default_generator", "manual_seed", "seed", "as_generator"]

_default = np.random.default_rng()  # unseeded (OS entropy) until manual_seed is called


def default_generator() -> np.random.Generator:
    """The generator used wherever no `rng` is given (replaced by `manual_seed`)."""
    return _default


def manual_seed(seed: int) -> np.random.Generator:
    """Make the default generator a fresh `np.random.default_rng(seed)` and return it."""
    global _default
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _default = np.random.default_rng(int(seed))
    return _default


def seed() -> int:
    """Seed the default generator from OS entropy; returns the seed used (as torch.seed)."""
    value = int(np.random.SeedSequence().entropy) % (1 << 63)  # type: ignore[arg-type]
    manual_seed(value)
    return value


def as_generator(rng: Any, op: str = "rng") -> np.random.Generator:
    """`rng` as a Generator: None gives the default generator (advanced by the draws), an int a
    fresh `np.random.default_rng(rng)`, a Generator itself. `op` names the caller in errors."""
    if rng is None:
        return _default
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{op}: a seed must be a non-negative int, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{op}: rng must be None, an int seed or a np.random.Generator "
                    f"(e.g. np.random.default_rng(0)), got {type(rng).__name__}")
