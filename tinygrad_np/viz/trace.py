"""Trace a recorded graph into plain node and edge records for drawing (see `viz.py`).

Walks from the root tensor(s) breadth first with an explicit queue (no recursion, so graphs of
any depth work). Every reachable tensor becomes a tensor node and every recorded op (one
`Context` per non-leaf tensor) an op node. Node ids are given in visiting order ("n0", "n1",
...), never from `id()`, so the same graph always gives the same ids.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..autograd import engine
from ..autograd import function as tape
from ..tensor import Tensor

# Ops whose inputs are interchangeable (or that have one input) get unlabelled edges; every
# other op labels each input edge with its argument name or position.
COMMUTATIVE_OPS = frozenset({"add", "mul"})
ARGUMENT_NAMES: dict[str, tuple[str, ...]] = {
    "conv2d": ("input", "weight", "bias"),
    "threshold": ("input", "threshold"),
}

TENSOR_KINDS = ("parameter", "input", "intermediate", "root")


@dataclass
class Node:
    """One node of a traced graph: a tensor or an op."""

    id: str
    kind: str                      # "parameter" | "input" | "intermediate" | "root" | "op"
    tensor: Tensor | None = None
    ctx: tape.Context | None = None
    scope: tuple[str, ...] = ()    # module path used for clustering
    step: int | None = None     # op nodes: 1-based position in backward's visiting order
    notes: list[str] = field(default_factory=list)  # e.g. what max_nodes left out next to it


@dataclass
class Edge:
    """An edge in data-flow direction: input tensor -> op, or op -> its output tensor."""

    src: str
    dst: str
    label: str | None = None


@dataclass
class Graph:
    """A traced graph: kept nodes and edges in a fixed order, and how many nodes were left out."""

    nodes: list[Node]
    edges: list[Edge]
    total_nodes: int
    after_backward: bool

    @property
    def omitted(self) -> int:
        """How many nodes were left out to stay within max_nodes."""
        return self.total_nodes - len(self.nodes)


def is_parameter(t: Tensor) -> bool:
    """True for a `tg.nn.Parameter` (checked by class name so drawing never imports nn)."""
    return t.requires_grad and any(c.__name__ == "Parameter" for c in type(t).__mro__)


def edge_label(op_name: str, position: int, n_inputs: int) -> str | None:
    """The label of input edge `position` of an op, or None when the order does not matter."""
    if n_inputs < 2 or op_name in COMMUTATIVE_OPS:
        return None
    names = ARGUMENT_NAMES.get(op_name)
    if names is not None and position < len(names):
        return names[position]
    return str(position)


def as_roots(roots: Any, fn: str) -> list[Tensor]:
    """Normalize a tensor or a sequence of tensors to a list without duplicates, in order."""
    if isinstance(roots, Tensor):
        items: Sequence[Any] = [roots]
    elif isinstance(roots, (list, tuple)):
        items = roots
    else:
        raise TypeError(f"{fn}: expected a Tensor or a list/tuple of Tensors, got {type(roots).__name__}")
    if not items:
        raise ValueError(f"{fn}: need at least one root tensor, got an empty {type(roots).__name__}")
    out: list[Tensor] = []
    seen = set()
    for i, r in enumerate(items):
        if not isinstance(r, Tensor):
            raise TypeError(f"{fn}: root {i} is a {type(r).__name__}, not a Tensor")
        if id(r) not in seen:
            seen.add(id(r))
            out.append(r)
    return out


def backward_steps(roots: Sequence[Tensor]) -> dict[int, int]:
    """Map id(ctx) -> 1-based step at which backward visits the op.

    Several roots are numbered as if backward ran on each root in turn; an op shared with an
    earlier root keeps its first number.
    """
    steps: dict[int, int] = {}
    for root in roots:
        for t in engine.iter_graph(root):
            key = id(t._ctx)
            if key not in steps:
                steps[key] = len(steps) + 1
    return steps


def _common_prefix(scopes: list[tuple[str, ...]]) -> tuple[str, ...]:
    first = scopes[0]
    n = len(first)
    for s in scopes[1:]:
        n = min(n, len(s))
        for i in range(n):
            if s[i] != first[i]:
                n = i
                break
    return first[:n]


def trace(roots: Any, max_nodes: int | None = None) -> Graph:
    """Trace the graph behind `roots` (a Tensor or a list of Tensors) breadth first.

    With `max_nodes`, keeps the first `max_nodes` nodes in that order (the ones closest to the
    roots) and notes on the kept nodes what was cut next to them.
    """
    roots = as_roots(roots, "trace")
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)
                                  or max_nodes < 1):
        raise ValueError(f"trace: max_nodes must be a positive int or None, got {max_nodes!r}")
    root_ids = {id(r) for r in roots}

    # Breadth-first over ("t", tensor) and ("o", ctx) items; keys are object identities,
    # used only inside this traversal.
    order: list[tuple[str, Any]] = []
    index: dict[tuple[str, int], int] = {}
    consumers: dict[int, list[tuple[str, ...]]] = {}  # id(tensor) -> scopes of the ops using it
    queue: deque = deque()

    def visit(kind: str, obj: Any) -> int:
        key = (kind, id(obj))
        if key not in index:
            index[key] = len(order)
            order.append((kind, obj))
            queue.append((kind, obj))
        return index[key]

    for r in roots:
        visit("t", r)
    while queue:
        kind, obj = queue.popleft()
        if kind == "t":
            if obj._ctx is not None:
                visit("o", obj._ctx)
        else:
            for p in obj.parents:
                consumers.setdefault(id(p), []).append(obj.scope)
                visit("t", p)

    total = len(order)
    keep = total if max_nodes is None else min(max_nodes, total)
    steps = backward_steps(roots)

    nodes: list[Node] = []
    for i, (kind, obj) in enumerate(order[:keep]):
        nid = f"n{i}"
        if kind == "o":
            nodes.append(Node(nid, "op", ctx=obj, scope=obj.scope, step=steps.get(id(obj))))
            continue
        t: Tensor = obj
        if id(t) in root_ids:
            tkind = "root"
        elif t._ctx is not None:
            tkind = "intermediate"
        elif is_parameter(t):
            tkind = "parameter"
        else:
            tkind = "input"
        if t._ctx is not None:
            scope = t._ctx.scope
        elif tkind == "parameter" and id(t) in consumers:
            scope = _common_prefix(consumers[id(t)])
        else:
            scope = ()
        nodes.append(Node(nid, tkind, tensor=t, scope=scope))

    edges: list[Edge] = []
    for i, (kind, obj) in enumerate(order[:keep]):
        if kind == "t":
            if obj._ctx is None:
                continue
            j = index[("o", id(obj._ctx))]
            if j < keep:
                edges.append(Edge(f"n{j}", f"n{i}"))
            else:
                nodes[i].notes.append(f"made by {obj._ctx.op_name} (not shown)")
            continue
        missing = 0
        for pos, p in enumerate(obj.parents):
            j = index[("t", id(p))]
            if j < keep:
                edges.append(Edge(f"n{j}", f"n{i}", edge_label(obj.op_name, pos, len(obj.parents))))
            else:
                missing += 1
        if missing:
            nodes[i].notes.append(f"{missing} input{'s' if missing > 1 else ''} not shown")

    after = False
    for kind, obj in order:
        if kind == "o" and obj.released:
            after = True
            break
        if kind == "t" and obj._ctx is None and obj.requires_grad and obj.grad is not None:
            after = True
            break
    return Graph(nodes, edges, total, after)
