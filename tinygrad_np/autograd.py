"""The tape: `Context`, `Function`, the reverse-mode engine, and `sum_to_shape`.

A primitive op is a `Function` subclass with `forward(ctx, *arrays, **attrs)` and
`backward(ctx, grad)` on plain ndarrays. `Function.apply` records one node per call:
the output tensor keeps a reference to the node's `Context`, which keeps its parent
tensors (a tuple, so traversal order is deterministic). Nothing points back from a
parent to a child, so a graph has no reference cycles and is freed with its root.

Safety nets (see docs/debugging.md): arrays an op saved are checked for in-place changes
before its backward (inplace.py), and `detect_anomaly()` checks for NaN/Inf (anomaly.py).
"""
from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, Tuple, TypeVar

import numpy as np

from . import anomaly
from .inplace import check_versions, share_view_counter, unwatch, watch_saved

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor


class _State(threading.local):
    """Per-thread switches, with their defaults as class attributes (read on every op)."""
    grad_enabled = True
    scope: Tuple[str, ...] = ()


_state = _State()
_anomaly_state = anomaly._state
F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """True unless inside a `no_grad()` block (per thread)."""
    return _state.grad_enabled


class no_grad:
    """Context manager and decorator: operations inside record nothing on the tape."""

    def __enter__(self) -> "no_grad":
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


def sum_to_shape(grad: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    """Reduce a broadcast gradient back to `shape`.

    Sums over the leading dimensions that broadcasting added, then over every
    dimension where `shape` has size 1 but `grad` does not.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"sum_to_shape: gradient {grad.shape} has fewer dims than target {shape}")
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    if grad.shape != shape:
        raise ValueError(f"sum_to_shape: cannot reduce gradient {grad.shape} to {shape}")
    return grad


def current_scope() -> Tuple[str, ...]:
    """The names of the enclosing `name_scope` blocks (e.g. Module calls), outermost first."""
    return _state.scope


class name_scope:
    """Tag every op recorded inside with `name` (nested scopes join: ("conv1",) -> ("net", "conv1"))."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> "name_scope":
        self._previous = current_scope()
        _state.scope = self._previous + (self.name,)
        return self

    def __exit__(self, *exc: object) -> None:
        _state.scope = self._previous


class Context:
    """What one recorded op keeps for its backward: saved arrays, attributes, parents.

    `stack` is the creation stack, captured only inside `detect_anomaly()`.
    """

    _watched: tuple = ()  # (VersionCounter, version, input index or -1 for the output) per saved array
    stack: Any = None

    def __init__(self, fn: type, parents: Tuple["Tensor", ...], attrs: dict):
        self.fn = fn
        self.parents = parents
        self.attrs = attrs
        self.scope = current_scope()
        self.needs_input_grad: Tuple[bool, ...] = tuple(p.requires_grad for p in parents)
        self._saved: Optional[Tuple[Any, ...]] = ()
        self.released = False

    @property
    def op_name(self) -> str:
        return self.fn.name()

    def save_for_backward(self, *values: Any) -> None:
        """Keep arrays (or anything) for backward; released after a backward without retain_graph."""
        self._saved = values

    @property
    def saved_tensors(self) -> Tuple[Any, ...]:
        if self.released:
            raise RuntimeError(
                f"{self.op_name}: trying to backward through the graph a second time; its saved "
                "arrays were freed after the first backward. Pass retain_graph=True to the first "
                "backward() if you need to call it twice."
            )
        return self._saved  # type: ignore[return-value]

    def release(self) -> None:
        """Free the saved arrays (after a backward without retain_graph)."""
        self._saved = None
        self.released = True
        if self._watched:
            unwatch(self)

    def __del__(self) -> None:
        if self._watched:  # a graph dropped without backward, or kept by retain_graph=True
            unwatch(self)


class Function:
    """Base class of every primitive op; subclass it to write a custom op.

    Implement `forward(ctx, *arrays, **attrs) -> ndarray` and
    `backward(ctx, grad) -> ndarray | tuple` (one gradient per array input, or None where
    `ctx.needs_input_grad[i]` is False). Call it with `MyOp.apply(*tensors, **attrs)`.
    """

    @classmethod
    def name(cls) -> str:
        return getattr(cls, "op_name", None) or cls.__name__.lower()

    @staticmethod
    def forward(ctx: Context, *args: Any, **attrs: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Any:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> "Tensor":
        from .tensor import Tensor

        tensors = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
        ctx = Context(cls, tensors, attrs)
        out = cls.forward(ctx, *(t._data for t in tensors), **attrs)
        if not isinstance(out, np.ndarray):
            out = np.asarray(out)
        for hook in _forward_hooks:
            hook(ctx, out)
        check_anomalies = _anomaly_state.enabled
        if check_anomalies:
            anomaly.check_forward(ctx, out)
        requires_grad = _state.grad_enabled and any(ctx.needs_input_grad)
        result = Tensor(out, requires_grad=requires_grad, _copy=False)
        if out.base is not None:
            share_view_counter(tensors, out, result)
        if requires_grad:
            result._ctx = ctx
            if ctx._saved:
                watch_saved(ctx, out, result)
            if check_anomalies:
                ctx.stack = anomaly.capture_stack()
        return result


# Callables run after every primitive forward as hook(ctx, output); used by tracing tools.
_forward_hooks: list = []


def _topological_order(root: "Tensor") -> list:
    """Non-leaf tensors reachable from root, each after all of its consumers (iterative DFS)."""
    order: list = []
    visited = set()
    stack: list = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited or node._ctx is None:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in reversed(node._ctx.parents):
            if parent._ctx is not None and id(parent) not in visited:
                stack.append((parent, False))
    order.reverse()  # root first
    return order


def iter_graph(root: "Tensor") -> Iterator["Tensor"]:
    """Yield the recorded (non-leaf) tensors from root backwards, in backward's visiting order."""
    return iter(_topological_order(root))


def _as_gradient_tuple(result: Any, n: int, op: str) -> Sequence[Any]:
    grads = result if isinstance(result, tuple) else (result,)
    if len(grads) != n:
        raise RuntimeError(f"{op}: backward returned {len(grads)} gradients for {n} inputs")
    return grads


def backward(root: "Tensor", grad: Optional[np.ndarray] = None, retain_graph: bool = False) -> None:
    """Reverse-mode sweep from `root`, accumulating into `.grad` of leaves that require grad."""
    if not root.requires_grad:
        raise RuntimeError(
            f"backward: tensor {root._describe()} does not require grad and has no graph; "
            "create its inputs with requires_grad=True"
        )
    check_anomalies = _anomaly_state.enabled
    if grad is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for a scalar root, but the root has "
                f"shape {root.shape}; pass grad=<array of shape {root.shape}>"
            )
        grad = np.ones_like(root._data)
    else:
        try:
            grad = np.asarray(grad._data if hasattr(grad, "_ctx") else grad, dtype=root.dtype)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"backward: grad must be numbers of shape {root.shape}, "
                            f"got {type(grad).__name__}: {exc}") from None
        if grad.shape != root.shape:
            raise ValueError(f"backward: grad has shape {grad.shape} but the root has shape {root.shape}")
        if check_anomalies:
            anomaly.check_root_grad(grad)

    if root._ctx is None:  # a leaf root: d root / d root = grad
        root._accumulate(grad)
        return

    grads = {id(root): grad}
    for node in _topological_order(root):
        g = grads.pop(id(node), None)
        ctx = node._ctx
        if g is None:
            continue
        if ctx.released:
            ctx.saved_tensors  # raises the "second backward" error
        if node._retains_grad:
            node._accumulate(g)
        if ctx._watched:
            check_versions(ctx)
        input_grads = _as_gradient_tuple(ctx.fn.backward(ctx, g), len(ctx.parents), ctx.op_name)
        for i, (parent, needed, pg) in enumerate(zip(ctx.parents, ctx.needs_input_grad, input_grads)):
            if not needed or pg is None:
                continue
            pg = np.asarray(pg)
            if check_anomalies:
                anomaly.check_backward(ctx, i, pg, g)
            if pg.shape != parent.shape:
                try:
                    pg = sum_to_shape(pg, parent.shape)
                except ValueError:
                    raise RuntimeError(
                        f"{ctx.op_name}: backward produced a gradient of shape {pg.shape} for an "
                        f"input of shape {parent.shape}"
                    ) from None
            if pg.dtype != parent.dtype:
                pg = pg.astype(parent.dtype)
            if parent._ctx is None:
                parent._accumulate(pg)
            elif id(parent) in grads:
                grads[id(parent)] = grads[id(parent)] + pg
            else:
                grads[id(parent)] = pg
        if not retain_graph:
            ctx.release()

