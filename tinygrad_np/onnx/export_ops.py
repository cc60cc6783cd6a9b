"""How each primitive op of tinygrad_np is written as ONNX nodes (the export mapping table).

`EMITTERS` maps the class name of an op's Function to a function that appends the op's nodes
to a `GraphBuilder`. Ops written as tensor code (softmax, mean, losses, ...) need no entry:
their primitives are exported one by one.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


class GraphBuilder:
    """Collects nodes and initializers with unique value names."""

    def __init__(self, onnx: Any, opset: int):
        self.onnx, self.opset = onnx, opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.used: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A value name not used yet, `hint` itself when free."""
        name, k = hint, 0
        while name in self.used:
            k += 1
            name = f"{hint}_{k}"
        self.used.add(name)
        return name

    def node(self, op: str, inputs: Sequence[str], output: str | None = None, **attrs: Any) -> str:
        """Append a node with one output (a fresh name unless given); returns the output name."""
        out = output if output is not None else self.fresh(op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out], name=out, **attrs))
        return out

    def const(self, array: Any, hint: str = "const") -> str:
        """An initializer holding `array`; returns its name."""
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def ints(self, values: Sequence[int], hint: str = "shape") -> str:
        """A 1-D int64 initializer (shapes, axes, pads)."""
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    def scalar(self, value: float, dtype: Any, hint: str = "scalar") -> str:
        """A 0-d initializer of the given dtype."""
        return self.const(np.asarray(value, dtype=dtype), hint)


@dataclass
class OpCall:
    """One recorded op as the emitters see it."""

    name: str                        # Function class name
    attrs: dict[str, Any]            # ctx.attrs
    inputs: list[str]                # ONNX value names of the inputs
    arrays: list[np.ndarray]         # the input arrays of the traced run
    output: str                      # ONNX value name to produce
    out_array: np.ndarray
    varying: list[frozenset[int]] = field(default_factory=list)  # per input: axes that follow the batch size
    out_varying: frozenset[int] = frozenset()                      # the output's axes that follow it


Emitter = Callable[[GraphBuilder, OpCall], None]


def _same(onnx_op: str) -> Emitter:
    def emit(b: GraphBuilder, c: OpCall) -> None:
        b.node(onnx_op, c.inputs, c.output)
    return emit


def _pow_scalar(b: GraphBuilder, c: OpCall) -> None:
    p = b.scalar(c.attrs["exponent"], c.arrays[0].dtype, "exponent")
    b.node("Pow", [c.inputs[0], p], c.output)


def _clip(b: GraphBuilder, c: OpCall) -> None:
    dt = c.arrays[0].dtype
    low, high = c.attrs["low"], c.attrs["high"]
    bounds = [b.scalar(v, dt, "clip_" + k) if v is not None else "" for k, v in (("min", low), ("max", high))]
    while bounds and bounds[-1] == "":
        bounds.pop()
    b.node("Clip", [c.inputs[0]] + bounds, c.output)


def _cast(b: GraphBuilder, c: OpCall) -> None:
    to = b.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(c.attrs["dtype"]))
    b.node("Cast", c.inputs, c.output, to=to)


def _reduce(onnx_op: str, axes_as_input_since: int) -> Emitter:
    def emit(b: GraphBuilder, c: OpCall) -> None:
        axes = tuple(c.attrs["axis"]) or tuple(range(c.arrays[0].ndim))
        keep = int(bool(c.attrs["keepdims"]))
        if b.opset >= axes_as_input_since:
            b.node(onnx_op, [c.inputs[0], b.ints(axes, "axes")], c.output, keepdims=keep)
        else:
            b.node(onnx_op, [c.inputs[0]], c.output, axes=list(axes), keepdims=keep)
    return emit


def _reshape(b: GraphBuilder, c: OpCall) -> None:
    """The traced target shape, with the one axis that follows the batch size written as 0 (copy
    the input's dim: same index, same size) or -1 (let ONNX infer it)."""
    target = list(c.out_array.shape)
    if len(c.out_varying) > 1:
        raise ValueError(f"onnx.export: reshape of {c.arrays[0].shape} to {c.out_array.shape}: axes "
                         f"{sorted(c.out_varying)} all follow the batch size, which one Reshape cannot express "
                         "for a dynamic batch; pass dynamic_batch=False")
    for axis in c.out_varying:
        same = axis in c.varying[0] and axis < c.arrays[0].ndim and c.arrays[0].shape[axis] == target[axis]
        target[axis] = 0 if same else -1
    b.node("Reshape", [c.inputs[0], b.ints(target)], c.output)


def _permute(b: GraphBuilder, c: OpCall) -> None:
    b.node("Transpose", c.inputs, c.output, perm=[int(a) for a in c.attrs["axes"]])


def _index_items(index: Any, ndim: int) -> list[Any]:
    """The index as a list with the Ellipsis expanded and trailing axes filled with full slices."""
    items = list(index) if isinstance(index, tuple) else [index]
    real = sum(1 for i in items if i is not None and i is not Ellipsis)
    fill: list[Any] = [slice(None)] * (ndim - real)
    ellipsis = [i is Ellipsis for i in items]
    if any(ellipsis):
        k = ellipsis.index(True)
        return items[:k] + fill + items[k + 1:]
    return items + fill


def _index(b: GraphBuilder, c: OpCall) -> None:
    shape = c.arrays[0].shape
    items = _index_items(c.attrs["index"], len(shape))
    arrays = [(k, i) for k, i in enumerate(items) if isinstance(i, np.ndarray)]
    if arrays:
        axis, idx = arrays[0]
        trivial = all(isinstance(i, slice) and i == slice(None) for k, i in enumerate(items) if k != axis)
        if len(arrays) > 1 or idx.dtype.kind == "b" or not trivial:
            raise ValueError("onnx.export: index: only basic indexing (ints, slices, None, ...) or one integer "
                             f"array on an otherwise untouched tensor can be exported, got {c.attrs['index']!r}")
        b.node("Gather", [c.inputs[0], b.const(idx.astype(np.int64), "indices")], c.output, axis=axis)
        return
    starts: list[int] = []
    ends: list[int] = []
    axes: list[int] = []
    steps: list[int] = []
    squeeze: list[int] = []
    unsqueeze: list[int] = []
    axis = out_pos = 0
    for item in items:  # the index as written (negative and omitted bounds kept), so any batch size works
        if item is None:
            unsqueeze.append(out_pos)
            out_pos += 1
            continue
        if isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            i = int(item)
            end = INT64_MAX if i == -1 else i + 1
            starts, ends, axes, steps = starts + [i], ends + [end], axes + [axis], steps + [1]
            squeeze.append(axis)
        elif isinstance(item, slice):
            if item != slice(None):
                step = 1 if item.step is None else int(item.step)
                start = int(item.start) if item.start is not None else (0 if step > 0 else INT64_MAX)
                stop = int(item.stop) if item.stop is not None else (INT64_MAX if step > 0 else INT64_MIN)
                starts, ends, axes, steps = starts + [start], ends + [stop], axes + [axis], steps + [step]
            out_pos += 1
        else:
            raise ValueError(f"onnx.export: index: cannot export index item {item!r} of {c.attrs['index']!r}")
        axis += 1
    value = c.inputs[0]
    if axes:
        value = b.node("Slice", [value, b.ints(starts, "starts"), b.ints(ends, "ends"), b.ints(axes, "axes"),
                                 b.ints(steps, "steps")], None if squeeze or unsqueeze else c.output)
    if squeeze:
        value = b.node("Squeeze", [value, b.ints(squeeze, "axes")], None if unsqueeze else c.output)
    if unsqueeze:
        value = b.node("Unsqueeze", [value, b.ints(unsqueeze, "axes")], c.output)
    if value != c.output:
        b.node("Identity", [value], c.output)


def _pad(b: GraphBuilder, c: OpCall) -> None:
    widths: tuple[tuple[int, int], ...] = c.attrs["pad_width"]
    pads = [lo for lo, _ in widths] + [hi for _, hi in widths]
    value = b.scalar(c.attrs["value"], c.arrays[0].dtype, "pad_value")
    b.node("Pad", [c.inputs[0], b.ints(pads, "pads"), value], c.output, mode="constant")


def _concat(b: GraphBuilder, c: OpCall) -> None:
    b.node("Concat", c.inputs, c.output, axis=int(c.attrs["axis"]))


def _pair(value: Any, default: int) -> tuple[int, int]:
    if value is None:
        return default, default
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    return int(value[0]), int(value[1])


def _pads(padding: Any) -> list[int]:
    """ONNX pads [top, left, bottom, right] from p, (ph, pw) or ((top, bottom), (left, right))."""
    if padding is None:
        return [0, 0, 0, 0]
    ph, pw = (padding, padding) if isinstance(padding, (int, np.integer)) else padding
    top, bottom = (ph, ph) if isinstance(ph, (int, np.integer)) else ph
    left, right = (pw, pw) if isinstance(pw, (int, np.integer)) else pw
    return [int(top), int(left), int(bottom), int(right)]


def _conv2d(b: GraphBuilder, c: OpCall) -> None:
    kh, kw = c.arrays[1].shape[2:]
    b.node("Conv", c.inputs, c.output, kernel_shape=[int(kh), int(kw)],
           strides=list(_pair(c.attrs.get("stride"), 1)), pads=_pads(c.attrs.get("padding")),
           dilations=list(_pair(c.attrs.get("dilation"), 1)), group=int(c.attrs.get("groups", 1)))


def _threshold(b: GraphBuilder, c: OpCall) -> None:
    ndim, channels = c.arrays[0].ndim, c.arrays[1].shape[0]
    t = b.node("Reshape", [c.inputs[1], b.ints([1, channels] + [1] * (ndim - 2))])
    b.node("Add", [c.inputs[0], t], c.output)


def _pool(onnx_op: str) -> Emitter:
    def emit(b: GraphBuilder, c: OpCall) -> None:
        kernel = _pair(c.attrs["kernel"], 1)
        attrs: dict[str, Any] = {"kernel_shape": list(kernel), "strides": list(_pair(c.attrs.get("stride"), 1)),
                                 "pads": _pads(c.attrs.get("padding")),
                                 "ceil_mode": int(bool(c.attrs.get("ceil_mode", False)))}
        if onnx_op == "AveragePool":
            attrs["count_include_pad"] = int(bool(c.attrs.get("count_include_pad", True)))
        b.node(onnx_op, c.inputs, c.output, **attrs)
    return emit


def _log1p(b: GraphBuilder, c: OpCall) -> None:
    b.node("Log", [b.node("Add", [c.inputs[0], b.scalar(1.0, c.arrays[0].dtype, "one")])], c.output)


def _expm1(b: GraphBuilder, c: OpCall) -> None:
    b.node("Sub", [b.node("Exp", c.inputs), b.scalar(1.0, c.arrays[0].dtype, "one")], c.output)


def _broadcast_to(b: GraphBuilder, c: OpCall) -> None:
    shape = [0 if axis in c.out_varying else n for axis, n in enumerate(c.out_array.shape)]
    if 0 in shape:  # the batch axis follows the input's: take it from the input's shape
        batch = b.node("Shape", [c.inputs[0]])
        shape_name = b.node("Where", [b.const(np.asarray(shape) == 0, "follows_batch"), batch, b.ints(shape)])
    else:
        shape_name = b.ints(shape)
    b.node("Expand", [c.inputs[0], shape_name], c.output)


def _conv_transpose(b: GraphBuilder, c: OpCall) -> None:
    """conv2d's input gradient used as a layer (conv_transpose2d): ConvTranspose, whose output
    size is fixed by output_padding."""
    kh, kw = c.arrays[1].shape[2:]
    (sh, sw), (ph, pw) = _pair(c.attrs.get("stride"), 1), _pair(c.attrs.get("padding"), 0)
    dh, dw = _pair(c.attrs.get("dilation"), 1)
    h, w = c.arrays[0].shape[2:]
    out_h, out_w = c.attrs["x_shape"][2:]
    extra = [out_h - ((h - 1) * sh - 2 * ph + dh * (kh - 1) + 1), out_w - ((w - 1) * sw - 2 * pw + dw * (kw - 1) + 1)]
    b.node("ConvTranspose", c.inputs, c.output, kernel_shape=[int(kh), int(kw)], strides=[sh, sw],
           pads=[ph, pw, ph, pw], dilations=[dh, dw], group=int(c.attrs.get("groups", 1)),
           output_padding=[int(e) for e in extra])


def _binary_cross_entropy(b: GraphBuilder, c: OpCall) -> None:
    p, y = c.inputs
    dt = c.arrays[0].dtype
    one, floor = b.scalar(1.0, dt, "one"), b.scalar(-100.0, dt, "log_floor")
    log_p = b.node("Clip", [b.node("Log", [p]), floor])                       # max(log p, -100)
    log_q = b.node("Clip", [b.node("Log", [b.node("Sub", [one, p])]), floor])  # max(log(1 - p), -100)
    terms = b.node("Add", [b.node("Mul", [y, log_p]), b.node("Mul", [b.node("Sub", [one, y]), log_q])])
    b.node("Neg", [terms], c.output)


EMITTERS: dict[str, Emitter] = {
    "Add": _same("Add"), "Sub": _same("Sub"), "Mul": _same("Mul"), "Div": _same("Div"), "Neg": _same("Neg"),
    "PowScalar": _pow_scalar, "Pow": _same("Pow"), "Exp": _same("Exp"), "Log": _same("Log"),
    "Sqrt": _same("Sqrt"), "Abs": _same("Abs"), "Sigmoid": _same("Sigmoid"), "Tanh": _same("Tanh"),
    "Relu": _same("Relu"), "Clip": _clip, "Cast": _cast,
    "Sum": _reduce("ReduceSum", 13), "Max": _reduce("ReduceMax", 18),
    "Reshape": _reshape, "Permute": _permute, "Index": _index, "Pad": _pad, "Concatenate": _concat,
    "MatMul": _same("MatMul"), "Conv2d": _conv2d, "Threshold": _threshold,
    "AvgPool2d": _pool("AveragePool"), "MaxPool2d": _pool("MaxPool"),
    "BinaryCrossEntropy": _binary_cross_entropy, "Softplus": _same("Softplus"),
    "Where": _same("Where"), "Maximum": _same("Max"), "Sign": _same("Sign"), "Sin": _same("Sin"),
    "Cos": _same("Cos"), "Erf": _same("Erf"), "Log1p": _log1p, "Expm1": _expm1,
    "BroadcastTo": _broadcast_to, "ConvInputGrad": _conv_transpose,
}
