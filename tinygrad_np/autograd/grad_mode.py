"""Per-thread switches of the tape: grad mode (`no_grad`) and name scopes (`name_scope`)."""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar


class _State(threading.local):
    """Per-thread switches, with their defaults as class attributes (read on every op)."""
    grad_enabled = True
    scope: tuple[str, ...] = ()


_state = _State()
F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """True unless inside a `no_grad()` block (per thread)."""
    return _state.grad_enabled


class no_grad:
    """Context manager and decorator: operations inside record nothing on the tape."""

    def __enter__(self) -> no_grad:
        self._previous = is_grad_enabled()
        _state.grad_enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self._previous

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class enable_grad(no_grad):
    """Context manager and decorator: operations inside are recorded again (inside `no_grad`)."""

    def __enter__(self) -> enable_grad:
        self._previous = is_grad_enabled()
        _state.grad_enabled = True
        return self

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with enable_grad():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def set_grad_enabled(mode: bool) -> bool:
    """Switch recording on or off for this thread; returns the previous setting."""
    previous = _state.grad_enabled
    _state.grad_enabled = bool(mode)
    return previous


def current_scope() -> tuple[str, ...]:
    """The names of the enclosing `name_scope` blocks (e.g. Module calls), outermost first."""
    return _state.scope


class name_scope:
    """Tag every op recorded inside with `name` (nested scopes join: ("conv1",) -> ("net", "conv1"))."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> name_scope:
        self._previous = current_scope()
        _state.scope = self._previous + (self.name,)
        return self

    def __exit__(self, *exc: object) -> None:
        _state.scope = self._previous
