"""`Parameter` and `Module`: the bookkeeping behind `tg.nn` (import them from `tg.nn`).

A Module registers every attribute that is a Parameter or a Module, in assignment order, and
the buffers given to `register_buffer` (tensors that are state but not parameters, such as
BatchNorm's running statistics). Traversals follow PyTorch: `named_parameters()` walks the
modules in pre-order and lists each module's own parameters, so names, order and state dict
keys are those of the same model built with torch.nn.

Names are dotted paths: when a Module is assigned as attribute `conv1` of another module, its
path becomes "conv1" (recursively, "net.conv1" deeper down) and each of its Parameters
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
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np

from ..autograd.grad_mode import current_scope, name_scope
from ..tensor import Tensor
from . import state_dict as sd
from .state_dict import IncompatibleKeys

__all__ = ["Parameter", "Module", "RemovableHandle", "IncompatibleKeys"]

ForwardHook = Callable[["Module", tuple[Any, ...], Any], Any]
M = TypeVar("M", bound="Module")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Parameter(Tensor):
    """A Tensor collected by `Module.parameters()`; it requires grad unless `requires_grad=False`.

    Float data becomes float32 unless `dtype` is given (as for Tensor; a Tensor keeps its
    dtype); the data is copied.
    """

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None, requires_grad: bool = True):
        if isinstance(data, Tensor):
            dtype = data.dtype if dtype is None else dtype
            data = data.data
        arr = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
        if arr.dtype.kind not in "fc":
            raise TypeError(f"Parameter: data must be floating point, got dtype {arr.dtype} "
                            "(pass dtype=np.float32 to convert)")
        super().__init__(data, requires_grad=bool(requires_grad), dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):].replace(", requires_grad=True", "")


class RemovableHandle:
    """Returned by `register_forward_hook`; `remove()` unregisters the hook (idempotent)."""

    def __init__(self, hooks: dict[int, ForwardHook], key: int):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks.pop(self._key, None)


class Module:
    """Base class of layers and models: subclass it, assign layers/Parameters, define `forward`."""

    _next_hook_id = 0
    # set with object.__setattr__ in __init__ (they must not go through the registration below)
    _members: dict[str, Any]
    _buffers: dict[str, Tensor | None]
    _non_persistent: set[str]
    _forward_hooks: dict[int, ForwardHook]
    _path: str
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_members", {})  # name -> Parameter | Module, in assignment order
        object.__setattr__(self, "_buffers", {})  # name -> Tensor | None, in registration order
        object.__setattr__(self, "_non_persistent", set())
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
            self._buffers.pop(name, None)
            self._non_persistent.discard(name)
            members[name] = value
            object.__setattr__(self, name, value)
            self._name_member(name, value)
            return
        buffers = self.__dict__.get("_buffers")
        if buffers is not None and name in buffers:  # assigning a registered buffer replaces it
            buffers[name] = _as_buffer(value, f"{type(self).__name__}: buffer {name!r}")
            object.__setattr__(self, name, buffers[name])
            self._name_member(name, buffers[name])
            return
        if members is not None and name in members:
            del members[name]
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self.__dict__.get("_members", {}).pop(name, None)
        self.__dict__.get("_buffers", {}).pop(name, None)
        self.__dict__.get("_non_persistent", set()).discard(name)
        object.__delattr__(self, name)

    def _check_new_name(self, name: Any, what: str) -> None:
        owner = type(self).__name__
        if "_members" not in self.__dict__:
            raise RuntimeError(f"{owner}: call super().__init__() at the start of __init__ before "
                               f"registering {what} {name!r}")
        if not isinstance(name, str):
            raise TypeError(f"{owner}: {what} name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise ValueError(f"{owner}: {what} name must be non-empty and contain no '.', got {name!r}")
        same_kind = {"buffer": name in self._buffers,
                     "parameter": isinstance(self._members.get(name), Parameter),
                     "module": isinstance(self._members.get(name), Module)}[what]
        if hasattr(self, name) and not same_kind:
            raise ValueError(f"{owner}: cannot register {what} {name!r}: the attribute already exists")

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Add a buffer: a tensor that is state but not a parameter (e.g. running statistics).

        `tensor` is a Tensor (kept as is), an ndarray (copied into a Tensor of its dtype) or
        None (no value; skipped by `buffers()` and the state dict). Persistent buffers are in
        `state_dict()`. Reassigning `self.name = value` later replaces the buffer.
        """
        self._check_new_name(name, "buffer")
        self._members.pop(name, None)
        self._buffers[name] = _as_buffer(tensor, f"{type(self).__name__}.register_buffer: {name!r}")
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, self._buffers[name])
        self._name_member(name, self._buffers[name])

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter under `name` (None sets a plain attribute with no parameter)."""
        self._check_new_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}.register_parameter: {name!r} must be a Parameter or None, "
                            f"got {type(param).__name__}")
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a submodule under `name` (same as assigning the attribute)."""
        self._check_new_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} must be a Module or None, "
                            f"got {type(module).__name__}")
        setattr(self, name, module)

    register_module = add_module

    def _name_member(self, name: str, value: Any) -> None:
        full = _join(self._path, name)
        if isinstance(value, Module):
            value._set_path(full)
        elif isinstance(value, Tensor):
            value.name = full

    def _set_path(self, path: str) -> None:
        object.__setattr__(self, "_path", path)
        for name, value in [*self._members.items(), *self._buffers.items()]:
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

    def named_modules(self, prefix: str = "") -> list[tuple[str, Module]]:
        """This module (named `prefix`) and every submodule, pre-order, each once, with dotted names."""
        out: list[tuple[str, Module]] = []
        seen: set = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            out.append((path, module))
            stack.extend(reversed([(_join(path, n), c) for n, c in module.named_children()]))
        return out

    def modules(self) -> list[Module]:
        """This module and every submodule, pre-order."""
        return [m for _, m in self.named_modules()]

    def _named_members(self, kind: type, prefix: str, recurse: bool) -> Iterator[tuple[str, Any]]:
        """Each module's own parameters (kind Parameter) or buffers (kind Tensor), once each."""
        seen: set = set()
        for path, module in self.named_modules(prefix) if recurse else [(prefix, self)]:
            items = module._members if kind is Parameter else module._buffers
            for name, value in items.items():
                if isinstance(value, kind) and id(value) not in seen:
                    seen.add(id(value))
                    yield _join(path, name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> list[tuple[str, Parameter]]:
        """Every parameter once, with dotted names: pre-order over the modules, each module's own
        parameters in assignment order (PyTorch's order); only this module's with recurse=False."""
        return list(self._named_members(Parameter, prefix, recurse))

    def parameters(self, recurse: bool = True) -> list[Parameter]:
        """Every parameter once, in the order of `named_parameters()`."""
        return [p for _, p in self.named_parameters(recurse=recurse)]

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> list[tuple[str, Tensor]]:
        """Every buffer that is not None once, with dotted names, in the order of `named_parameters()`."""
        return list(self._named_members(Tensor, prefix, recurse))

    def buffers(self, recurse: bool = True) -> list[Tensor]:
        """Every buffer that is not None once, in the order of `named_buffers()`."""
        return [b for _, b in self.named_buffers(recurse=recurse)]

    def num_parameters(self) -> int:
        """Total number of scalar parameters."""
        return sum(p.numel() for p in self.parameters())

    def apply(self: M, fn: Callable[[Module], Any]) -> M:
        """Call `fn` on every submodule (children first, recursively) and then on this module; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

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
    def train(self: M, mode: bool = True) -> M:
        """Set `.training` on this module and every submodule; returns self."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"{type(self).__name__}.train: mode must be a bool, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self: M) -> M:
        """Same as `train(False)`."""
        return self.train(False)

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        """Set `requires_grad` of every parameter (False freezes them); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's grad to None (or fill it with zeros when set_to_none=False)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad[...] = 0

    def to(self: M, dtype: Any) -> M:
        """Convert floating point parameters, buffers and grads to `dtype` (integer buffers are kept;
        the tensors stay the same objects); "cpu" changes nothing. Returns self."""
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        dt = np.dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: dtype must be a floating point type, got {dt}")
        for t in [*self.parameters(), *self.buffers()]:
            if t.dtype.kind == "f" and t.dtype != dt:
                t.data = t.data.astype(dt)
                if t.grad is not None:
                    t.grad = t.grad.astype(dt)
        return self

    def float(self: M) -> M:
        """Same as `to(np.float32)`."""
        return self.to(np.float32)

    def double(self: M) -> M:
        """Same as `to(np.float64)`."""
        return self.to(np.float64)

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the arrays of every parameter and persistent buffer, keyed by dotted name, in
        PyTorch's order (see `tinygrad_np.nn.state_dict`)."""
        return sd.state_dict(self)

    def load_state_dict(self, state: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays from `state` into the parameters and buffers in place (cast to their dtypes).

        All problems are collected first; nothing is written if there is one. Mis-shaped or
        non-numeric entries always raise; missing and unexpected keys raise when `strict`.
        Values may be arrays, tensors, or anything with `.numpy()`.
        """
        return sd.load_state_dict(self, state, strict)

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


def _as_buffer(value: Any, what: str) -> Tensor | None:
    """A buffer's tensor: a Tensor as is, an ndarray copied into a Tensor of its dtype, or None."""
    if value is None or isinstance(value, Tensor):
        if isinstance(value, Parameter):
            raise TypeError(f"{what}: a Parameter cannot be a buffer; assign it as an attribute instead")
        return value
    if isinstance(value, np.ndarray):
        return Tensor(value, dtype=value.dtype)
    raise TypeError(f"{what}: a buffer must be a Tensor, an ndarray or None, got {type(value).__name__}")
