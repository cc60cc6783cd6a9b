"""The base class of the optimizers (`SGD`, `Adam`), whose update rules are torch.optim's.

Updates are written in place into each parameter's array (`p.data`), in the parameter's
dtype, so modules and optimizers keep referencing the same arrays. Parameters whose grad
is None are skipped. `state_dict()` returns hyperparameters, the number of `step()` calls,
and per-parameter state arrays keyed by the parameter's index as a str:

    {"lr": 0.1, "momentum": 0.9, ..., "step": 3, "num_params": 4,
     "state": {"0": {"momentum_buffer": array}, ...}}

(only str keys, scalars and arrays, so `tg.save` can store it).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..tensor import Tensor


class Optimizer(ABC):
    """Base class: holds the parameters, the learning rate and per-parameter state."""

    #: hyperparameter names saved in state_dict (besides "lr")
    _hyper: tuple[str, ...] = ()
    #: names of the per-parameter state arrays
    _state_arrays: tuple[str, ...] = ()
    #: whether each parameter's state also counts its own steps (int "step")
    _per_param_step = False

    def __init__(self, params: Iterable[Tensor], lr: float):
        name = type(self).__name__
        if isinstance(params, Tensor) or hasattr(params, "named_parameters"):
            raise TypeError(f"{name}: params must be an iterable of Parameters, e.g. model.parameters(), "
                            f"got {type(params).__name__}")
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        seen: set = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: params[{i}] is a {type(p).__name__}, not a Parameter "
                                "(pass model.parameters(), not named_parameters())")
            if not p.requires_grad or p.dtype.kind != "f":
                raise ValueError(f"{name}: params[{i}] {p._describe()} must be a floating point tensor "
                                 "that requires grad")
            if id(p) in seen:
                raise ValueError(f"{name}: params[{i}] {p._describe()} appears more than once")
            seen.add(id(p))
        self.lr = self._check_lr(lr)
        self.steps = 0
        self.state: dict[int, dict[str, Any]] = {}

    def _check_lr(self, lr: Any) -> float:
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)) \
                or not math.isfinite(lr) or lr <= 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be a finite number > 0, got lr={lr!r}")
        return float(lr)

    def zero_grad(self) -> None:
        """Set every parameter's grad to None."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            if p.grad.shape != p.shape:
                raise RuntimeError(f"{type(self).__name__}.step: params[{i}] {p._describe()} has a grad "
                                   f"of shape {p.grad.shape}")
            grad = p.grad if p.grad.dtype == p.dtype else p.grad.astype(p.dtype)
            self._update(p.data, grad, self.state.setdefault(i, {}))
        self.steps += 1

    @abstractmethod
    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        """Update `param` in place from `grad`, reading and writing this parameter's `state`."""

    # ------------------------------------------------------------ state dicts
    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters by name (lr first)."""
        return {"lr": self.lr, **{k: getattr(self, k) for k in self._hyper}}

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count and copies of the per-parameter state (see module doc)."""
        state = {str(i): {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for i, s in sorted(self.state.items()) if s}
        return {**self.hyperparameters(), "step": self.steps, "num_params": len(self.params), "state": state}

    def load_state_dict(self, sd: Mapping) -> None:
        """Restore hyperparameters, step count and state; checks everything before changing anything."""
        name = type(self).__name__
        if not isinstance(sd, Mapping):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got {type(sd).__name__}")
        required = ["lr", *self._hyper, "step", "num_params", "state"]
        missing = [k for k in required if k not in sd]
        if missing:
            raise ValueError(f"{name}.load_state_dict: missing keys {missing} (got {sorted(map(str, sd))})")
        if int(sd["num_params"]) != len(self.params):
            raise ValueError(f"{name}.load_state_dict: the state is for {int(sd['num_params'])} parameters "
                             f"but this optimizer has {len(self.params)}")
        if not isinstance(sd["state"], Mapping):
            raise TypeError(f"{name}.load_state_dict: 'state' must be a dict, got {type(sd['state']).__name__}")
        problems: list[str] = []
        new_state: dict[int, dict[str, Any]] = {}
        for key, entry in sd["state"].items():
            try:
                i = int(key)
            except (TypeError, ValueError):
                problems.append(f"state key {key!r} is not a parameter index")
                continue
            if not 0 <= i < len(self.params) or not isinstance(entry, Mapping):
                problems.append(f"state[{key!r}]: no parameter {key} (have {len(self.params)}) or not a dict")
                continue
            new_state[i] = self._load_entry(i, entry, problems)
        if problems:
            raise ValueError(f"{name}.load_state_dict: invalid state:\n  " + "\n  ".join(problems))
        self._set_hyperparameters({k: sd[k] for k in ["lr", *self._hyper]})
        self.steps = int(sd["step"])
        self.state = new_state

    def _load_entry(self, i: int, entry: Mapping, problems: list[str]) -> dict[str, Any]:
        p = self.params[i]
        out: dict[str, Any] = {}
        expected = set(self._state_arrays) | ({"step"} if self._per_param_step else set())
        if set(map(str, entry)) != expected:
            problems.append(f"state['{i}']: has entries {sorted(map(str, entry))}, expected {sorted(expected)}")
        for k, v in entry.items():
            if k == "step":
                out[k] = int(v)
            elif k in self._state_arrays:
                arr = np.asarray(v)
                if arr.shape != p.shape:
                    problems.append(f"state['{i}']['{k}']: expected shape {p.shape} for {p._describe()}, "
                                    f"got {arr.shape}")
                out[k] = np.array(arr, dtype=p.dtype)
        return out

    @abstractmethod
    def _set_hyperparameters(self, values: dict[str, Any]) -> None:
        """Validate and set lr and the `_hyper` values (from a state dict)."""

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hp})"
