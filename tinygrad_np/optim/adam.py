"""Adam and AdamW (torch.optim.Adam's and AdamW's update rules)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, _owner, check_number, lerp_


class Adam(Optimizer):
    """Adam with bias correction; weight_decay adds weight_decay * p to the gradient (L2; see AdamW).

    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2 (amsgrad: v_max = max(v_max, v), used below);
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), with t counted per parameter.
    Same as torch.optim.Adam (state: "step", "exp_avg", "exp_avg_sq", and "max_exp_avg_sq" with amsgrad).
    """

    _decoupled = False

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize})

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        super()._check_group(group, where)
        owner = _owner(self, where)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{owner}: betas must be two numbers in [0, 1), got betas={betas!r}")
        group["betas"] = tuple(check_number(owner, f"betas[{i}]", b, high=1.0, high_open=True)
                               for i, b in enumerate(betas))
        group["eps"] = check_number(owner, "eps", group["eps"])
        group["weight_decay"] = check_number(owner, "weight_decay", group["weight_decay"])
        group["amsgrad"], group["maximize"] = bool(group["amsgrad"]), bool(group["maximize"])

    def _expected_state(self, group: Any) -> set[str]:
        return {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if group["amsgrad"] else set())

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        (b1, b2), lr, wd = group["betas"], group["lr"], group["weight_decay"]
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        g = -grad if group["maximize"] else grad
        state["step"] += 1
        t = state["step"]
        if wd != 0:
            if self._decoupled:
                param *= 1.0 - lr * wd
            else:
                g = g + wd * param
        m, v = state["exp_avg"], state["exp_avg_sq"]
        lerp_(m, g, 1.0 - b1)
        v *= b2
        v += ((1.0 - b2) * g) * g
        step_size = lr / (1.0 - b1 ** t)
        bias_correction2_sqrt = (1.0 - b2 ** t) ** 0.5
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denom = np.sqrt(v) / bias_correction2_sqrt
        denom += group["eps"]
        param += ((-step_size) * m) / denom


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step (default
    weight_decay 0.01). Same as torch.optim.AdamW."""

    _decoupled = True

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
