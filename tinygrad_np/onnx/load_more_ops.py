"""ONNX import of the ops added with the PyTorch-style API: Erf, Gelu, Sin, Cos, Sign, Max, Min, Trilu,
Where and ConvTranspose (each runs as the framework's op of the same meaning)."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _internals as I
from .load_ops import NodeInfo, Runner, Value, array, handler, is_static, tensor

_ELEMENTWISE: dict[str, Any] = {
    "Erf": I.erf, "Sin": lambda t: t.sin(), "Cos": lambda t: t.cos(), "Sign": lambda t: t.sign(),
}


@handler(*_ELEMENTWISE)
def _elementwise(node: NodeInfo) -> Runner:
    fn = _ELEMENTWISE[node.op]
    return lambda ins: [fn(tensor(ins[0]))]


@handler("Gelu")
def _gelu(node: NodeInfo) -> Runner:
    approximate = node.attr("approximate", "none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else str(approximate)
    return lambda ins: [I.gelu(tensor(ins[0]), approximate=approximate)]


@handler("Max", "Min")
def _max_min(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        if all(is_static(v) for v in ins):  # shape arithmetic stays static
            arrays = np.broadcast_arrays(*(array(v, node.op) for v in ins))
            return [(np.maximum if node.op == "Max" else np.minimum).reduce(arrays)]
        out = tensor(ins[0], ins[1] if len(ins) > 1 else None)
        for v in ins[1:]:
            out = out.maximum(tensor(v, out)) if node.op == "Max" else out.minimum(tensor(v, out))
        return [out]
    return run


@handler("Where", static=(0,))
def _where(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        cond, x, y = ins
        if is_static(x) and is_static(y):
            return [np.where(array(cond, "Where condition"), x, y)]
        like = x if not is_static(x) else y
        return [I.where(array(cond, "Where condition").astype(bool), tensor(x, like), tensor(y, like))]
    return run


@handler("ConvTranspose")
def _conv_transpose(node: NodeInfo) -> Runner:
    kernel = node.attr("kernel_shape")
    if kernel is not None and len(kernel) != 2:
        raise ValueError(f"ConvTranspose: only 2-D transposed convolutions are supported, got kernel_shape {kernel}")
    if node.attr("output_shape") is not None:
        raise ValueError("ConvTranspose: the output_shape attribute is not supported (give pads and output_padding)")
    auto_pad = node.attr("auto_pad", "NOTSET")
    if (auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)) not in ("NOTSET", "VALID"):
        raise ValueError(f"ConvTranspose: auto_pad {auto_pad!r} is not supported")
    strides = list(node.attr("strides", [1, 1]))
    dilations = list(node.attr("dilations", [1, 1]))
    output_padding = list(node.attr("output_padding", [0, 0]))
    top, left, bottom, right = list(node.attr("pads", [0, 0, 0, 0]))
    if (top, left) != (bottom, right):
        raise ValueError(f"ConvTranspose: uneven pads {[top, left, bottom, right]} are not supported")
    group = int(node.attr("group", 1))

    def run(ins: list[Value]) -> list[Value]:
        x = tensor(ins[0])
        w = tensor(ins[1], x)
        b = tensor(ins[2], x) if len(ins) > 2 and ins[2] is not None else None
        if x.ndim != 4:
            raise ValueError(f"ConvTranspose: only 2-D transposed convolutions are supported, got input {x.shape}")
        # (N, C_in, H, W) x (C_in, C_out/group, KH, KW) -> (N, C_out, OH, OW)
        return [I.conv_transpose2d(x, w, b, tuple(strides), (top, left), tuple(output_padding), group,
                                   tuple(dilations))]
    return run


@handler("Trilu", static=(1,))
def _trilu(node: NodeInfo) -> Runner:
    upper = bool(node.attr("upper", 1))

    def run(ins: list[Value]) -> list[Value]:
        k = int(array(ins[1], "Trilu k").reshape(())) if len(ins) > 1 and ins[1] is not None else 0
        x = ins[0]
        if is_static(x):
            return [np.triu(x, k) if upper else np.tril(x, k)]
        t = tensor(x)
        return [t.triu(k) if upper else t.tril(k)]
    return run
