"""RMSprop (torch.optim.RMSprop's update rule)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, _owner, check_number, lerp_


class RMSprop(Optimizer):
    """Divide the gradient by a running root mean square of recent gradients.

    v = alpha v + (1 - alpha) g^2; centered: a = alpha a + (1 - alpha) g and avg = sqrt(v - a^2) + eps,
    else avg = sqrt(v) + eps; with momentum, buf = momentum buf + g / avg and p -= lr buf, else
    p -= lr g / avg. weight_decay adds weight_decay * p to g. Same as torch.optim.RMSprop (state:
    "step", "square_avg", "momentum_buffer" with momentum > 0, "grad_avg" when centered).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *, maximize: bool = False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered, "maximize": maximize})

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        super()._check_group(group, where)
        owner = _owner(self, where)
        for key in ("alpha", "eps", "weight_decay", "momentum"):
            group[key] = check_number(owner, key, group[key])
        group["centered"], group["maximize"] = bool(group["centered"]), bool(group["maximize"])

    def _expected_state(self, group: Any) -> set[str]:
        return ({"step", "square_avg"} | ({"momentum_buffer"} if group["momentum"] > 0 else set())
                | ({"grad_avg"} if group["centered"] else set()))

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        if "step" not in state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        g = -grad if group["maximize"] else grad
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += ((1.0 - alpha) * g) * g
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, g, 1.0 - alpha)
            avg = np.sqrt(square_avg + (-1.0 * grad_avg) * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            param -= group["lr"] * buf
        else:
            param += ((-group["lr"]) * g) / avg
