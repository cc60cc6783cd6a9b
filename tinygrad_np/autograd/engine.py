"""The reverse-mode engine: `backward`, `grad`, the graph order they visit, and `sum_to_shape`.

One sweep serves both: `backward` accumulates into the `.grad` of leaves; `grad` returns the
gradients of chosen tensors without touching `.grad`. With `create_graph=True` the sweep runs
each op's backward on tensors, with grad mode on, so the gradients it returns are recorded on
the tape and can be differentiated again (see docs/higher_order.md).

Safety nets (see docs/debugging.md): arrays an op saved are checked for in-place changes
before its backward (versions.py), and `detect_anomaly()` checks for NaN/Inf (anomaly.py).
Both are called from here; neither imports the engine.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import anomaly
from .backward_view import BackwardView
from .grad_mode import name_scope, set_grad_enabled
from .versions import check_versions

if TYPE_CHECKING:  # pragma: no cover
    from ..tensor import Tensor

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


def _topological_order(roots: Sequence[Tensor]) -> list:
    """Non-leaf tensors reachable from the roots, each after all of its consumers (iterative DFS)."""
    order: list = []
    visited = set()
    stack: list = [(root, False) for root in reversed(roots)]
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
    order.reverse()  # roots first
    return order


def iter_graph(root: Tensor) -> Iterator[Tensor]:
    """Yield the recorded (non-leaf) tensors from root backwards, in backward's visiting order."""
    return iter(_topological_order([root]))


def _as_gradient_tuple(result: Any, n: int, op: str) -> Sequence[Any]:
    grads = result if isinstance(result, tuple) else (result,)
    if len(grads) != n:
        raise RuntimeError(f"{op}: backward returned {len(grads)} gradients for {n} inputs")
    return grads


def root_gradient(root: Tensor, grad: Any, op: str = "backward") -> np.ndarray:
    """The gradient a sweep starts from at `root`: ones for a scalar, else `grad` checked."""
    if grad is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for a scalar root, but the root has "
                f"shape {root.shape}; pass grad=<array of shape {root.shape}>"
            )
        return np.ones_like(root._data)
    try:
        arr = np.asarray(getattr(grad, "_data", grad), dtype=root.dtype)  # a Tensor or array-like
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{op}: grad must be numbers of shape {root.shape}, "
                        f"got {type(grad).__name__}: {exc}") from None
    if arr.shape != root.shape:
        raise ValueError(f"{op}: grad has shape {arr.shape} but the root has shape {root.shape}")
    if _anomaly_state.enabled:
        anomaly.check_root_grad(arr)
    return arr


def _leading_to(order: list, targets: dict[int, Tensor]) -> set[int]:
    """ids of the recorded tensors whose gradient reaches a target (including targets themselves)."""
    leads = set(targets)
    for node in reversed(order):  # parents before the tensors made from them
        if any(id(p) in leads for p in node._ctx.parents):
            leads.add(id(node))
    return leads


def sweep(roots: Sequence[tuple[Tensor, Any]], retain_graph: bool = False, create_graph: bool = False,
          targets: dict[int, Tensor] | None = None) -> dict[int, Any]:
    """One reverse sweep from `roots` (tensor, gradient) pairs.

    Without `targets`, gradients are accumulated into `.grad` of the leaves that require grad (and
    of tensors that retain their grad); with `targets` ({id: tensor}), the gradient of each target
    is returned instead, keyed by id, and `.grad` is not touched. Gradients are ndarrays, or
    tensors on the tape when `create_graph`.
    """
    check_anomalies = _anomaly_state.enabled
    results: dict[int, Any] = {}
    grads: dict[int, Any] = {}
    for root, g in roots:
        grads[id(root)] = grads[id(root)] + g if id(root) in grads else g
    order = _topological_order([root for root, _ in roots])
    leads = _leading_to(order, targets) if targets is not None else None
    for root, _ in roots:
        if root._ctx is None:  # a leaf root: d root / d root = grad
            _deliver(root, grads.pop(id(root), None), targets, results)
    previous_mode = set_grad_enabled(create_graph)
    try:
        for node in order:
            g = grads.pop(id(node), None)
            if g is None:
                continue
            ctx = node._ctx
            if targets is not None and id(node) in targets:
                results[id(node)] = g
            if ctx.released:
                _ = ctx.saved_tensors  # raises the "second backward" error
            if targets is None and node._retains_grad:
                node._accumulate(_data(g))
            if ctx._watched:
                check_versions(ctx)
            needs = ctx.needs_input_grad
            if leads is not None:
                needs = tuple(n and id(p) in leads for n, p in zip(needs, ctx.parents, strict=True))
            if create_graph or needs is not ctx.needs_input_grad:
                view: Any = BackwardView(ctx, node, create_graph, needs)
                with name_scope(f"backward of {ctx.op_name}"):
                    result = ctx.fn.backward_graph(view, g) if create_graph else ctx.fn.backward(view, g)
            else:
                result = ctx.fn.backward(ctx, g)
            input_grads = _as_gradient_tuple(result, len(ctx.parents), ctx.op_name)
            for i, (parent, needed, pg) in enumerate(zip(ctx.parents, needs, input_grads, strict=True)):
                if not needed or pg is None:
                    continue
                pg = _checked_input_grad(ctx, i, parent, pg, g, type(node) if create_graph else None,
                                         check_anomalies)
                if parent._ctx is None:
                    _deliver(parent, pg, targets, results)
                elif id(parent) in grads:
                    grads[id(parent)] = grads[id(parent)] + pg
                else:
                    grads[id(parent)] = pg
            if not retain_graph:
                ctx.release()
    finally:
        set_grad_enabled(previous_mode)
    return results


def _data(g: Any) -> np.ndarray:
    return g._data if hasattr(g, "_ctx") else g


def _deliver(leaf: Tensor, g: Any, targets: dict[int, Tensor] | None, results: dict[int, Any]) -> None:
    if g is None:
        return
    if targets is None:
        if leaf.requires_grad:
            leaf._accumulate(_data(g))
    elif id(leaf) in targets:
        results[id(leaf)] = results[id(leaf)] + g if id(leaf) in results else g


def _checked_input_grad(ctx: Any, i: int, parent: Tensor, pg: Any, g: Any, tensor_class: type | None,
                        check_anomalies: bool) -> Any:
    """pg as an array, or as a tensor of `tensor_class` (the class of the tensors on the tape) when
    the backward is recorded, of the parent's shape and dtype."""
    create_graph = tensor_class is not None
    if tensor_class is not None:
        if not hasattr(pg, "_ctx"):  # a constant gradient (e.g. of an op whose derivative is 0)
            pg = tensor_class(np.asarray(pg, dtype=parent.dtype), dtype=parent.dtype)
    else:
        pg = np.asarray(pg)
    if check_anomalies:
        anomaly.check_backward(ctx, i, _data(pg), _data(g))
    if pg.shape != parent.shape:
        try:
            pg = tensor_sum_to_shape(pg, parent.shape) if create_graph else sum_to_shape(pg, parent.shape)
        except ValueError:
            raise RuntimeError(
                f"{ctx.op_name}: backward produced a gradient of shape {pg.shape} for an "
                f"input of shape {parent.shape}"
            ) from None
    if pg.dtype != parent.dtype:
        pg = pg.astype(parent.dtype)
    return pg


def tensor_sum_to_shape(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """`sum_to_shape` for a gradient tensor on the tape."""
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"sum_to_shape: gradient {grad.shape} has fewer dims than target {shape}")
    if extra:
        grad = grad.sum(tuple(range(extra)))
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(ones, keepdims=True)
    if grad.shape != shape:
        raise ValueError(f"sum_to_shape: cannot reduce gradient {grad.shape} to {shape}")
    return grad


def backward(root: Tensor, grad: Any = None, retain_graph: bool = False) -> None:
    """Reverse-mode sweep from `root`, accumulating into `.grad` of leaves that require grad."""
    if not root.requires_grad:
        raise RuntimeError(
            f"backward: tensor {root._describe()} does not require grad and has no graph; "
            "create its inputs with requires_grad=True"
        )
    sweep([(root, root_gradient(root, grad))], retain_graph=retain_graph)
