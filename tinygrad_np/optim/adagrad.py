"""Adagrad (torch.optim.Adagrad's update rule)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, _owner, check_number


class Adagrad(Optimizer):
    """Scale each coordinate's step by the root of its accumulated squared gradients.

    sum += g^2 (sum starts at initial_accumulator_value); p -= clr * g / (sqrt(sum) + eps) with
    clr = lr / (1 + (t - 1) lr_decay) at step t. weight_decay adds weight_decay * p to g.
    Same as torch.optim.Adagrad (state: "step", "sum"), including two of its details: the state
    of the constructor's parameters exists from the start, and every sum starts at the
    constructor's initial_accumulator_value (a group's own value is not used).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value, "eps": eps,
                                  "maximize": maximize})
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p.data, self.state.setdefault(p, {}))

    def _init_state(self, param: np.ndarray, state: dict[str, Any]) -> None:
        state["step"] = 0
        state["sum"] = np.full_like(param, self.defaults["initial_accumulator_value"])

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        super()._check_group(group, where)
        owner = _owner(self, where)
        for key in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            group[key] = check_number(owner, key, group[key])
        group["maximize"] = bool(group["maximize"])

    def _expected_state(self, group: Any) -> set[str]:
        return {"step", "sum"}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if "step" not in state:
            self._init_state(param, state)
        state["step"] += 1
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * param
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        std = np.sqrt(state["sum"])
        std += group["eps"]
        param += ((-clr) * g) / std
