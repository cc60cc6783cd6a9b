"""`tg.onnx.export`: run one forward pass and write the recorded ops as an ONNX model.

Every primitive op run during the pass is recorded through the engine's forward hooks (so
`no_grad`, inputs without grad and `detach()` inside the model do not hide ops), and the ops
that the outputs depend on become ONNX nodes (mapping table: export_ops.EMITTERS). Values are
matched by their arrays: a detached tensor shares its array with the tensor it was cut from.

Parameters become initializers named by `named_parameters()`; other constant leaves become
initializers too. The names of the trainable ones are listed in the model's metadata under
"tinygrad_np.parameters", which `tg.onnx.load` reads back.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from . import _internals as I
from .export_batch import Varying, grown, varying_axes
from .export_ops import EMITTERS, GraphBuilder, OpCall

__all__ = ["export", "DEFAULT_OPSET", "MIN_OPSET", "PARAMETERS_KEY"]

#: opset written when `opset=None`: opset 17 (ONNX 1.12, 2022) is read by onnxruntime >= 1.12
DEFAULT_OPSET = 17
MIN_OPSET = 13
PARAMETERS_KEY = "tinygrad_np.parameters"

Model = I.Module | Callable[..., Any]


def _check_opset(onnx: Any, opset: int | None) -> int:
    newest = int(onnx.defs.onnx_opset_version())
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"onnx.export: opset must be an int from {MIN_OPSET} to {newest} (the newest this onnx "
                         f"package knows), got {opset!r}")
    return int(opset)


def _as_inputs(example_input: Any) -> list[I.Tensor]:
    """Fresh tensors (own arrays) for the example input(s)."""
    items = list(example_input) if isinstance(example_input, (list, tuple)) else [example_input]
    if not items:
        raise ValueError("onnx.export: example_input is empty; give a tensor or a tuple of tensors")
    out = []
    for k, x in enumerate(items):
        t = I.Tensor(x, dtype=x.dtype) if isinstance(x, I.Tensor) else I.Tensor(x)
        if t.dtype.kind not in "biuf":
            raise TypeError(f"onnx.export: example input {k} has dtype {t.dtype}; give real numbers")
        out.append(t)
    return out


def _names(given: Sequence[str] | None, n: int, default: str, what: str) -> list[str]:
    if given is None:
        return [default] if n == 1 else [f"{default}_{k}" for k in range(n)]
    names = list(given)
    if len(names) != n or not all(isinstance(s, str) and s for s in names) or len(set(names)) != n:
        raise ValueError(f"onnx.export: {what} must be {n} distinct non-empty strings (one per {what[:-6]}), "
                         f"got {given!r}")
    return names


@contextlib.contextmanager
def _eval_mode(model: Model) -> Iterator[None]:
    """Trace in inference mode; restore every module's training flag afterwards."""
    if not isinstance(model, I.Module):
        yield
        return
    flags = [(m, bool(getattr(m, "training", True))) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


def _as_outputs(result: Any) -> list[I.Tensor]:
    items = list(result) if isinstance(result, (list, tuple)) else [result]
    if not items or not all(isinstance(t, I.Tensor) for t in items):
        raise TypeError("onnx.export: the model must return a Tensor or a tuple/list of Tensors, got "
                        f"{type(result).__name__}")
    return items


def _needed(ops: list[I.Recorded], outputs: list[I.Tensor], leaves: set[int]) -> list[int]:
    """Indices of the recorded ops the outputs depend on, in execution order."""
    producer: dict[int, int] = {}
    for k, (_, out) in enumerate(ops):
        producer[id(out)] = k
    needed: set[int] = set()
    stack = [id(I.tensor_array(t)) for t in outputs]
    while stack:
        key = stack.pop()
        op = producer.get(key)
        if key in leaves or op is None or op in needed:
            continue
        needed.add(op)
        stack.extend(id(I.tensor_array(p)) for p in ops[op][0].parents)
    return sorted(needed)


def _trace(model: Model, inputs: list[I.Tensor]) -> tuple[list[I.Tensor], list[I.Recorded]]:
    """Outputs and recorded ops of one forward pass in eval mode."""
    with _eval_mode(model), I.no_grad(), I.record_ops() as ops:
        outputs = _as_outputs(model(*inputs))
    return outputs, ops


def _dims(t: I.Tensor, axes: frozenset, batch: int | None) -> list[Any]:
    """Shape for a graph input/output: "batch" where an axis follows the batch size one to one."""
    dims: list[Any] = list(t.shape)
    for a in axes:
        dims[a] = "batch" if dims[a] == batch else None
    return dims


def _graph(onnx: Any, model: Model, inputs: list[I.Tensor], outputs: list[I.Tensor], ops: list[I.Recorded],
           order: list[int], varying: Varying, names: tuple[list[str], list[str]],
           opset: int) -> tuple[Any, list[str]]:
    """The GraphProto and the names of the trainable initializers."""
    helper = onnx.helper
    input_names, output_names = names
    b = GraphBuilder(onnx, opset)
    b.used.update(input_names + output_names)
    values: dict[int, str] = {id(I.tensor_array(t)): n for t, n in zip(inputs, input_names, strict=False)}
    params = {id(I.tensor_array(p)): n for n, p in model.named_parameters()} if isinstance(model, I.Module) else {}
    leaves: dict[int, I.Tensor] = {}
    for k in order:
        for p in ops[k][0].parents:
            leaves.setdefault(id(I.tensor_array(p)), p)
    trainable: list[str] = []
    for key, name in params.items():  # parameters first, in named_parameters() order
        if key in leaves and key not in values:
            values[key] = b.const(I.tensor_array(leaves[key]), name)
            trainable.append(values[key])
    wanted: dict[int, str] = {}
    for t, name in zip(outputs, output_names, strict=False):
        wanted.setdefault(id(I.tensor_array(t)), name)

    for k in order:
        ctx, out = ops[k]
        op = I.op_name(ctx)
        emit = EMITTERS.get(op)
        if emit is None:
            raise ValueError(f"onnx.export: op {ctx.op_name!r} (Function {op}) has no ONNX mapping; "
                             f"exportable ops: {', '.join(sorted(EMITTERS))}")
        in_names = []
        for p in ctx.parents:
            key = id(I.tensor_array(p))
            if key not in values:  # a leaf met for the first time
                values[key] = b.const(I.tensor_array(p), (p.name or "param") if p.requires_grad else "const")
                if p.requires_grad:
                    trainable.append(values[key])
            in_names.append(values[key])
        out_name = wanted.pop(id(out), None) or b.fresh(ctx.op_name)
        arrays = [I.tensor_array(p) for p in ctx.parents]
        emit(b, OpCall(op, dict(ctx.attrs), in_names, arrays, out_name, out,
                       [varying.get(id(a), frozenset()) for a in arrays], varying.get(id(out), frozenset())))
        values[id(out)] = out_name

    batch = inputs[0].shape[0] if varying else None
    graph_outputs = []
    for t, name in zip(outputs, output_names, strict=False):
        key = id(I.tensor_array(t))
        if key not in values:  # an output that is a constant leaf
            values[key] = b.const(I.tensor_array(t), "const")
        if values[key] != name:
            b.node("Identity", [values[key]], name)
        elem = helper.np_dtype_to_tensor_dtype(t.dtype)
        graph_outputs.append(helper.make_tensor_value_info(name, elem, _dims(t, varying.get(key, frozenset()), batch)))
    graph_inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(t.dtype),
                                                  _dims(t, varying.get(id(I.tensor_array(t)), frozenset()), batch))
                    for t, name in zip(inputs, input_names, strict=False)]
    graph = helper.make_graph(b.nodes, "tinygrad_np", graph_inputs, graph_outputs, b.initializers)
    return graph, trainable


def export(model: Model, example_input: Any, path: str | os.PathLike[str],
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           opset: int | None = None, dynamic_batch: bool = True) -> None:
    """Write `model` (a `tg.nn.Module` or a function of tensors) as an ONNX file at `path`.

    One forward pass on `example_input` (a Tensor or array, or a tuple of them; arrays become
    float32 as in `tg.Tensor`) is recorded in eval mode. With `dynamic_batch`, axis 0 of every
    input (and every output axis that follows it) is the symbolic dimension "batch"; a second
    pass at batch size N + 1 finds the axes that follow the batch (export_batch.py). `opset`
    defaults to `DEFAULT_OPSET` (17). An op without an ONNX mapping raises ValueError naming it; the file
    is written atomically, so a failed export leaves no file (and any previous file untouched).
    """
    onnx = I.require_onnx()
    opset = _check_opset(onnx, opset)
    if not callable(model):
        raise TypeError(f"onnx.export: model must be a tg.nn.Module or a callable, got {type(model).__name__}")
    inputs = _as_inputs(example_input)
    if dynamic_batch:
        sizes = {t.shape[0] if t.ndim else None for t in inputs}
        if None in sizes or 0 in sizes or len(sizes) != 1:
            raise ValueError("onnx.export: with dynamic_batch=True every input needs the same batch size on "
                             f"axis 0, got shapes {[t.shape for t in inputs]}; pass dynamic_batch=False")
    in_names = _names(input_names, len(inputs), "input", "input_names")
    outputs, ops = _trace(model, inputs)
    out_names = _names(output_names, len(outputs), "output", "output_names")
    if set(in_names) & set(out_names):
        raise ValueError(f"onnx.export: input and output names overlap: {sorted(set(in_names) & set(out_names))}")
    order = _needed(ops, outputs, {id(I.tensor_array(t)) for t in inputs})
    varying: Varying = {}
    if dynamic_batch:  # a second pass at batch size N + 1 shows which axes follow the batch
        more = grown(inputs)
        more_outputs, more_ops = _trace(model, more)
        varying = varying_axes(ops, more_ops, order, (inputs, more), (outputs, more_outputs))
    graph, trainable = _graph(onnx, model, inputs, outputs, ops, order, varying, (in_names, out_names), opset)
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="tinygrad_np",
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets))
    onnx.helper.set_model_props(proto, {PARAMETERS_KEY: json.dumps(trainable)})
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()

    def write(f: BinaryIO) -> None:
        f.write(data)

    I.atomic_write(Path(path), write)
