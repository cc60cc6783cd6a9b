"""State dicts of modules: the arrays of every parameter and persistent buffer by dotted name.

Keys and their order are PyTorch's: a pre-order walk of the module tree where each module
lists its own parameters, then its persistent buffers, then its children (a module or
parameter reachable under two names appears under both, as in PyTorch), so
`{k: v.numpy() for k, v in torch_model.state_dict().items()}` loads into the same model
built here, and back.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..tensor import Tensor

if TYPE_CHECKING:  # pragma: no cover
    from .module import Module


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` skipped."""
    missing_keys: list[str]
    unexpected_keys: list[str]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def state_entries(module: Module, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
    """(dotted name, tensor) of every parameter and persistent buffer, in PyTorch's order.

    Iterative (an explicit stack): no recursion limit, no self-referencing closure.
    """
    stack: list[tuple[str, Module]] = [(prefix, module)]
    while stack:
        path, m = stack.pop()
        for name, value in m._members.items():
            if isinstance(value, Tensor):  # a Parameter (the other members are modules)
                yield _join(path, name), value
        for name, buf in m._buffers.items():
            if buf is not None and name not in m._non_persistent:
                yield _join(path, name), buf
        stack.extend(reversed([(_join(path, n), c) for n, c in m.named_children()]))


def state_dict(module: Module) -> dict[str, np.ndarray]:
    """Copies of the arrays of `state_entries(module)`."""
    return {name: t.data.copy() for name, t in state_entries(module)}


def load_state_dict(module: Module, state: Mapping, strict: bool = True) -> IncompatibleKeys:
    """Copy arrays from `state` into the module's parameters and buffers (see Module.load_state_dict)."""
    owner = type(module).__name__
    if not isinstance(state, Mapping):
        raise TypeError(f"{owner}.load_state_dict: expected a mapping of name -> array, "
                        f"got {type(state).__name__}")
    targets = dict(state_entries(module))
    missing = [k for k in targets if k not in state]
    unexpected = [str(k) for k in state if k not in targets]
    bad: list[str] = []
    arrays: dict[str, np.ndarray] = {}
    for name, t in targets.items():
        if name not in state:
            continue
        value = state[name]
        data = value.data if isinstance(value, Tensor) else value
        arr = np.asarray(data.numpy() if hasattr(data, "numpy") else data)
        if arr.dtype.kind not in "biuf":
            bad.append(f"{name}: expected numbers, got {type(value).__name__} of dtype {arr.dtype}")
        elif arr.shape != t.shape:
            bad.append(f"{name}: expected {t.shape}, got {arr.shape}")
        else:
            arrays[name] = arr
    if bad or (strict and (missing or unexpected)):
        lines = [f"{owner}.load_state_dict: the state does not match the model:"]
        if missing and strict:
            lines.append("  missing keys: " + ", ".join(missing))
        if unexpected and strict:
            lines.append("  unexpected keys: " + ", ".join(unexpected))
        if bad:
            lines.append("  mis-shaped or invalid entries:")
            lines.extend("    " + b for b in bad)
        raise ValueError("\n".join(lines))
    for name, arr in arrays.items():
        target = targets[name]
        target.data[...] = arr.astype(target.dtype, copy=False)
    return IncompatibleKeys(missing, unexpected)
