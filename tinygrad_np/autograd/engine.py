"""The reverse-mode engine: `backward`, the graph order it visits, and `sum_to_shape`.

Safety nets (see docs/debugging.md): arrays an op saved are checked for in-place changes
before its backward (versions.py), and `detect_anomaly()` checks for NaN/Inf (anomaly.py).
Both are called from here; neither imports the engine.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import anomaly
from .versions import check_versions

if TYPE_CHECKING:  # pragma: no cover
    from ..tensor.base import TensorBase as Tensor

_anomaly_state = anomaly._state


def sum_to_shape(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
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


def _topological_order(root: Tensor) -> list:
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


def iter_graph(root: Tensor) -> Iterator[Tensor]:
    """Yield the recorded (non-leaf) tensors from root backwards, in backward's visiting order."""
    return iter(_topological_order(root))


def _as_gradient_tuple(result: Any, n: int, op: str) -> Sequence[Any]:
    grads = result if isinstance(result, tuple) else (result,)
    if len(grads) != n:
        raise RuntimeError(f"{op}: backward returned {len(grads)} gradients for {n} inputs")
    return grads


def backward(root: Tensor, grad: np.ndarray | None = None, retain_graph: bool = False) -> None:
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
            grad = np.asarray(getattr(grad, "_data", grad), dtype=root.dtype)  # a Tensor or array-like
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
            _ = ctx.saved_tensors  # raises the "second backward" error
        if node._retains_grad:
            node._accumulate(g)
        if ctx._watched:
            check_versions(ctx)
        input_grads = _as_gradient_tuple(ctx.fn.backward(ctx, g), len(ctx.parents), ctx.op_name)
        for i, (parent, needed, pg) in enumerate(zip(ctx.parents, ctx.needs_input_grad, input_grads, strict=False)):
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

