"""ReduceLROnPlateau: cut the learning rates when a monitored metric stops improving."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..optimizer import Optimizer
from .base import LRScheduler, check_optimizer, per_group


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rates by factor (not below min_lr) once the metric passed to `step(metric)`
    has not improved for more than `patience` steps, then wait `cooldown` steps before counting again.

    mode "min" (lower is better) or "max"; improvement means beating the best value by threshold,
    relative (threshold_mode "rel": best * (1 - threshold) for min) or absolute ("abs"). A reduction
    smaller than eps is skipped. Same as torch.optim.lr_scheduler.ReduceLROnPlateau.
    """

    _state_keys = ("factor", "min_lrs", "patience", "cooldown", "eps", "mode", "threshold", "threshold_mode",
                   "best", "num_bad_epochs", "cooldown_counter", "default_min_lr")

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0, eps: float = 1e-8):
        name = "ReduceLROnPlateau"
        if not factor < 1.0:
            raise ValueError(f"{name}: factor must be < 1, got {factor}")
        self.optimizer = check_optimizer(name, optimizer)
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.min_lrs = per_group(name, "min_lr", min_lr, optimizer)
        self.factor, self.patience, self.cooldown, self.eps = factor, patience, cooldown, eps
        self.last_epoch = 0
        self._step_count = 0
        self._last_lr = self._lrs()
        self.base_lrs = self._lrs()
        self._set_mode(mode, threshold, threshold_mode)
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _set_mode(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric value a improves on best by more than the threshold."""
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" else a > best + self.threshold

    @property
    def in_cooldown(self) -> bool:
        """True while waiting after a reduction."""
        return self.cooldown_counter > 0

    def step(self, metrics: Any = None) -> None:
        """Record this epoch's metric (a number or a one-element tensor) and reduce the rates if due."""
        if metrics is None:
            raise TypeError("ReduceLROnPlateau.step: pass the monitored metric, e.g. scheduler.step(val_loss)")
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        self._step_count += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._lrs()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups but "
                                   f"min_lr has {len(self.min_lrs)} values (a group was added); set min_lrs")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs, strict=True):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what `state_dict()` returned (PyTorch's state dicts load too)."""
        if isinstance(state_dict, Mapping) and "base_lrs" not in state_dict:
            state_dict = {**state_dict, "base_lrs": self.base_lrs}
        super().load_state_dict(state_dict)
        self.min_lrs = list(self.min_lrs)
        self._set_mode(self.mode, self.threshold, self.threshold_mode)
