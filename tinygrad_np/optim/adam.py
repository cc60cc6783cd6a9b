"""Adam (torch.optim.Adam's update rule)."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam with bias correction; weight_decay adds weight_decay * p to the gradient (L2, not AdamW).

    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),
    with t counted per parameter. Same as torch.optim.Adam.
    """

    _hyper = ("betas", "eps", "weight_decay")
    _state_arrays = ("exp_avg", "exp_avg_sq")
    _per_param_step = True

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self._configure(betas, eps, weight_decay)

    def _configure(self, betas: Any, eps: float, weight_decay: float) -> None:
        b = tuple(float(x) for x in np.asarray(betas, dtype=np.float64).reshape(-1))
        if len(b) != 2 or not all(0.0 <= x < 1.0 for x in b):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        if eps < 0 or weight_decay < 0:
            raise ValueError(f"Adam: eps and weight_decay must be >= 0, got eps={eps}, weight_decay={weight_decay}")
        self.betas: tuple[float, float] = (b[0], b[1])
        self.eps, self.weight_decay = float(eps), float(weight_decay)

    def _set_hyperparameters(self, values: dict[str, Any]) -> None:
        self.lr = self._check_lr(float(values["lr"]))
        self._configure(values["betas"], float(values["eps"]), float(values["weight_decay"]))

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
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
