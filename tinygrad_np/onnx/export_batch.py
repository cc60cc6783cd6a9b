"""Which axes follow the batch size: compare two traces of the same model at batch sizes N and N+1.

With a dynamic batch the exporter runs the forward pass twice. Every recorded op must be the
same op with the same attributes in both runs (Reshape excepted: its target shape is rewritten
with 0 or -1 on the varying axis), and every constant the same array; otherwise the graph
depends on the batch size in a way one ONNX graph cannot express, and export says so.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _internals as I

Varying = dict[int, frozenset]  # id(array of the first trace) -> axes whose size follows the batch

_HINT = "pass dynamic_batch=False to export for this batch size only"


def grown(inputs: list[I.Tensor]) -> list[I.Tensor]:
    """The inputs with one more example on axis 0 (the first one repeated)."""
    return [I.Tensor(np.concatenate([I.tensor_array(t), I.tensor_array(t)[:1]]), dtype=t.dtype) for t in inputs]


def _axes(a: np.ndarray, b: np.ndarray, what: str) -> frozenset:
    if a.ndim != b.ndim:
        raise ValueError(f"onnx.export: {what} has {a.ndim} dims at one batch size and {b.ndim} at another; {_HINT}")
    return frozenset(i for i in range(a.ndim) if a.shape[i] != b.shape[i])


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, slice) and isinstance(b, slice):
        return _same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def varying_axes(first: list[I.Recorded], second: list[I.Recorded], order: list[int],
                 inputs: tuple[list[I.Tensor], list[I.Tensor]],
                 outputs: tuple[list[I.Tensor], list[I.Tensor]]) -> Varying:
    """The varying axes of every input, needed op output and leaf of the first trace.

    Raises ValueError when the two traces differ in their ops, an op's attributes (other than a
    reshape's target) or a constant.
    """
    names = [I.op_name(c) for c, _ in first]
    if names != [I.op_name(c) for c, _ in second]:
        raise ValueError("onnx.export: the model runs different ops at batch sizes "
                         f"{inputs[0][0].shape[0]} and {inputs[1][0].shape[0]}; {_HINT}")
    varying: Varying = {}
    for t1, t2 in zip(*inputs, strict=False):
        varying[id(I.tensor_array(t1))] = _axes(I.tensor_array(t1), I.tensor_array(t2), "an input")
    for k in order:
        (c1, o1), (c2, o2) = first[k], second[k]
        op = c1.op_name
        if names[k] != "Reshape" and not _same(_without_batch(c1.attrs), _without_batch(c2.attrs)):
            raise ValueError(f"onnx.export: the attributes of {op} depend on the batch size ({c1.attrs} at one "
                             f"size, {c2.attrs} at another); {_HINT}")
        for j, (p1, p2) in enumerate(zip(c1.parents, c2.parents, strict=False)):
            a1, a2 = I.tensor_array(p1), I.tensor_array(p2)
            if id(a1) in varying:
                continue
            if a1 is not a2 and not _same(a1, a2):  # a constant made inside the forward pass
                raise ValueError(f"onnx.export: input {j} of {op} is a constant that depends on the batch size "
                                 f"(shape {a1.shape} at one size, {a2.shape} at another); {_HINT}")
            varying[id(a1)] = frozenset()
        varying[id(o1)] = _axes(o1, o2, f"the output of {op}")
    for t1, t2 in zip(*outputs, strict=False):
        key = id(I.tensor_array(t1))
        if key not in varying:
            varying[key] = _axes(I.tensor_array(t1), I.tensor_array(t2), "an output")
    return varying


def _without_batch(attrs: dict) -> dict:
    """An op's attributes without the batch size that a transposed convolution's output shape holds."""
    if "x_shape" not in attrs:
        return attrs
    return {**attrs, "x_shape": tuple(attrs["x_shape"])[1:]}
