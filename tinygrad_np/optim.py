"""Optimizers: `SGD` and `Adam`, with the update rules of torch.optim.SGD and torch.optim.Adam.

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
from collections.abc import Mapping
from typing import Any, Dict, Iterable, List, Tuple

import numpy as np

from .tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer(ABC):
    """Base class: holds the parameters, the learning rate and per-parameter state."""

    #: hyperparameter names saved in state_dict (besides "lr")
    _hyper: Tuple[str, ...] = ()
    #: names of the per-parameter state arrays
    _state_arrays: Tuple[str, ...] = ()
    #: whether each parameter's state also counts its own steps (int "step")
    _per_param_step = False

    def __init__(self, params: Iterable[Tensor], lr: float):
        name = type(self).__name__
        if isinstance(params, Tensor) or hasattr(params, "named_parameters"):
            raise TypeError(f"{name}: params must be an iterable of Parameters, e.g. model.parameters(), "
                            f"got {type(params).__name__}")
        self.params: List[Tensor] = list(params)
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
        self.state: Dict[int, Dict[str, Any]] = {}

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
    def _update(self, param: np.ndarray, grad: np.ndarray, state: Dict[str, Any]) -> None:
        """Update `param` in place from `grad`, reading and writing this parameter's `state`."""

    # ------------------------------------------------------------ state dicts
    def hyperparameters(self) -> Dict[str, Any]:
        """The hyperparameters by name (lr first)."""
        return {"lr": self.lr, **{k: getattr(self, k) for k in self._hyper}}

    def state_dict(self) -> Dict[str, Any]:
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
        problems: List[str] = []
        new_state: Dict[int, Dict[str, Any]] = {}
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

    def _load_entry(self, i: int, entry: Mapping, problems: List[str]) -> Dict[str, Any]:
        p = self.params[i]
        out: Dict[str, Any] = {}
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
    def _set_hyperparameters(self, values: Dict[str, Any]) -> None:
        """Validate and set lr and the `_hyper` values (from a state dict)."""

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hp})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay.

    d = g + weight_decay * p; with momentum, buf = d on the first step and
    buf = momentum * buf + (1 - dampening) * d after; d = d + momentum * buf (Nesterov) or buf;
    p -= lr * d. Same as torch.optim.SGD.
    """

    _hyper = ("momentum", "dampening", "weight_decay", "nesterov")
    _state_arrays = ("momentum_buffer",)

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, dampening: float = 0.0):
        super().__init__(params, lr)
        self._configure(momentum, dampening, weight_decay, nesterov)

    def _configure(self, momentum: float, dampening: float, weight_decay: float, nesterov: bool) -> None:
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be >= 0, got momentum={momentum}, "
                             f"weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: nesterov needs momentum > 0 and dampening = 0, got momentum={momentum}, "
                             f"dampening={dampening}")
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.weight_decay, self.nesterov = float(weight_decay), bool(nesterov)

    def _set_hyperparameters(self, values: Dict[str, Any]) -> None:
        self.lr = self._check_lr(float(values["lr"]))
        self._configure(float(values["momentum"]), float(values["dampening"]), float(values["weight_decay"]),
                        bool(values["nesterov"]))

    def _update(self, param: np.ndarray, grad: np.ndarray, state: Dict[str, Any]) -> None:
        d = grad + self.weight_decay * param if self.weight_decay else grad
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(d, copy=True)
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * d
            d = d + self.momentum * buf if self.nesterov else buf
        param -= self.lr * d


class Adam(Optimizer):
    """Adam with bias correction; weight_decay adds weight_decay * p to the gradient (L2, not AdamW).

    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),
    with t counted per parameter. Same as torch.optim.Adam.
    """

    _hyper = ("betas", "eps", "weight_decay")
    _state_arrays = ("exp_avg", "exp_avg_sq")
    _per_param_step = True

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self._configure(betas, eps, weight_decay)

    def _configure(self, betas: Any, eps: float, weight_decay: float) -> None:
        b = tuple(float(x) for x in np.asarray(betas, dtype=np.float64).reshape(-1))
        if len(b) != 2 or not all(0.0 <= x < 1.0 for x in b):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        if eps < 0 or weight_decay < 0:
            raise ValueError(f"Adam: eps and weight_decay must be >= 0, got eps={eps}, weight_decay={weight_decay}")
        self.betas: Tuple[float, float] = (b[0], b[1])
        self.eps, self.weight_decay = float(eps), float(weight_decay)

    def _set_hyperparameters(self, values: Dict[str, Any]) -> None:
        self.lr = self._check_lr(float(values["lr"]))
        self._configure(values["betas"], float(values["eps"]), float(values["weight_decay"]))

    def _update(self, param: np.ndarray, grad: np.ndarray, state: Dict[str, Any]) -> None:
        b1, b2 = self.betas
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1.0 - b1) * (grad - m)  # = b1 m + (1 - b1) g, as torch's lerp
        v *= b2
        v += (1.0 - b2) * (grad * grad)
        step_size = self.lr / (1.0 - b1 ** t)
        denom = np.sqrt(v) / math.sqrt(1.0 - b2 ** t) + self.eps
        param -= step_size * (m / denom)
