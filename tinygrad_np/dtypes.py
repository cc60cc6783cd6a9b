"""PyTorch's dtype names as NumPy types: `tg.float32`, `tg.long`, `tg.bool`, ...

    x = tg.zeros(3, dtype=tg.float64)
    x.dtype == tg.float64               # True: a NumPy dtype compares equal to its type

Any NumPy dtype (np.float32, "float64") is accepted wherever these are.
"""
from __future__ import annotations

import numpy as np

__all__ = ["float16", "float32", "float64", "half", "float", "double", "int8", "int16", "int32", "int64",
           "short", "int", "long", "uint8", "bool", "complex64", "complex128", "cfloat", "cdouble"]

float16 = half = np.float16
float32 = float = np.float32
float64 = double = np.float64
int8 = np.int8
int16 = short = np.int16
int32 = int = np.int32
int64 = long = np.int64
uint8 = np.uint8
bool = np.bool_
complex64 = cfloat = np.complex64
complex128 = cdouble = np.complex128
