"""Hypothesis strategies for property tests of tensor ops, and a one-line gradient assertion.

    from hypothesis import given
    from tinygrad_np.testing import strategies as tst

    @given(tst.tensors(shape=tst.shapes(max_dims=3)))
    def test_my_op_gradient(x):
        tst.assert_gradients_match(my_op, x)
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor
from .gradcheck import gradcheck


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5) -> st.SearchStrategy:
    """Array shapes with min_dims..max_dims axes of min_side..max_side elements."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 4,
                         max_side: int = 4) -> st.SearchStrategy:
    """Tuples of `num_shapes` mutually broadcastable shapes (some axes of size 1, some missing)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda b: b.input_shapes)


def _away_from(x: float, kinks: Sequence[float], margin: float) -> bool:
    return all(abs(x - k) >= margin for k in kinks)


def arrays(shape: Any, dtype: Any = np.float64, min_value: float = -3.0, max_value: float = 3.0,
           away_from: Sequence[float] = (), margin: float = 1e-2) -> st.SearchStrategy:
    """Float arrays of `shape` (a tuple or a strategy) with bounded, finite elements, each at
    least `margin` away from every value in `away_from` (the kinks of relu, abs, max...)."""
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False,
                         width=np.dtype(dtype).itemsize * 8)
    if away_from:
        elements = elements.filter(lambda x: _away_from(x, away_from, margin))
    return hnp.arrays(dtype=dtype, shape=shape, elements=elements)


def tensors(shape: Any = None, dtype: Any = np.float64, min_value: float = -3.0, max_value: float = 3.0,
            away_from: Sequence[float] = (), margin: float = 1e-2, requires_grad: bool = True,
            distinct: bool = False) -> st.SearchStrategy:
    """Tensors (float64 and requires_grad by default) built like `arrays`. With distinct=True
    the elements are pairwise at least `margin` apart (so max/min have a unique winner), drawn
    from a grid of that spacing (`away_from` is then ignored)."""
    shape = shapes() if shape is None else shape

    def build(arr: np.ndarray) -> Tensor:
        return Tensor(arr, dtype=arr.dtype, requires_grad=requires_grad)

    if distinct:  # unique points of the grid min_value + margin * k, so no two are closer than margin
        steps = int((max_value - min_value) / margin)
        grid = hnp.arrays(np.int64, shape, elements=st.integers(0, steps), unique=True)
        return grid.map(lambda k: (min_value + margin * k).astype(dtype)).map(build)
    strategy = arrays(shape, dtype, min_value, max_value, away_from, margin)
    return strategy.map(build)


def cotangents(shape: tuple[int, ...]) -> st.SearchStrategy:
    """Random float64 cotangents of `shape` (never constant, so permuted gradients show)."""
    return arrays(shape, np.float64, -2.0, 2.0)


@dataclass(frozen=True)
class ConvGeometry:
    """A consistent conv2d problem: input (batch, in_channels, height, width),
    weight (out_channels, in_channels / groups, *kernel), stride, padding and dilation as pairs."""
    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_channels // self.groups) + self.kernel

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        (kh, kw), (dh, dw) = self.kernel, self.dilation
        oh = (self.height + 2 * self.padding[0] - dh * (kh - 1) - 1) // self.stride[0] + 1
        ow = (self.width + 2 * self.padding[1] - dw * (kw - 1) - 1) // self.stride[1] + 1
        return (self.batch, self.out_channels, oh, ow)


@st.composite
def conv2d_geometries(draw: Callable, max_batch: int = 2, max_channels: int = 3, max_size: int = 7,
                      max_kernel: int = 4, max_stride: int = 3, max_padding: int = 2, max_dilation: int = 1,
                      max_groups: int = 1) -> ConvGeometry:
    """Conv2d problems whose (dilated) kernel fits the padded input: non-square kernels, strides,
    paddings, and with max_dilation / max_groups above 1, dilations and channel groups (channel
    counts are then multiples of the group count, up to max_channels per group)."""
    kh = draw(st.integers(1, max_kernel), label="kernel_h")
    kw = draw(st.integers(1, max_kernel), label="kernel_w")
    dh = draw(st.integers(1, max_dilation), label="dilation_h")
    dw = draw(st.integers(1, max_dilation), label="dilation_w")
    ph = draw(st.integers(0, max_padding), label="padding_h")
    pw = draw(st.integers(0, max_padding), label="padding_w")
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    h = draw(st.integers(max(1, span_h - 2 * ph), max(max_size, span_h)), label="height")
    w = draw(st.integers(max(1, span_w - 2 * pw), max(max_size, span_w)), label="width")
    groups = draw(st.integers(1, max_groups), label="groups")
    return ConvGeometry(
        batch=draw(st.integers(1, max_batch), label="batch"),
        in_channels=groups * draw(st.integers(1, max_channels), label="in_channels_per_group"),
        out_channels=groups * draw(st.integers(1, max_channels), label="out_channels_per_group"),
        height=h, width=w, kernel=(kh, kw),
        stride=(draw(st.integers(1, max_stride), label="stride_h"), draw(st.integers(1, max_stride), label="stride_w")),
        padding=(ph, pw), dilation=(dh, dw), groups=groups,
    )


@dataclass(frozen=True)
class PoolGeometry:
    """A consistent pooling problem: input (batch, channels, height, width), kernel and stride."""
    batch: int
    channels: int
    height: int
    width: int
    kernel: tuple[int, int]
    stride: tuple[int, int]

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.channels, self.height, self.width)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.channels, (self.height - self.kernel[0]) // self.stride[0] + 1,
                (self.width - self.kernel[1]) // self.stride[1] + 1)


@st.composite
def pool_geometries(draw: Callable, max_batch: int = 2, max_channels: int = 3, max_size: int = 8,
                    max_kernel: int = 3, max_stride: int = 3) -> PoolGeometry:
    """Pooling problems with kernel <= input, overlapping (stride < kernel) and gapped strides."""
    kh = draw(st.integers(1, max_kernel), label="kernel_h")
    kw = draw(st.integers(1, max_kernel), label="kernel_w")
    return PoolGeometry(
        batch=draw(st.integers(1, max_batch), label="batch"),
        channels=draw(st.integers(1, max_channels), label="channels"),
        height=draw(st.integers(kh, max(max_size, kh)), label="height"),
        width=draw(st.integers(kw, max(max_size, kw)), label="width"),
        kernel=(kh, kw),
        stride=(draw(st.integers(1, max_stride), label="stride_h"), draw(st.integers(1, max_stride), label="stride_w")),
    )


def assert_gradients_match(fn: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
                           rtol: float = 1e-3, cotangent: Sequence[np.ndarray] | None = None) -> None:
    """Assert that fn's gradients equal central differences (float64, random cotangent).

    Without `cotangent`, a random one is seeded from the input values, so a failing
    Hypothesis example replays exactly.
    """
    seed = zlib.crc32(b"".join(np.ascontiguousarray(getattr(x, "data", x)).tobytes() for x in inputs))
    gradcheck(fn, *inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=True, seed=seed,
              cotangent=cotangent)
