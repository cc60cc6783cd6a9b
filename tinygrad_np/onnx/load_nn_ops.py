"""ONNX ops as tinygrad_np code, part 2: conv, pooling, Gemm, normalisation, softmax, reductions,
Clip and Pad. Registered into load_ops.HANDLERS on import."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import composites as C
from .load_ops import (
    NodeInfo,
    Runner,
    Tensor,
    Value,
    array,
    axes_arg,
    axes_in,
    handler,
    int_list,
    is_static,
    shape_of,
    tensor,
)


def _auto_pad(node: NodeInfo) -> str:
    mode = node.attr("auto_pad", "NOTSET")
    if mode not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise ValueError(f"{node.op}: auto_pad {mode!r} is not supported")
    return str(mode)


def _pads(node: NodeInfo, sizes: tuple[int, ...], kernel: list[int], strides: list[int],
          dilations: list[int]) -> list[int]:
    """Explicit pads [begin..., end...] from `pads` or `auto_pad`."""
    mode = _auto_pad(node)
    if mode == "VALID":
        return [0] * (2 * len(sizes))
    if mode.startswith("SAME"):
        return C.same_pads(sizes, kernel, strides, dilations, mode == "SAME_UPPER")
    return list(node.attr("pads", [0] * (2 * len(sizes))))


def _spatial_rank(node: NodeInfo) -> int | None:
    kernel = node.attr("kernel_shape")
    if kernel is not None and len(kernel) not in (1, 2):
        raise ValueError(f"{node.op}: only 1-D and 2-D kernels are supported, got kernel_shape {kernel}")
    return None if kernel is None else len(kernel)


def _as_2d(x: Tensor, rank: int) -> Tensor:
    """(N, C, L) -> (N, C, 1, L) so that 1-D ops run as 2-D ones."""
    return x.reshape(x.shape[:2] + (1,) + x.shape[2:]) if rank == 1 else x


def _lift_1d(values: list[int], rank: int, fill: int) -> list[int]:
    """Per-axis values (or pads [begin, end]) of a 1-D op for its 2-D form."""
    if rank == 2:
        return values
    if len(values) == 2:  # pads
        return [fill, values[0], fill, values[1]]
    return [fill] + values


@handler("Conv")
def _conv(node: NodeInfo) -> Runner:
    _spatial_rank(node)
    group = int(node.attr("group", 1))

    def run(ins: list[Value]) -> list[Value]:
        x, w = tensor(ins[0]), tensor(ins[1], ins[0])
        b = tensor(ins[2], x) if len(ins) > 2 and ins[2] is not None else None
        rank = x.ndim - 2
        if rank not in (1, 2) or w.ndim != x.ndim:
            raise ValueError(f"Conv: only 1-D and 2-D convolutions are supported, got input {x.shape}, "
                             f"weight {w.shape}")
        kernel = list(w.shape[2:])
        strides = list(node.attr("strides", [1] * rank))
        dilations = list(node.attr("dilations", [1] * rank))
        pads = _pads(node, x.shape[2:], kernel, strides, dilations)
        out = C.conv(_as_2d(x, rank), _as_2d(w, rank), b, tuple(_lift_1d(strides, rank, 1)),  # type: ignore[arg-type]
                     _lift_1d(pads, rank, 0), tuple(_lift_1d(dilations, rank, 1)), group)  # type: ignore[arg-type]
        return [out.reshape(out.shape[:2] + out.shape[3:]) if rank == 1 else out]
    return run


@handler("MaxPool", "AveragePool")
def _pool(node: NodeInfo) -> Runner:
    rank = _spatial_rank(node)
    if rank is None:
        raise ValueError(f"{node.op}: kernel_shape is required")
    kernel = list(node.attr("kernel_shape"))
    if any(d != 1 for d in node.attr("dilations", [1] * rank)):
        raise ValueError(f"{node.op}: dilations {node.attr('dilations')} are not supported (only 1)")
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ValueError(f"{node.op}: the Indices output is not supported")
    strides = list(node.attr("strides", [1] * rank))
    ceil_mode = bool(node.attr("ceil_mode", 0))
    include_pad = bool(node.attr("count_include_pad", 0))

    def run(ins: list[Value]) -> list[Value]:
        x = tensor(ins[0])
        if x.ndim != rank + 2:
            raise ValueError(f"{node.op}: input {x.shape} does not fit kernel_shape {kernel}")
        pads = _lift_1d(_pads(node, x.shape[2:], kernel, strides, [1] * rank), rank, 0)
        k2, s2 = tuple(_lift_1d(kernel, rank, 1)), tuple(_lift_1d(strides, rank, 1))
        if node.op == "MaxPool":
            out = C.max_pool(_as_2d(x, rank), k2, s2, pads, ceil_mode)  # type: ignore[arg-type]
        else:
            out = C.avg_pool(_as_2d(x, rank), k2, s2, pads, ceil_mode, include_pad)  # type: ignore[arg-type]
        return [out.reshape(out.shape[:2] + out.shape[3:]) if rank == 1 else out]
    return run


@handler("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        x = tensor(ins[0])
        axes = tuple(range(2, x.ndim))
        return [x.mean(axes, keepdims=True) if node.op == "GlobalAveragePool" else x.amax(axes, keepdim=True)]
    return run


@handler("Gemm")
def _gemm(node: NodeInfo) -> Runner:
    alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
    trans_a, trans_b = bool(node.attr("transA", 0)), bool(node.attr("transB", 0))

    def run(ins: list[Value]) -> list[Value]:
        a = tensor(ins[0], ins[1])
        b = tensor(ins[1], a)
        a, b = (a.transpose() if trans_a else a), (b.transpose() if trans_b else b)
        y = a @ b  # (M, K) x (K, N) -> (M, N)
        if alpha != 1.0:
            y = y * alpha
        if len(ins) > 2 and ins[2] is not None:
            c = tensor(ins[2], y)
            y = y + (c * beta if beta != 1.0 else c)
        return [y]
    return run


@handler("BatchNormalization", static=(3, 4))
def _batch_norm(node: NodeInfo) -> Runner:
    if node.attr("training_mode", 0):
        raise ValueError("BatchNormalization: training_mode=1 is not supported (inference form only)")
    if any(node.outputs[1:]):
        raise ValueError("BatchNormalization: the running-statistics outputs (training form) are not supported")
    eps = float(node.attr("epsilon", 1e-5))

    def run(ins: list[Value]) -> list[Value]:
        x = tensor(ins[0])
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        mean = array(ins[3], "BatchNormalization mean").astype(x.dtype)  # running stats: constants
        var = array(ins[4], "BatchNormalization var").astype(x.dtype)
        inv_std = (1.0 / np.sqrt(var + np.asarray(eps, dtype=x.dtype))).astype(x.dtype)
        scale = tensor(ins[1], x) * inv_std                              # (C,)
        return [(x - mean.reshape(shape)) * scale.reshape(shape) + tensor(ins[2], x).reshape(shape)]
    return run


@handler("Softmax", "LogSoftmax")
def _softmax(node: NodeInfo) -> Runner:
    legacy = node.opset < 13  # before 13: softmax over the flattened dims from axis on
    axis = int(node.attr("axis", 1 if legacy else -1))

    def run(ins: list[Value]) -> list[Value]:
        x = tensor(ins[0])
        fn = (lambda t, a: t.softmax(a)) if node.op == "Softmax" else (lambda t, a: t.log_softmax(a))
        if not legacy:
            return [fn(x, axis)]
        a = axis % x.ndim
        flat = x.reshape(int(np.prod(x.shape[:a])), int(np.prod(x.shape[a:])))
        return [fn(flat, 1).reshape(x.shape)]
    return run


@handler("LeakyRelu")
def _leaky_relu(node: NodeInfo) -> Runner:
    alpha = float(node.attr("alpha", 0.01))

    def run(ins: list[Value]) -> list[Value]:
        x = tensor(ins[0])
        return [x.relu() - (-x).relu() * alpha]  # max(x, 0) + alpha * min(x, 0)
    return run


_REDUCE_AXES_INPUT_SINCE = {"ReduceSum": 13, "ReduceMean": 18, "ReduceMax": 18}


@handler("ReduceSum", "ReduceMean", "ReduceMax", static=(1,))
def _reduce(node: NodeInfo) -> Runner:
    keep = bool(node.attr("keepdims", 1))
    noop = bool(node.attr("noop_with_empty_axes", 0))

    def run(ins: list[Value]) -> list[Value]:
        x = ins[0]
        ndim = len(shape_of(x))
        axes = axes_arg(node, ins, _REDUCE_AXES_INPUT_SINCE[node.op])
        if not axes:
            if noop:
                return [x]
            axes = list(range(ndim))
        ax = tuple(axes_in(axes, ndim, node.op))
        if is_static(x):
            fn: Any = {"ReduceSum": np.sum, "ReduceMean": np.mean, "ReduceMax": np.max}[node.op]
            return [np.asarray(fn(x, axis=ax, keepdims=keep)).astype(np.asarray(x).dtype)]
        t = tensor(x)
        if node.op == "ReduceSum":
            return [t.sum(ax, keepdims=keep)]
        return [t.mean(ax, keepdims=keep) if node.op == "ReduceMean" else t.amax(ax, keepdim=keep)]
    return run


def _bound(v: Value, what: str) -> float | None:
    if v is None:
        return None
    arr = array(v, what)
    if arr.size != 1:
        raise ValueError(f"{what} must be a scalar, got shape {arr.shape}")
    return float(arr.reshape(()))


@handler("Clip", static=(1, 2))
def _clip(node: NodeInfo) -> Runner:
    def run(ins: list[Value]) -> list[Value]:
        if node.opset < 11:
            low, high = node.attr("min"), node.attr("max")
        else:
            low = _bound(ins[1], "Clip min") if len(ins) > 1 else None
            high = _bound(ins[2], "Clip max") if len(ins) > 2 else None
        x = ins[0]
        if is_static(x):
            return [np.clip(x, low, high)]
        return [tensor(x).clip(low, high)]
    return run


@handler("Pad", static=(1, 2, 3))
def _pad(node: NodeInfo) -> Runner:
    mode = node.attr("mode", "constant")
    if mode != "constant":
        raise ValueError(f"Pad: mode {mode!r} is not supported (only 'constant')")

    def run(ins: list[Value]) -> list[Value]:
        x = ins[0]
        ndim = len(shape_of(x))
        if node.opset < 11:
            pads, value = list(node.attr("pads")), float(node.attr("value", 0.0))
            axes = list(range(ndim))
        else:
            pads = int_list(ins[1], "Pad pads")
            given = _bound(ins[2], "Pad constant_value") if len(ins) > 2 else None
            value = 0.0 if given is None else given
            axes = (axes_in(int_list(ins[3], "Pad axes"), ndim, "Pad") if len(ins) > 3 and ins[3] is not None
                    else list(range(ndim)))
        if len(pads) != 2 * len(axes) or min(pads, default=0) < 0:
            raise ValueError(f"Pad: pads {pads} must be {2 * len(axes)} non-negative ints")
        widths = [(0, 0)] * ndim
        for k, a in enumerate(axes):
            widths[a] = (pads[k], pads[k + len(axes)])
        if is_static(x):
            return [np.pad(x, widths, constant_values=value)]
        return [tensor(x).pad(tuple(widths), value=value)]
    return run
