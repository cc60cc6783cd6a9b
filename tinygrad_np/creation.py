"""Factories with PyTorch's names and keywords: `tg.tensor`, `tg.zeros(2, 3)`, `tg.randn(4, 5,
requires_grad=True)`, `tg.arange(10)`, `tg.zeros_like(x)`, ...

Sizes are ints or one tuple (`tg.zeros(2, 3)` or `tg.zeros((2, 3))`). Floats are float32 unless
`dtype` says otherwise; integer results (arange of ints, randint, full with an int) are int64.
Random factories draw from `generator` (a `np.random.Generator`, an int seed, or None for the
default generator that `tg.manual_seed` seeds); their values differ from PyTorch's for the same seed.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .random import as_generator
from .tensor import Tensor

__all__ = ["tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like",
           "empty_like", "arange", "linspace", "eye", "rand", "randn", "randint", "rand_like", "randn_like",
           "randperm"]


def _size(size: tuple[Any, ...], op: str) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in size):
        raise TypeError(f"{op}: size must be ints or one tuple of ints, got {size!r}")
    if any(n < 0 for n in size):
        raise ValueError(f"{op}: sizes must be non-negative, got {tuple(int(n) for n in size)}")
    return tuple(int(n) for n in size)


def _dtype(dtype: Any, default: Any, op: str) -> np.dtype:
    try:
        dt = np.dtype(default if dtype is None else dtype)
    except TypeError as exc:
        raise TypeError(f"{op}: {exc}") from None
    if dt.kind not in "biufc":
        raise TypeError(f"{op}: dtype {dt} is not supported; give a numeric dtype")
    return dt


def _make(arr: np.ndarray, requires_grad: bool, op: str) -> Tensor:
    if requires_grad and arr.dtype.kind not in "fc":
        raise TypeError(f"{op}: only floating point tensors can require grad, got dtype {arr.dtype}")
    return Tensor(arr, requires_grad=requires_grad, _copy=False)


def _inferred(value: Any) -> Any:
    """The dtype PyTorch gives a tensor made from the Python number `value`."""
    if isinstance(value, (bool, np.bool_)):
        return np.bool_
    if isinstance(value, (int, np.integer)):
        return np.int64
    return np.complex64 if isinstance(value, complex) else np.float32


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data`, like torch.tensor: Python floats become float32, an
    ndarray or a tensor keeps its dtype (`tg.Tensor(array)` would make float64 data float32)."""
    if dtype is None and isinstance(data, (np.ndarray, np.generic, Tensor)):
        dtype = data.dtype
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory and dtype (float64 stays float64), like torch.from_numpy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a np.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biufc":
        raise TypeError(f"from_numpy: arrays of dtype {array.dtype} are not supported; give numbers")
    return _make(array, False, "from_numpy")


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    return _make(np.zeros(_size(size, "zeros"), _dtype(dtype, np.float32, "zeros")), requires_grad, "zeros")


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _make(np.ones(_size(size, "ones"), _dtype(dtype, np.float32, "ones")), requires_grad, "ones")


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor whose values are whatever was in memory."""
    return _make(np.empty(_size(size, "empty"), _dtype(dtype, np.float32, "empty")), requires_grad, "empty")


def full(size: Any, fill_value: Any, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of `fill_value` (its dtype inferred as PyTorch: bool, int64, float32 or complex64)."""
    shape = _size((size,) if not isinstance(size, (tuple, list)) else tuple(size), "full")
    dt = _dtype(dtype, _inferred(fill_value), "full")
    return _make(np.full(shape, fill_value, dt), requires_grad, "full")


def _like(input: Any, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    return input


def zeros_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of input's shape (and dtype unless given)."""
    x = _like(input, "zeros_like")
    return zeros(x.shape, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of input's shape (and dtype unless given)."""
    x = _like(input, "ones_like")
    return ones(x.shape, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of input's shape (and dtype unless given)."""
    x = _like(input, "empty_like")
    return empty(x.shape, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """`fill_value` in input's shape (and dtype unless given)."""
    x = _like(input, "full_like")
    return full(x.shape, fill_value, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, *, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start + step, ... up to but excluding end (`arange(n)` is 0..n-1); int64 for int
    arguments, else float32."""
    if end is None:
        start, end = 0, start
    bounds = (start, end, step)
    if not all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in bounds):
        raise TypeError(f"arange: start, end and step must be numbers, got {bounds}")
    if step == 0 or not all(math.isfinite(v) for v in bounds):
        raise ValueError(f"arange: step must be nonzero and all bounds finite, got start={start}, end={end}, "
                         f"step={step}")
    ints = all(isinstance(v, (int, np.integer)) for v in bounds)
    dt = _dtype(dtype, np.int64 if ints else np.float32, "arange")
    values = np.arange(start, end, step, dtype=np.int64 if ints else np.float64)
    return _make(values.astype(dt), requires_grad, "arange")


def linspace(start: float, end: float, steps: int, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from start to end inclusive (float32 unless dtype is given)."""
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    values = np.linspace(start, end, int(steps))
    return _make(values.astype(_dtype(dtype, np.float32, "linspace")), requires_grad, "linspace")


def eye(n: int, m: int | None = None, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """An n x m (n x n by default) matrix with ones on the diagonal."""
    rows, cols = _size((n, n if m is None else m), "eye")
    return _make(np.eye(rows, cols, dtype=_dtype(dtype, np.float32, "eye")), requires_grad, "eye")


def _float_draw(draw: Any, shape: tuple[int, ...], dt: np.dtype, op: str) -> np.ndarray:
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating point type, got {dt}")
    native = dt if dt in (np.float32, np.float64) else np.float64  # what the generator draws directly
    return draw(shape, dtype=native).astype(dt, copy=False)


def rand(*size: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform draws from [0, 1)."""
    gen, dt = as_generator(generator, "rand"), _dtype(dtype, np.float32, "rand")
    return _make(_float_draw(gen.random, _size(size, "rand"), dt, "rand"), requires_grad, "rand")


def randn(*size: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal draws."""
    gen, dt = as_generator(generator, "randn"), _dtype(dtype, np.float32, "randn")
    return _make(_float_draw(gen.standard_normal, _size(size, "randn"), dt, "randn"), requires_grad, "randn")


def rand_like(input: Tensor, *, generator: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform draws from [0, 1) in input's shape (and dtype unless given)."""
    x = _like(input, "rand_like")
    return rand(x.shape, generator=generator, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad)


def randn_like(input: Tensor, *, generator: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal draws in input's shape (and dtype unless given)."""
    x = _like(input, "randn_like")
    return randn(x.shape, generator=generator, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad)


def randint(*args: Any, generator: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high): `randint(high, size)` or `randint(low, high, size)`
    (int64 unless dtype is given)."""
    if len(args) == 2:
        (high, size), low = args, 0
    elif len(args) == 3:
        low, high, size = args
    else:
        raise TypeError(f"randint: give (high, size) or (low, high, size), got {len(args)} arguments")
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (low, high)) or low >= high:
        raise ValueError(f"randint: need ints low < high, got low={low!r}, high={high!r}")
    shape = _size(tuple(size) if isinstance(size, (tuple, list)) else (size,), "randint")
    values = as_generator(generator, "randint").integers(low, high, size=shape, dtype=np.int64)
    return _make(values.astype(_dtype(dtype, np.int64, "randint")), requires_grad, "randint")


def randperm(n: int, *, generator: Any = None, dtype: Any = None) -> Tensor:
    """A random permutation of 0..n-1 (int64 unless dtype is given)."""
    (count,) = _size((n,), "randperm")
    values = as_generator(generator, "randperm").permutation(count)
    return _make(values.astype(_dtype(dtype, np.int64, "randperm")), False, "randperm")
