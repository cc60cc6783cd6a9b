"""Stochastic gradient descent (torch.optim.SGD's update rule)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer


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

    def _set_hyperparameters(self, values: dict[str, Any]) -> None:
        self.lr = self._check_lr(float(values["lr"]))
        self._configure(float(values["momentum"]), float(values["dampening"]), float(values["weight_decay"]),
                        bool(values["nesterov"]))

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
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
