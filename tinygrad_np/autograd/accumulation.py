"""Locks for accumulating into `.grad`: backward passes run by several threads at once into shared
leaves lose no update (as in PyTorch). A tensor takes one of 64 striped locks by its id."""
from __future__ import annotations

import os
import threading

_GRAD_LOCKS: tuple[threading.Lock, ...] = ()


def _new_grad_locks() -> None:
    """Fresh gradient locks: at import, and in a forked child (where a lock held by another thread
    of the parent would stay held)."""
    global _GRAD_LOCKS
    _GRAD_LOCKS = tuple(threading.Lock() for _ in range(64))


_new_grad_locks()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_grad_locks)


def grad_lock(owner: object) -> threading.Lock:
    """The lock that guards `owner.grad`."""
    return _GRAD_LOCKS[id(owner) >> 4 & 63]
