"""`tg.onnx.load`: an ONNX model as a `tg.nn.Module` of ordinary tinygrad_np ops.

Float initializers used as data become trainable `Parameter`s, registered under their ONNX
names: "conv1.weight" becomes submodule `conv1`, parameter `weight` (characters other than
letters, digits and "_" become "_"; `model.onnx_names` maps each parameter name back). In a file
written by `tg.onnx.export`, exactly the initializers it lists as parameters are trainable.
Initializers used only as shapes, axes, pads, bounds or BatchNormalization running statistics
are constants (`model.constants`). Every node is checked at load time; the model runs the
nodes in order on each call, so it draws with `tg.viz` and trains like any other module.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import _internals as I
from . import load_more_ops, load_nn_ops  # noqa: F401  (register their handlers)
from .export import PARAMETERS_KEY
from .load_ops import HANDLERS, STATIC_INPUTS, NodeInfo, Runner, Value, is_static

__all__ = ["load", "OnnxModule"]


class Step(NamedTuple):
    """One node, ready to run."""
    op: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    run: Runner


class _Container(I.Module):
    """Holds the parameters of one dotted-name prefix of a loaded ONNX model."""

    def forward(self, *args: Any) -> Any:
        raise RuntimeError(f"{self.path or 'this module'} only holds parameters of an ONNX model; "
                           "call the loaded model itself")


def _part(text: str) -> str:
    return re.sub(r"\W", "_", text) or "_"


def _register(root: I.Module, onnx_name: str, param: I.Parameter) -> str:
    """Attach `param` under the dotted ONNX name (sanitised; a "_" appended on a clash); its path."""
    module, path = root, []
    parts = [_part(p) for p in onnx_name.split(".")]
    for k, part in enumerate(parts):
        last, name = k == len(parts) - 1, part
        while True:
            existing = getattr(module, name, None)
            free = existing is None and not hasattr(module, name)
            if free or (not last and isinstance(existing, _Container)):
                break
            name += "_"
        if last:
            setattr(module, name, param)
        else:
            if getattr(module, name, None) is None:
                setattr(module, name, _Container())
            module = getattr(module, name)
        path.append(name)
    return ".".join(path)


class OnnxModule(I.Module):
    """A model read from an ONNX file; `forward(*inputs)` returns a Tensor (or a tuple for several outputs).

    Attributes: `onnx_names` (parameter name -> initializer name), `constants` (name -> array
    of the non-trainable initializers), `input_names`, `output_names`, `source` (the file).
    """

    def __init__(self, steps: list[Step], inputs: list[tuple[str, np.dtype]], output_names: list[str],
                 params: list[tuple[str, np.ndarray]], constants: dict[str, np.ndarray], source: str):
        super().__init__()
        self.source = source
        self.input_names = [name for name, _ in inputs]
        self.output_names = output_names
        self.constants = constants
        self._steps = steps
        self._input_dtypes = [dtype for _, dtype in inputs]
        self.onnx_names: dict[str, str] = {}
        for onnx_name, arr in params:
            self.onnx_names[_register(self, onnx_name, I.Parameter(arr, dtype=arr.dtype))] = onnx_name

    def forward(self, *inputs: Any) -> Any:
        if len(inputs) != len(self.input_names):
            raise TypeError(f"OnnxModule: {self.source} takes {len(self.input_names)} inputs "
                            f"({', '.join(self.input_names)}), got {len(inputs)}")
        env: dict[str, Value] = dict(self.constants)
        for name, p in self.named_parameters():
            env[self.onnx_names.get(name, name)] = p
        for name, x, dtype in zip(self.input_names, inputs, self._input_dtypes, strict=False):
            env[name] = x if isinstance(x, I.Tensor) else I.Tensor(x, dtype=dtype)
        for step in self._steps:
            try:
                outs = step.run([env[n] if n else None for n in step.inputs])
            except (ValueError, TypeError, IndexError) as exc:
                raise ValueError(f"{self.source}: node {step.name!r} ({step.op}): {exc}") from exc
            for name, value in zip(step.outputs, outs, strict=False):
                if name:  # NumPy may hand back scalars (np.take with a 0-d index): keep arrays
                    env[name] = np.asarray(value) if isinstance(value, np.generic) else value
        results = [env[n] for n in self.output_names]
        results = [I.Tensor(v, dtype=v.dtype) if is_static(v) else v for v in results]
        return results[0] if len(results) == 1 else tuple(results)

    def extra_repr(self) -> str:
        return f"source={self.source!r}, inputs={self.input_names}, outputs={self.output_names}"


def _attributes(onnx: Any, node: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in node.attribute:
        value = onnx.helper.get_attribute_value(a)
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        elif isinstance(value, onnx.TensorProto):
            value = onnx.numpy_helper.to_array(value)
        out[a.name] = value
    return out


def _read(onnx: Any, path: Path) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"tg.onnx.load: {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"tg.onnx.load: {str(path)!r} is a directory, not an ONNX file")
    try:
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
    except Exception as exc:  # protobuf DecodeError, checker ValidationError, missing external data...
        raise ValueError(f"tg.onnx.load: cannot read {str(path)!r} as an ONNX model: "
                         f"{type(exc).__name__}: {exc}") from None
    if not proto.graph.output:
        raise ValueError(f"tg.onnx.load: {str(path)!r} is not an ONNX model (its graph has no outputs)")
    return proto


def _opset(proto: Any, where: str) -> int:
    versions = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise ValueError(f"{where}: the model imports no default-domain opset")
    return int(versions[0])


def _trainable(proto: Any, arrays: dict[str, np.ndarray], where: str) -> set[str]:
    """Names of the initializers that become Parameters."""
    meta = {p.key: p.value for p in proto.metadata_props}
    if PARAMETERS_KEY in meta:
        try:
            listed = json.loads(meta[PARAMETERS_KEY])
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: metadata {PARAMETERS_KEY!r} is not a JSON list: {exc}") from None
        return {n for n in listed if n in arrays and arrays[n].dtype.kind == "f"}
    data_uses = {o.name for o in proto.graph.output}
    for node in proto.graph.node:
        static = STATIC_INPUTS.get(node.op_type, ())
        data_uses.update(n for k, n in enumerate(node.input) if k not in static)
    return {n for n, a in arrays.items() if a.dtype.kind == "f" and n in data_uses}


def load(path: str | os.PathLike[str]) -> OnnxModule:
    """Read an ONNX model as a trainable `tg.nn.Module` (see the module docstring for naming).

    Raises FileNotFoundError for a missing file and ValueError naming the path for a corrupt or
    invalid file, and naming the path and the op for an unsupported op or attribute.
    """
    onnx = I.require_onnx()
    source = str(path)
    where = f"tg.onnx.load: {source!r}"
    proto = _read(onnx, Path(path))
    graph = proto.graph
    opset = _opset(proto, where)
    if graph.sparse_initializer:
        raise ValueError(f"{where}: sparse initializers are not supported")
    unsupported = sorted({(f"{n.domain}::" if n.domain not in ("", "ai.onnx") else "") + n.op_type
                          for n in graph.node if n.domain not in ("", "ai.onnx") or n.op_type not in HANDLERS})
    if unsupported:
        raise ValueError(f"{where}: unsupported ONNX op{'s' if len(unsupported) > 1 else ''} "
                         f"{', '.join(unsupported)}; supported: {', '.join(sorted(HANDLERS))}")
    arrays = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    trainable = _trainable(proto, arrays, where)
    params = [(n, a) for n, a in arrays.items() if n in trainable]
    constants = {n: np.array(a) for n, a in arrays.items() if n not in trainable}
    inputs = []
    for value in graph.input:
        if value.name in arrays:  # old exporters list initializers as inputs too
            continue
        elem = value.type.tensor_type.elem_type
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem)) if elem else np.dtype(np.float32)
        inputs.append((value.name, dtype))
    steps = []
    for k, node in enumerate(graph.node):
        name = node.name or f"{node.op_type}_{k}"
        info = NodeInfo(node.op_type, name, _attributes(onnx, node), opset, list(node.output), onnx)
        try:
            run = HANDLERS[node.op_type](info)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{where}: node {name!r} ({node.op_type}): {exc}") from None
        steps.append(Step(node.op_type, name, tuple(node.input), tuple(node.output), run))
    return OnnxModule(steps, inputs, [o.name for o in graph.output], params, constants, source)
