"""Containers: Sequential, ModuleList and ModuleDict (their children are registered like attributes,
so their parameters, buffers and state dict keys are PyTorch's: "0.weight", "blocks.1.bias", ...)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .module import Module


def _check_module(owner: str, module: Any, where: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{owner}: expected Module instances, got {type(module).__name__} at {where}")
    return module


class _IndexedModules(Module):
    """Children named "0", "1", ... by position (Sequential and ModuleList)."""

    def __len__(self) -> int:
        return len(self.children())

    def __iter__(self) -> Iterator[Module]:
        return iter(self.children())

    def _index(self, index: Any) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{type(self).__name__}: index must be an int or a slice, got {type(index).__name__}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {n} modules")
        return int(index) % n

    def _of(self, modules: list[Module]) -> Module:
        """A new container of the same kind holding `modules`."""
        raise NotImplementedError

    def _renumber(self, modules: list[Module]) -> None:
        """Re-register `modules` as the children "0", "1", ... (after an insertion or deletion)."""
        for name, _ in self.named_children():
            delattr(self, name)
        for i, module in enumerate(modules):
            setattr(self, str(i), module)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self._of(self.children()[index])
        return self.children()[self._index(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        i = self._index(index)
        setattr(self, str(i), _check_module(type(self).__name__, module, f"index {index}"))

    def __delitem__(self, index: int | slice) -> None:
        modules = self.children()
        del modules[index if isinstance(index, slice) else self._index(index)]
        self._renumber(modules)

    def append(self, module: Module) -> Any:
        """Add a module at the end (named by its position); returns self."""
        setattr(self, str(len(self)), _check_module(type(self).__name__, module, f"position {len(self)}"))
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert a module before position `index`."""
        modules = self.children()
        modules.insert(index, _check_module(type(self).__name__, module, f"position {index}"))
        self._renumber(modules)


class Sequential(_IndexedModules):
    """Modules applied in order; children are named "0", "1", ... (or by the keys of an OrderedDict);
    `seq[0]`, `seq[1:]`, `len(seq)`, iteration."""

    def __init__(self, *modules: Any):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, _check_module("Sequential", module, f"key {name!r}"))
            return
        for module in modules:
            self.append(module)

    def _of(self, modules: list[Module]) -> Sequential:
        return Sequential(*modules)

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x


class ModuleList(_IndexedModules):
    """A list of modules registered as children "0", "1", ... (no forward of its own)."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _of(self, modules: list[Module]) -> ModuleList:
        return ModuleList(modules)

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of an iterable; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, ModuleList):
            raise TypeError(f"ModuleList.extend: expected an iterable of modules, got {type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])


class ModuleDict(Module):
    """A dict of modules registered as children under their keys (no forward of its own)."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        children = dict(self.named_children())
        if key not in children:
            raise KeyError(f"ModuleDict: no module {key!r} (have {list(children)})")
        return children[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module("ModuleDict", module, f"key {key!r}"))

    def __delitem__(self, key: str) -> None:
        self[key]  # a KeyError naming the keys if missing
        delattr(self, key)

    def __len__(self) -> int:
        return len(self.children())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        return key in dict(self.named_children())

    def keys(self) -> list[str]:
        """The keys, in insertion order."""
        return [name for name, _ in self.named_children()]

    def values(self) -> list[Module]:
        """The modules, in insertion order."""
        return self.children()

    def items(self) -> list[tuple[str, Module]]:
        """(key, module) pairs, in insertion order."""
        return self.named_children()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace modules from a mapping or from (key, module) pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key: str) -> Module:
        """Remove the module under `key` and return it."""
        module = self[key]
        delattr(self, key)
        return module

    def clear(self) -> None:
        """Remove every module."""
        for key in self.keys():
            delattr(self, key)
