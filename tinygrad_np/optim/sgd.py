"""Stochastic gradient descent (torch.optim.SGD's update rule)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, _owner, check_number


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov, L2 weight decay and maximize.

    g = -grad if maximize else grad; g = g + weight_decay * p; with momentum, buf = g on the first
    step and buf = momentum * buf + (1 - dampening) * g after; g = g + momentum * buf (Nesterov) or
    buf; p -= lr * g. Same as torch.optim.SGD (state: "momentum_buffer" when momentum != 0).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize})

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        super()._check_group(group, where)
        owner = _owner(self, where)
        for key in ("momentum", "weight_decay"):
            group[key] = check_number(owner, key, group[key])
        group["dampening"] = check_number(owner, "dampening", group["dampening"], low=-np.inf)
        group["nesterov"], group["maximize"] = bool(group["nesterov"]), bool(group["maximize"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{owner}: nesterov needs momentum > 0 and dampening = 0, got momentum="
                             f"{group['momentum']}, dampening={group['dampening']}")

    def _expected_state(self, group: Any) -> set[str]:
        return {"momentum_buffer"} if group["momentum"] != 0 else set()

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        momentum, wd = group["momentum"], group["weight_decay"]
        g = -grad if group["maximize"] else grad
        if wd != 0:
            g = g + wd * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, copy=True)
            else:
                buf *= momentum
                buf += (1.0 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        param -= group["lr"] * g
