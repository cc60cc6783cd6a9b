"""`Context` and `Function`: one recorded op on the tape.

A primitive op is a `Function` subclass with `forward(ctx, *arrays, **attrs)` and
`backward(ctx, grad)` on plain ndarrays. `Function.apply` records one node per call:
the output tensor keeps a reference to the node's `Context`, which keeps its parent
tensors (a tuple, so traversal order is deterministic). Nothing points back from a
parent to a child, so a graph has no reference cycles and is freed with its root.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import anomaly
from .grad_mode import _state, current_scope
from .versions import share_view_counter, unwatch, watch_saved

if TYPE_CHECKING:  # pragma: no cover
    from ..tensor import Tensor

_anomaly_state = anomaly._state


class Context:
    """What one recorded op keeps for its backward: saved arrays, attributes, parents.

    `stack` is the creation stack, captured only inside `detect_anomaly()`.
    """

    _watched: tuple = ()  # (VersionCounter, version, input index or -1 for the output) per saved array
    stack: Any = None

    def __init__(self, fn: type[Function], parents: tuple[Tensor, ...], attrs: dict):
        self.fn = fn
        self.parents = parents
        self.attrs = attrs
        self.scope = current_scope()
        self.needs_input_grad: tuple[bool, ...] = tuple(p.requires_grad for p in parents)
        self._saved: tuple[Any, ...] | None = ()
        self.released = False

    @property
    def op_name(self) -> str:
        """The name of the recorded op (e.g. "conv2d")."""
        return self.fn.name()

    def save_for_backward(self, *values: Any) -> None:
        """Keep arrays (or anything) for backward; released after a backward without retain_graph."""
        self._saved = values

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """What forward saved with `save_for_backward`; raises after the graph was freed by a backward."""
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
    def backward(ctx: Any, grad: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    #: True when `backward` is written so that it also works on tensors: only arithmetic and the
    #: helpers of `tinygrad_np.ops.dual` on `grad` and on what `ctx.saved_tensors` gives back.
    #: Then `create_graph=True` runs that same code on tensors (see docs/higher_order.md).
    differentiable_backward = False

    @classmethod
    def backward_graph(cls, ctx: Any, grad: Tensor) -> Any:
        """The backward pass recorded on the tape (for `create_graph=True`): by default `backward`
        itself run on tensors, if the op declares `differentiable_backward`."""
        if not cls.differentiable_backward:
            raise RuntimeError(
                f"{cls.name()}: its backward cannot be differentiated (create_graph=True): "
                f"{cls.__name__} does not set differentiable_backward = True nor define backward_graph; "
                "see docs/higher_order.md for how to write a backward that works on tensors")
        return cls.backward(ctx, grad)

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Tensor:
        from ..tensor import Tensor

        tensors = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
        ctx = Context(cls, tensors, attrs)
        out = cls.forward(ctx, *(t._data for t in tensors), **attrs)
        if not isinstance(out, np.ndarray):  # a NumPy scalar, from a ufunc on 0-d arrays
            scalar, out = out, np.asarray(out)
            if ctx._saved:  # a saved output is the output array, as for any other shape
                ctx._saved = tuple(out if v is scalar else v for v in ctx._saved)
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
_forward_hooks: list[Callable[[Context, np.ndarray], Any]] = []
