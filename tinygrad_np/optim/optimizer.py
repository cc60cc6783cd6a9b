"""The base class of the optimizers, organised like torch.optim: parameter groups with their own
hyperparameters, per-parameter state, state dicts.

    opt = tg.optim.SGD([{"params": model.features.parameters()},
                        {"params": model.head.parameters(), "lr": 0.1}], lr=0.01, momentum=0.9)
    opt.param_groups[1]["lr"]            # 0.1; the other group has the default 0.01
    opt.state[p]["momentum_buffer"]      # per-parameter state, keyed by the parameter

Updates are written in place into each parameter's array (`p.data`), in the parameter's dtype,
following PyTorch's single-tensor (CPU) update rules operation by operation. Parameters whose
grad is None are skipped. `state_dict()` is PyTorch's, with only str keys, scalars and arrays
so that `tg.save` can store it (the groups are a dict keyed "0", "1", ... instead of a list):

    {"state": {"0": {"momentum_buffer": array}, ...},
     "param_groups": {"0": {"lr": 0.01, "momentum": 0.9, ..., "params": [0, 1]}, "1": {...}}}

`load_state_dict` also takes PyTorch's own form (a list of groups, int keys, tensors).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[Mapping[str, Any]]


def check_number(owner: str, name: str, value: Any, low: float = 0.0, high: float | None = None,
                 high_open: bool = False, what: str | None = None) -> float:
    """A finite float in [low, high] (or [low, high)), else a ValueError naming the hyperparameter."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) \
        and math.isfinite(value) and value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bound = f">= {low}" if high is None else f"in [{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {what or name} must be a finite number {bound}, got {name}={value!r}")
    return float(value)


class Optimizer:
    """Base class: holds `param_groups` (a list of dicts: "params" and the hyperparameters),
    `defaults` and per-parameter `state` (a dict keyed by the parameter tensors)."""

    def __init__(self, params: ParamsT, defaults: dict[str, Any]):
        name = type(self).__name__
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be in an ordered collection (a list), not a set, so that "
                            "state dicts match parameters by position")
        if isinstance(params, Tensor) or hasattr(params, "named_parameters"):
            raise TypeError(f"{name}: params must be an iterable of Parameters (e.g. model.parameters()) or "
                            f"of dicts with a 'params' entry, got {type(params).__name__}")
        groups: list[Any] = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        self.defaults: dict[str, Any] = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        for group in groups:
            self.add_param_group(group)

    # --------------------------------------------------------------- groups
    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones from `defaults`)."""
        name = type(self).__name__
        if not isinstance(param_group, Mapping) or "params" not in param_group:
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' entry, "
                            f"got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be in an ordered collection (a list), not a set, so that "
                            "state dicts match parameters by position")
        params = [params] if isinstance(params, Tensor) else list(params)
        where = f"param_groups[{len(self.param_groups)}]"
        if not params:
            raise ValueError(f"{name}: {where} has no parameters")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: {where}['params'][{i}] is a {type(p).__name__}, not a Parameter "
                                "(pass model.parameters(), not named_parameters())")
            if p.dtype.kind != "f" or not p.is_leaf:
                raise ValueError(f"{name}: {where}['params'][{i}] {p._describe()} must be a floating point "
                                 "leaf tensor (a Parameter)")
            if id(p) in seen:
                raise ValueError(f"{name}: {where}['params'][{i}] {p._describe()} appears more than once "
                                 "(in this group or in an earlier one)")
            seen.add(id(p))
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group, where)
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        """Validate (and normalise in place) a group's hyperparameters; subclasses extend it."""
        owner = _owner(self, where)
        group["lr"] = check_number(owner, "lr", group["lr"], what="learning rate")

    def _expected_state(self, group: Mapping[str, Any]) -> set[str]:
        """The state entries a parameter of `group` has after its first step."""
        return set()

    # ----------------------------------------------------------------- steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's grad to None (or fill it with zeros when set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place; returns closure() if given (called first)."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.shape != p.shape:
                    raise RuntimeError(f"{type(self).__name__}.step: parameter {p._describe()} has a grad of "
                                       f"shape {p.grad.shape}")
                grad = p.grad if p.grad.dtype == p.dtype else p.grad.astype(p.dtype)
                self._update(p.data, grad, self.state.setdefault(p, {}), group)
        return loss

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Update `param` in place from `grad` with `group`'s hyperparameters and this parameter's `state`."""
        raise NotImplementedError(f"{type(self).__name__}: optimizers must define _update")

    # ------------------------------------------------------------ state dicts
    def _indices(self) -> dict[int, int]:
        """id(parameter) -> its position counted over all groups."""
        return {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}

    def state_dict(self) -> dict[str, Any]:
        """Copies of the per-parameter state and the groups' hyperparameters (see the module doc)."""
        index = self._indices()
        groups: dict[str, Any] = {}
        for g, group in enumerate(self.param_groups):
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups[str(g)] = packed
        state = {str(index[id(p)]): {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for p, s in sorted(self.state.items(), key=lambda item: index.get(id(item[0]), -1))
                 if s and id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and state (ours or PyTorch's form); checks everything before changing
        anything. The groups must hold as many parameters as this optimizer's, in the same order."""
        name = type(self).__name__
        if not isinstance(state_dict, Mapping) or "state" not in state_dict or "param_groups" not in state_dict:
            got = sorted(map(str, state_dict)) if isinstance(state_dict, Mapping) else type(state_dict).__name__
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups', got {got}")
        saved = state_dict["param_groups"]
        saved = [saved[k] for k in sorted(saved, key=int)] if isinstance(saved, Mapping) else list(saved)
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(saved)} parameter groups but this "
                             f"optimizer has {len(self.param_groups)}")
        problems: list[str] = []
        new_groups: list[dict[str, Any]] = []
        by_index: dict[int, tuple[Tensor, dict[str, Any]]] = {}
        for g, (old, new) in enumerate(zip(self.param_groups, saved, strict=True)):
            ids = [int(i) for i in np.asarray(new.get("params", []), dtype=np.int64).reshape(-1)]
            if len(ids) != len(old["params"]):
                problems.append(f"param_groups[{g}] holds {len(ids)} parameters but this optimizer's group {g} "
                                f"has {len(old['params'])}")
                continue
            missing = [k for k in self.defaults if k not in new]
            if missing:
                problems.append(f"param_groups[{g}]: missing keys {missing}")
                continue
            group = {k: _plain(v) for k, v in new.items() if k != "params"}
            group["params"] = old["params"]
            try:
                self._check_group(group, f"param_groups[{g}]")
            except (TypeError, ValueError) as exc:
                problems.append(str(exc))
            by_index.update(zip(ids, ((p, group) for p in old["params"]), strict=True))
            new_groups.append(group)
        new_state = self._load_state(state_dict["state"], by_index, problems)
        if problems:
            raise ValueError(f"{name}.load_state_dict: invalid state:\n  " + "\n  ".join(problems))
        self.param_groups = new_groups
        self.state = new_state

    def _load_state(self, saved: Any, by_index: dict[int, tuple[Tensor, dict[str, Any]]],
                    problems: list[str]) -> dict[Tensor, dict[str, Any]]:
        if not isinstance(saved, Mapping):
            problems.append(f"'state' must be a dict, got {type(saved).__name__}")
            return {}
        out: dict[Tensor, dict[str, Any]] = {}
        for key, entry in saved.items():
            try:
                p, group = by_index[int(key)]
            except (TypeError, ValueError, KeyError):
                problems.append(f"state key {key!r} is not the index of a parameter (have {len(by_index)})")
                continue
            if not isinstance(entry, Mapping):
                problems.append(f"state[{key!r}] must be a dict, got {type(entry).__name__}")
                continue
            expected = self._expected_state(group)
            if set(map(str, entry)) != expected:
                problems.append(f"state['{key}']: has entries {sorted(map(str, entry))}, expected {sorted(expected)}")
                continue
            loaded: dict[str, Any] = {}
            for k, v in entry.items():
                arr = np.asarray(v.detach().numpy() if hasattr(v, "detach") else v)
                if k == "step":
                    loaded[k] = int(round(float(arr)))
                elif arr.shape != p.shape:
                    problems.append(f"state['{key}']['{k}']: expected shape {p.shape} for {p._describe()}, "
                                    f"got {arr.shape}")
                else:
                    loaded[k] = np.array(arr, dtype=p.dtype)
            out[p] = loaded
        return out

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for g, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {g}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        return "\n".join(lines) + "\n)"


def _owner(optimizer: Optimizer, where: str) -> str:
    """The optimizer's name, and the group for any group but the first (for error messages)."""
    name = type(optimizer).__name__
    return name if where == "param_groups[0]" else f"{name} ({where})"


def _plain(value: Any) -> Any:
    """A saved hyperparameter as a Python value: 0-d arrays/tensors become numbers, sequences tuples."""
    if hasattr(value, "detach"):
        value = value.detach().numpy()
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else tuple(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return tuple(value)
    return value


def lerp_(a: np.ndarray, b: np.ndarray, weight: float) -> None:
    """a <- a + weight (b - a), in place, in the order PyTorch's lerp_ uses (from b's side when weight >= 0.5)."""
    if abs(weight) < 0.5:
        a += weight * (b - a)
    else:
        np.subtract(b, (b - a) * (1.0 - weight), out=a)
