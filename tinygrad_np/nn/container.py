"""Containers: Sequential."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .module import Module


class Sequential(Module):
    """Modules applied in order; children are named "0", "1", ... (`seq[0]`, `len(seq)`, iteration)."""

    def __init__(self, *modules: Module):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        """Add a module at the end (named by its position)."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected Module instances, got {type(module).__name__} "
                            f"at position {len(self)}")
        setattr(self, str(len(self)), module)
        return self

    def __len__(self) -> int:
        return len(self.children())

    def __iter__(self) -> Iterator[Module]:
        return iter(self.children())

    def __getitem__(self, index: int) -> Module:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"Sequential: index must be an int, got {type(index).__name__}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"Sequential: index {index} is out of range for {n} modules")
        return self.children()[index % n]

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x
