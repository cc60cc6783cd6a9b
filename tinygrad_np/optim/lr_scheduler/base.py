"""The base class of the learning-rate schedulers, and their shared checks."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..optimizer import Optimizer


def check_optimizer(scheduler: str, optimizer: Any) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{scheduler}: expected an optimizer (e.g. tg.optim.SGD(model.parameters(), lr=0.1)), "
                        f"got {type(optimizer).__name__}")
    return optimizer


def per_group(scheduler: str, name: str, value: Any, optimizer: Optimizer) -> list[Any]:
    """One value per parameter group: a list/tuple of that length, or one value repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{scheduler}: {name} has {len(value)} values but the optimizer has "
                             f"{len(optimizer.param_groups)} parameter groups")
        return list(value)
    return [value] * len(optimizer.param_groups)


class LRScheduler:
    """Base class: `base_lrs` (each group's "initial_lr"), `last_epoch` (steps taken; 0 after
    construction), `get_last_lr()`, `step()`, `state_dict()` / `load_state_dict()`. Subclasses
    define `get_lr()`, the next learning rates from the current ones."""

    _state_keys: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        name = type(self).__name__
        self.optimizer = check_optimizer(name, optimizer)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{name}: param_groups[{i}] has no 'initial_lr', needed to resume with "
                                   f"last_epoch={last_epoch} (load the optimizer's state dict first)")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for the step being taken (called by `step`)."""
        raise NotImplementedError(f"{type(self).__name__}: schedulers must define get_lr()")

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last `step()` (one per parameter group)."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch (or batch, for schedules counted in batches) and set the new learning rates;
        call it after `optimizer.step()`."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's progress and settings (not the optimizer, not functions)."""
        base = {"base_lrs": list(self.base_lrs), "last_epoch": self.last_epoch, "_step_count": self._step_count,
                "_last_lr": list(self._last_lr)}
        return {**base, **{k: _storable(getattr(self, k)) for k in self._state_keys}}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what `state_dict()` returned (PyTorch's scheduler state dicts load too)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        missing = [k for k in ("base_lrs", "last_epoch", *self._state_keys) if k not in state_dict]
        if missing:
            raise ValueError(f"{type(self).__name__}.load_state_dict: missing keys {missing}")
        self.base_lrs = [float(v) for v in state_dict["base_lrs"]]
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict.get("_step_count", self.last_epoch + 1))
        self._last_lr = [float(v) for v in state_dict.get("_last_lr", self._lrs())]
        for k in self._state_keys:
            setattr(self, k, self._restore(k, state_dict[k]))

    def _restore(self, key: str, value: Any) -> Any:
        return value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.get_last_lr()})"


def _storable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
