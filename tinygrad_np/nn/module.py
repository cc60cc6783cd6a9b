"""`Parameter` and `Module`: the bookkeeping behind `tg.nn` (import them from `tg.nn`).

A Module registers every attribute that is a Parameter or a Module, in assignment order.
Names are dotted paths: when a Module is assigned as attribute `conv1` of another module,
its path becomes "conv1" (recursively, "net.conv1" deeper down) and each of its Parameters
is renamed to its full path, so `param.name` reads "conv1.weight" in error messages and
drawings. `named_parameters()` gives names relative to the module it is called on.

Calling a module runs `forward` inside `autograd.name_scope`, so every op recorded gets a
`ctx.scope`: the ops of a submodule whose path is "net.conv1" get a scope ending with
("net", "conv1") (the components the enclosing calls already pushed are not repeated); a
root module (no path) adds nothing, so ops written directly in the root's forward have the
scope of the caller (usually ()).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..autograd.grad_mode import current_scope, name_scope
from ..tensor import Tensor

__all__ = ["Parameter", "Module", "RemovableHandle", "IncompatibleKeys"]

ForwardHook = Callable[["Module", tuple[Any, ...], Any], Any]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Parameter(Tensor):
    """A Tensor that always requires grad and is collected by `Module.parameters()`.

    Float data becomes float32 unless `dtype` is given (as for Tensor); the data is copied.
    """

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        arr = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
        if arr.dtype.kind not in "fc":
            raise TypeError(f"Parameter: data must be floating point, got dtype {arr.dtype} "
                            "(pass dtype=np.float32 to convert)")
        super().__init__(data, requires_grad=True, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):].replace(", requires_grad=True", "")


class RemovableHandle:
    """Returned by `register_forward_hook`; `remove()` unregisters the hook (idempotent)."""

    def __init__(self, hooks: dict[int, ForwardHook], key: int):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks.pop(self._key, None)


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` skipped."""
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers and models: subclass it, assign layers/Parameters, define `forward`."""

    _next_hook_id = 0
    # set with object.__setattr__ in __init__ (they must not go through the registration below)
    _members: dict[str, Any]
    _forward_hooks: dict[int, ForwardHook]
    _path: str
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_members", {})  # name -> Parameter | Module, in assignment order
        object.__setattr__(self, "_forward_hooks", {})
        object.__setattr__(self, "_path", "")
        object.__setattr__(self, "training", True)

    # ----------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        members = self.__dict__.get("_members")
        if isinstance(value, (Parameter, Module)):
            if members is None:
                raise RuntimeError(f"{type(self).__name__}: call super().__init__() at the start of __init__ "
                                   f"before assigning parameters or submodules (assigning {name!r})")
            if isinstance(value, Module) and any(m is self for m in value.modules()):
                raise ValueError(f"{type(self).__name__}: cannot assign {name!r}: the module contains "
                                 f"{type(self).__name__} itself, which would make a cycle")
            members[name] = value
            object.__setattr__(self, name, value)
            self._name_member(name, value)
            return
        if members is not None and name in members:
            del members[name]
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self.__dict__.get("_members", {}).pop(name, None)
        object.__delattr__(self, name)

    def _name_member(self, name: str, value: Parameter | Module) -> None:
        full = _join(self._path, name)
        if isinstance(value, Parameter):
            value.name = full
        else:
            value._set_path(full)

    def _set_path(self, path: str) -> None:
        object.__setattr__(self, "_path", path)
        for name, value in self._members.items():
            self._name_member(name, value)

    @property
    def path(self) -> str:
        """Dotted path of this module inside the module that owns it ("" for a root)."""
        return self._path

    # -------------------------------------------------------------- traversal
    def named_children(self) -> list[tuple[str, Module]]:
        """Direct submodules with their attribute names."""
        return [(n, m) for n, m in self._members.items() if isinstance(m, Module)]

    def children(self) -> list[Module]:
        """Direct submodules."""
        return [m for _, m in self.named_children()]

    def named_modules(self) -> list[tuple[str, Module]]:
        """This module ("") and every submodule, pre-order, each once, with dotted names."""
        out: list[tuple[str, Module]] = []
        seen: set = set()

        def visit(module: Module, prefix: str) -> None:
            if id(module) in seen:
                return
            seen.add(id(module))
            out.append((prefix, module))
            for name, child in module.named_children():
                visit(child, _join(prefix, name))

        visit(self, "")
        return out

    def modules(self) -> list[Module]:
        """This module and every submodule, pre-order."""
        return [m for _, m in self.named_modules()]

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """Every parameter once, in assignment order (submodules expanded in place), dotted names."""
        out: list[tuple[str, Parameter]] = []
        _collect_parameters(self, "", set(), out)
        return out

    def parameters(self) -> list[Parameter]:
        """Every parameter once, in the order of `named_parameters()`."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """Total number of scalar parameters."""
        return sum(p.numel() for p in self.parameters())

    # ----------------------------------------------------------------- calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module; call the module itself (`module(x)`), which runs hooks and
        names the recorded ops after the module."""
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Module must define forward()")

    def _scope_parts(self) -> tuple[str, ...]:
        """The path components not already at the end of the current scope."""
        parts = tuple(self._path.split(".")) if self._path else ()
        scope = current_scope()
        for k in range(len(parts) - 1, 0, -1):
            if scope[len(scope) - k:] == parts[:k]:
                return parts[k:]
        return parts

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with contextlib.ExitStack() as stack:
            for part in self._scope_parts():
                stack.enter_context(name_scope(part))
            out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, args, out)
            if replaced is not None:
                out = replaced
        return out

    def register_forward_hook(self, hook: ForwardHook) -> RemovableHandle:
        """Call `hook(module, inputs, output)` after each forward; a non-None result replaces the output."""
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}.register_forward_hook: hook must be callable, "
                            f"got {type(hook).__name__}")
        key = Module._next_hook_id
        Module._next_hook_id += 1
        self._forward_hooks[key] = hook
        return RemovableHandle(self._forward_hooks, key)

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Set `.training` on this module and every submodule; returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Same as `train(False)`."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every parameter's grad to None."""
        for p in self.parameters():
            p.grad = None

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameter arrays, keyed by dotted name, in `named_parameters()` order."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays from `state` into the parameters in place (cast to each parameter's dtype).

        All problems are collected first; nothing is written if there is one. Mis-shaped or
        non-numeric entries always raise; missing and unexpected keys raise when `strict`.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a mapping of name -> array, "
                            f"got {type(state).__name__}")
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state]
        unexpected = [str(k) for k in state if k not in params]
        bad: list[str] = []
        arrays: dict[str, np.ndarray] = {}
        for name, p in params.items():
            if name not in state:
                continue
            value = state[name]
            arr = np.asarray(value.data if isinstance(value, Tensor) else value)
            if arr.dtype.kind not in "biuf":
                bad.append(f"{name}: expected numbers, got {type(value).__name__} of dtype {arr.dtype}")
            elif arr.shape != p.shape:
                bad.append(f"{name}: expected {p.shape}, got {arr.shape}")
            else:
                arrays[name] = arr
        if bad or (strict and (missing or unexpected)):
            lines = [f"{type(self).__name__}.load_state_dict: the state does not match the model:"]
            if missing and strict:
                lines.append("  missing keys: " + ", ".join(missing))
            if unexpected and strict:
                lines.append("  unexpected keys: " + ", ".join(unexpected))
            if bad:
                lines.append("  mis-shaped or invalid entries:")
                lines.extend("    " + b for b in bad)
            raise ValueError("\n".join(lines))
        for name, arr in arrays.items():
            params[name].data[...] = arr.astype(params[name].dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """Configuration shown inside the parentheses of repr (override in layers)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = []
        for name, value in self._members.items():
            if isinstance(value, Module):
                lines.append(f"({name}): " + repr(value).replace("\n", "\n  "))
            elif not extra:
                lines.append(f"({name}): Parameter(shape={value.shape}, dtype={value.dtype})")
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}(" + (f"{extra}" if extra else "")
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _collect_parameters(module: Module, prefix: str, seen: set, out: list[tuple[str, Parameter]]) -> None:
    """Append module's parameters to out in assignment order, submodules expanded in place.

    A plain function, not a closure that calls itself: such a closure is a reference cycle
    that only the cycle collector frees.
    """
    for name, value in module._members.items():
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Parameter):
            out.append((_join(prefix, name), value))
        else:
            _collect_parameters(value, _join(prefix, name), seen, out)
