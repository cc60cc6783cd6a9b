"""Checks of layer constructor arguments, shared by the layers of `tg.nn`."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..random import as_generator
from . import init
from .module import Parameter


def positive_int(value: Any, name: str, layer: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def float_dtype(dtype: Any, layer: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"{layer}: dtype must be a floating point type, got {dt}")
    return dt


def reset_default(weight: Parameter, bias: Parameter | None, rng: np.random.Generator | int | None,
                  layer: str = "reset_parameters") -> None:
    """PyTorch's default init: kaiming_uniform(a=sqrt(5)) for the weight, U(+-1/sqrt(fan_in)) for the bias,
    drawn from `rng` (None: the default generator, see `tg.manual_seed`; or an int seed)."""
    rng = as_generator(rng, layer)
    init.kaiming_uniform_(weight, a=math.sqrt(5), rng=rng)
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight.shape)
        bound = 1.0 / math.sqrt(fan_in)
        init.uniform_(bias, -bound, bound, rng=rng)
