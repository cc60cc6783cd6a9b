"""Array helpers shared by the ops' backward passes: a zeroed accumulator, a sum of arrays."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def accumulator(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A zero-filled array to accumulate into with `+=`.

    np.zeros maps fresh pages of a large array to the shared zero page, so `+=` faults on every
    page twice (the read, then the copy-on-write); filling np.empty memory faults once.
    """
    out = np.empty(shape, dtype=dtype)
    out.fill(0)
    return out


def sum_of(arrays: Sequence[np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
    """Elementwise sum of equally shaped arrays, into `out` (a new array if None; `out` may be
    arrays[0] itself, to add the rest into it)."""
    if len(arrays) == 1:
        if out is None:
            return arrays[0].copy()
        if out is not arrays[0]:
            np.copyto(out, arrays[0])
        return out
    out = np.add(arrays[0], arrays[1], out=out)
    for part in arrays[2:]:
        out += part
    return out
