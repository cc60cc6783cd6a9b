"""ONNX ops as tinygrad_np code (the import mapping table), part 1: values, elementwise, shapes.

A value while a loaded model runs is a `Tensor` (data that may carry gradients) or a NumPy array
(a static value: constants, shapes and the arithmetic on them, evaluated with NumPy at run time,
so shape chains follow the batch size of each call). A handler is built once per node at load
time (checking its attributes) and returns a runner: list of input values -> list of outputs.
Neural-network ops live in load_nn_ops.py.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _internals as I

if TYPE_CHECKING:  # pragma: no cover
    from typing import TypeGuard

Tensor = I.Tensor
Value = Tensor | np.ndarray | None
Runner = Callable[[list[Value]], list[Value]]


@dataclass
class NodeInfo:
    """What a handler may read of a node: op type, name, attributes (as Python/NumPy values)."""

    op: str
    name: str
    attrs: dict[str, Any]
    opset: int
    outputs: list[str]
    onnx: Any

    def attr(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)


Builder = Callable[[NodeInfo], Runner]
HANDLERS: dict[str, Builder] = {}
#: input positions that must be static (shapes, axes, pads, bounds, running stats): an
#: initializer used only there becomes a constant, not a Parameter
STATIC_INPUTS: dict[str, tuple[int, ...]] = {}


def handler(*ops: str, static: tuple[int, ...] = ()) -> Callable[[Builder], Builder]:
    """Register `fn` as the builder of `ops`."""
    def register(fn: Builder) -> Builder:
        for op in ops:
            HANDLERS[op] = fn
            STATIC_INPUTS[op] = static
        return fn
    return register


# ------------------------------------------------------------------ value helpers
def is_static(v: Value) -> TypeGuard[np.ndarray]:
    """True for a static value (a NumPy array), False for a Tensor or a missing input."""
    return isinstance(v, np.ndarray)


def tensor(v: Value, like: Value | None = None) -> Tensor:
    """`v` as a Tensor; a static float/int array takes the float dtype of `like`."""
    if isinstance(v, Tensor):
        return v
    if v is None:
        raise ValueError("a required input is missing")
    arr = np.asarray(v)
    if isinstance(like, (Tensor, np.ndarray)) and like.dtype.kind == "f" and arr.dtype.kind in "biuf":
        arr = arr.astype(like.dtype)
    return Tensor(arr, dtype=arr.dtype)


def array(v: Value, what: str) -> np.ndarray:
    """A static value (a tensor's data if a tensor comes: such inputs carry no gradient)."""
    if v is None:
        raise ValueError(f"{what} is missing")
    return np.asarray(I.tensor_array(v) if isinstance(v, Tensor) else v)


def int_list(v: Value, what: str) -> list[int]:
    arr = array(v, what)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{what} must be integers, got dtype {arr.dtype}")
    return [int(i) for i in arr.reshape(-1)]


def shape_of(v: Value) -> tuple[int, ...]:
    return tuple(v.shape)  # type: ignore[union-attr]


def axes_in(axes: Sequence[int], ndim: int, what: str) -> list[int]:
    """Axes normalised to [0, ndim)."""
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{what}: axis {a} is out of range for rank {ndim}")
        out.append(a % ndim)
    return out


def axes_arg(node: NodeInfo, ins: list[Value], since: int) -> list[int] | None:
    """The `axes` of a node: an attribute before opset `since`, the second input from then on."""
    if node.opset < since:
        got = node.attr("axes")
        return None if got is None else [int(a) for a in got]
    return int_list(ins[1], "axes") if len(ins) > 1 and ins[1] is not None else None


def reshape(v: Value, shape: Sequence[int]) -> Value:
    return np.reshape(v, tuple(shape)) if is_static(v) else tensor(v).reshape(tuple(shape))


# ---------------------------------------------------------------- elementwise
def _np_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":  # ONNX integer division truncates toward zero
        return np.sign(a) * np.sign(b) * (np.abs(a) // np.abs(b))
    return np.asarray(a / b)


_BINARY: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    "Add": (np.add, operator.add), "Sub": (np.subtract, operator.sub), "Mul": (np.multiply, operator.mul),
    "Div": (_np_div, operator.truediv), "Pow": (np.power, operator.pow),
}


@handler("Add", "Sub", "Mul", "Div", "Pow")
def _binary(node: NodeInfo) -> Runner:
    on_arrays, on_tensors = _BINARY[node.op]

    def run(ins: list[Value]) -> list[Value]:
        a, b = ins[0], ins[1]
        if is_static(a) and is_static(b):
            return [np.asarray(on_arrays(a, b)).astype(np.asarray(a).dtype)]
        if node.op == "Pow" and is_static(b) and np.size(b) == 1 and isinstance(a, Tensor):
            return [a ** float(np.asarray(b).reshape(()))]
        if isinstance(a, Tensor):
            return [on_tensors(a, tensor(b, a))]
        return [on_tensors(tensor(a, b), b)]
    return run


_UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    "Relu": lambda t: t.relu(), "Sigmoid": lambda t: t.sigmoid(), "Tanh": lambda t: t.tanh(),
    "Exp": lambda t: t.exp(), "Log": lambda t: t.log(), "Sqrt": lambda t: t.sqrt(), "Neg": lambda t: -t,
    "Abs": lambda t: t.abs(), "Softplus": I.softplus,
}


@handler(*_UNARY)
def _unary(node: NodeInfo) -> Runner:
    fn = _UNARY[node.op]

    def run(ins: list[Value]) -> list[Value]:
        x = ins[0]
        if is_static(x) and node.op in ("Neg", "Abs"):  # shape arithmetic stays static
            return [np.negative(x) if node.op == "Neg" else np.abs(x)]
        return [fn(tensor(x))]
    return run


@handler("Identity")
def _identity(node: NodeInfo) -> Runner:
    return lambda ins: [ins[0]]


@handler("Dropout", static=(1, 2))
def _dropout(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:  # inference: the identity, and an all-true mask
        return [ins[0], np.ones(shape_of(ins[0]), dtype=bool)]
    return run


def _cast_to(x: Value, dtype: np.dtype) -> Value:
    if is_static(x) or dtype.kind != "f":  # casts to integers carry no gradient
        return array(x, "Cast input").astype(dtype)
    return tensor(x).astype(dtype)


@handler("Cast")
def _cast(node: NodeInfo) -> Runner:
    dtype = np.dtype(node.onnx.helper.tensor_dtype_to_np_dtype(node.attr("to")))
    return lambda ins: [_cast_to(ins[0], dtype)]


@handler("CastLike", static=(1,))
def _cast_like(node: NodeInfo) -> Runner:
    return lambda ins: [_cast_to(ins[0], np.dtype(ins[1].dtype))]  # type: ignore[union-attr]


# ------------------------------------------------------------- static values
@handler("Constant")
def _constant(node: NodeInfo) -> Runner:
    for key, dtype in (("value", None), ("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in node.attrs:
            value = np.asarray(node.attrs[key], dtype=dtype)
            return lambda ins: [value.copy()]
    raise ValueError(f"Constant: attributes {sorted(node.attrs)} are not supported (value, value_float(s), "
                     "value_int(s) are)")


@handler("ConstantOfShape", static=(0,))
def _constant_of_shape(node: NodeInfo) -> Runner:
    fill = np.asarray(node.attr("value", np.zeros(1, np.float32))).reshape(-1)
    return lambda ins: [np.full(int_list(ins[0], "ConstantOfShape shape"), fill[0], dtype=fill.dtype)]


@handler("Shape")
def _shape(node: NodeInfo) -> Runner:
    start, end = node.attr("start", 0), node.attr("end")
    return lambda ins: [np.asarray(shape_of(ins[0])[start:end], dtype=np.int64)]


@handler("Size")
def _size(node: NodeInfo) -> Runner:
    return lambda ins: [np.asarray(int(np.prod(shape_of(ins[0]))), dtype=np.int64)]


# ---------------------------------------------------------------- movement
@handler("Reshape", static=(1,))
def _reshape(node: NodeInfo) -> Runner:
    allowzero = bool(node.attr("allowzero", 0))

    def run(ins: list[Value]) -> list[Value]:
        x, target = ins[0], int_list(ins[1], "Reshape shape")
        shape = shape_of(x)
        if not allowzero:
            target = [shape[i] if d == 0 else d for i, d in enumerate(target)]
        return [reshape(x, target)]
    return run


@handler("Flatten")
def _flatten(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        shape = shape_of(ins[0])
        axis = node.attr("axis", 1)
        axis = axis + len(shape) if axis < 0 else axis
        return [reshape(ins[0], (int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))))]
    return run


@handler("Transpose")
def _transpose(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        x = ins[0]
        perm = node.attr("perm") or list(range(len(shape_of(x))))[::-1]
        return [np.transpose(x, perm) if is_static(x) else tensor(x).permute(tuple(perm))]
    return run


@handler("Squeeze", static=(1,))
def _squeeze(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        shape = shape_of(ins[0])
        axes = axes_arg(node, ins, 13)
        drop = set(axes_in(axes, len(shape), "Squeeze") if axes is not None else
                   [i for i, n in enumerate(shape) if n == 1])
        if any(shape[a] != 1 for a in drop):
            raise ValueError(f"Squeeze: axes {sorted(drop)} of shape {shape} are not all of size 1")
        return [reshape(ins[0], [n for i, n in enumerate(shape) if i not in drop])]
    return run


@handler("Unsqueeze", static=(1,))
def _unsqueeze(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        shape = list(shape_of(ins[0]))
        axes = axes_arg(node, ins, 13) or []
        for a in sorted(axes_in(axes, len(shape) + len(axes), "Unsqueeze")):
            shape.insert(a, 1)
        return [reshape(ins[0], shape)]
    return run


@handler("Concat")
def _concat(node: NodeInfo) -> Runner:
    axis = int(node.attr("axis", 0))

    def run(ins: list[Value]) -> list[Value]:
        parts = [v for v in ins if v is not None]
        if all(is_static(v) for v in parts):
            return [np.concatenate([np.asarray(v) for v in parts], axis=axis)]
        like = next(v for v in parts if isinstance(v, Tensor))
        return [I.concatenate([tensor(v, like) for v in parts], axis)]
    return run


@handler("Gather", static=(1,))
def _gather(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        x, idx = ins[0], array(ins[1], "Gather indices")
        axis = axes_in([node.attr("axis", 0)], len(shape_of(x)), "Gather")[0]
        if is_static(x):
            return [np.take(x, idx, axis=axis)]
        index = idx.astype(np.int64) % shape_of(x)[axis]
        picked = int(index) if index.ndim == 0 else index
        return [tensor(x)[(slice(None),) * axis + (picked,)]]
    return run


@handler("Slice", static=(1, 2, 3, 4))
def _slice(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        x = ins[0]
        ndim = len(shape_of(x))
        if node.opset < 10:
            starts, ends = list(node.attr("starts")), list(node.attr("ends"))
            axes = list(node.attr("axes", range(len(starts))))
            steps = [1] * len(starts)
        else:
            starts, ends = int_list(ins[1], "Slice starts"), int_list(ins[2], "Slice ends")
            axes = int_list(ins[3], "Slice axes") if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
            steps = int_list(ins[4], "Slice steps") if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
        index: list[Any] = [slice(None)] * ndim
        for a, start, end, step in zip(axes_in(axes, ndim, "Slice"), starts, ends, steps, strict=False):
            if step == 0:
                raise ValueError("Slice: steps must not be 0")
            index[a] = slice(start, end, step)
        return [x[tuple(index)]]  # type: ignore[index]
    return run


@handler("Expand", static=(1,))
def _expand(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        x, shape = ins[0], int_list(ins[1], "Expand shape")
        if is_static(x):
            return [np.array(x * np.ones(shape, dtype=np.asarray(x).dtype))]
        t = tensor(x)
        return [t + np.zeros(shape, dtype=t.dtype)]  # broadcasting; backward sums back to x's shape
    return run


@handler("MatMul")
def _matmul(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        a, b = ins[0], ins[1]
        if is_static(a) and is_static(b):
            return [np.matmul(a, b)]
        a = tensor(a, b)
        return [a @ tensor(b, a)]  # (..., M, K) x (..., K, N) -> (..., M, N)
    return run
