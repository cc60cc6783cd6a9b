"""Turn a traced graph (`viz_trace.Graph`) into Graphviz DOT lines with HTML-like labels.

All user text (tensor names, scope names, attribute values) goes through `escape`, so quotes,
angle brackets and ampersands cannot break the DOT source.
"""
from __future__ import annotations

import html
from typing import Any

import numpy as np

from ..tensor import Tensor
from .trace import Graph, Node

FONT = "Helvetica"
MAX_ATTR_CHARS = 48

# kind -> DOT node attributes (shape and colours); the legend shows the same styles.
STYLES: dict[str, str] = {
    "parameter": 'shape=cylinder style=filled fillcolor="#ffe0b2" color="#e65100"',
    "input": 'shape=parallelogram style=filled fillcolor="#bbdefb" color="#1565c0"',
    "intermediate": 'shape=box style="rounded,filled" fillcolor="#f5f5f5" color="#757575"',
    "root": 'shape=box style="filled,bold" peripheries=2 fillcolor="#c8e6c9" color="#2e7d32"',
    "op": 'shape=ellipse style=filled fillcolor="#fff9c4" color="#f9a825"',
    "note": 'shape=note style=filled fillcolor="#ffcdd2" color="#c62828"',
}
LEGEND: tuple[tuple[str, str], ...] = (
    ("parameter", "parameter (nn.Parameter)"),
    ("input", "input / constant (other leaf)"),
    ("intermediate", "intermediate tensor"),
    ("root", "root (drawn output)"),
    ("op", "op: name, attributes"),
)


def escape(text: Any) -> str:
    """Escape text for an HTML-like DOT label; control characters are shown as \\xNN."""
    s = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(text))
    return html.escape(s, quote=True)


def _small(text: str, color: str | None = None) -> str:
    c = f' color="{color}"' if color else ""
    return f'<font point-size="9"{c}>{escape(text)}</font>'


def format_value(v: Any) -> str:
    """A compact, deterministic text for an op attribute value."""
    if isinstance(v, slice):
        parts = ["" if x is None else format_value(x) for x in (v.start, v.stop, v.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if v.step is not None else "")
    if v is Ellipsis:
        return "..."
    if isinstance(v, np.ndarray):
        return f"array{tuple(v.shape)} {v.dtype}" if v.size > 4 else repr(v.tolist())
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, tuple):
        inner = ", ".join(format_value(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, list):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


def format_attr(op: str, key: str, v: Any) -> str:
    """`key=value`, shortened to MAX_ATTR_CHARS; an empty reduction axis reads `axis=all`."""
    if key == "axis" and isinstance(v, tuple) and not v and op in ("sum", "max"):
        text = "all"
    elif key == "index" and isinstance(v, tuple):
        text = "[" + ", ".join(format_value(x) for x in v) + "]"
    else:
        text = format_value(v)
    if len(text) > MAX_ATTR_CHARS:
        text = text[:MAX_ATTR_CHARS - 1] + "\u2026"
    return f"{key}={text}"


def grad_text(t: Tensor, after_backward: bool) -> str:
    """What a tensor node says about its gradient."""
    if t.grad is not None:
        return f"grad \u2016\u00b7\u2016={float(np.linalg.norm(t.grad)):.2e}"
    if not t.requires_grad:
        return "requires_grad=False"
    if t._ctx is not None and after_backward:
        return "grad not retained"
    return "no grad yet"


def stats_text(data: np.ndarray) -> str:
    if data.size == 0:
        return "empty"
    if data.dtype.kind == "c":
        return f"|x| max {float(np.abs(data).max()):.3g}"
    d = data.astype(np.float64, copy=False)
    return f"min {float(d.min()):.3g} mean {float(d.mean()):.3g} max {float(d.max()):.3g}"


def tensor_label(node: Node, after_backward: bool, show_stats: bool) -> str:
    t = node.tensor
    assert t is not None
    rows: list[str] = []
    if t.name:
        rows.append(f"<b>{escape(t.name)}</b>")
    rows.append(escape(f"{format_value(tuple(t.shape))} {t.dtype}"))
    data = t._data  # read only: the public getter would copy arrays saved by a live graph
    if data.size == 1 and t.dtype.kind in "biuf":
        rows.append(_small(f"value={float(data.reshape(-1)[0]):.4g}"))
    if show_stats and data.size > 1:
        rows.append(_small(stats_text(data)))
    rows.append(_small(grad_text(t, after_backward)))
    rows.extend(_small(n, "#c62828") for n in node.notes)
    return "<" + "<br/>".join(rows) + ">"


def op_label(node: Node, backward_order: bool, show_scope: bool) -> str:
    ctx = node.ctx
    assert ctx is not None
    name = ctx.op_name
    rows = [f"<b>{escape(name)}</b>"]
    rows.extend(_small(format_attr(name, k, v)) for k, v in ctx.attrs.items())
    if show_scope and ctx.scope:
        rows.append(_small("in " + ".".join(ctx.scope), "#616161"))
    if backward_order and node.step is not None:
        rows.append(_small(f"backward #{node.step}", "#c62828"))
    rows.extend(_small(n, "#c62828") for n in node.notes)
    return "<" + "<br/>".join(rows) + ">"


def _scope_tree(nodes: list[Node]) -> tuple[dict[tuple[str, ...], list[tuple[str, ...]]],
                                               dict[tuple[str, ...], list[Node]]]:
    """Children of each scope path and the nodes directly in it, in first-appearance order."""
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {(): []}
    members: dict[tuple[str, ...], list[Node]] = {(): []}
    for node in nodes:
        path = node.scope
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            if prefix not in children:
                children[prefix] = []
                members[prefix] = []
                children[path[:depth - 1]].append(prefix)
        members[path].append(node)
    return children, members


def dot_lines(graph: Graph, *, rankdir: str = "TB", show_stats: bool = False,
              cluster_modules: bool = True, backward_order: bool = False,
              legend: bool = True) -> list[str]:
    """The body of a `digraph` (one tab-indented statement per line) for `graph`."""
    lines = [
        f'\tgraph [rankdir={rankdir} fontname="{FONT}" fontsize=11 nodesep=0.3 ranksep=0.35]\n',
        f'\tnode [fontname="{FONT}" fontsize=10 margin="0.08,0.04"]\n',
        f'\tedge [fontname="{FONT}" fontsize=9 arrowsize=0.7 color="#555555"]\n',
    ]

    def node_line(node: Node, indent: str) -> str:
        if node.kind == "op":
            label = op_label(node, backward_order, show_scope=not cluster_modules)
        else:
            label = tensor_label(node, graph.after_backward, show_stats)
        return f"{indent}{node.id} [label={label} {STYLES[node.kind]}]\n"

    if cluster_modules:
        children, members = _scope_tree(graph.nodes)
        counter = 0
        # Explicit stack of (scope path, opening?) so module nesting needs no recursion.
        stack: list[tuple[tuple[str, ...], bool]] = [((), True)]
        while stack:
            path, opening = stack.pop()
            indent = "\t" * (len(path) + 1)
            if not opening:
                lines.append("\t" * len(path) + "}\n")
                continue
            if path:
                lines.append("\t" * len(path) + f"subgraph cluster_{counter} {{\n")
                counter += 1
                lines.append(f"{indent}label=<{escape(path[-1])}> labeljust=l fontsize=11 "
                             f'style="rounded,dashed" color="#9e9e9e"\n')
                stack.append((path, False))
            lines.extend(node_line(n, indent) for n in members[path])
            stack.extend((child, True) for child in reversed(children[path]))
    else:
        lines.extend(node_line(n, "\t") for n in graph.nodes)

    for e in graph.edges:
        attr = f" [label=<{escape(e.label)}>]" if e.label is not None else ""
        lines.append(f"\t{e.src} -> {e.dst}{attr}\n")

    if graph.omitted:
        text = f"{graph.omitted} nodes not shown (of {graph.total_nodes})"
        lines.append(f"\tomitted [label=<{escape(text)}> {STYLES['note']}]\n")

    if legend:
        lines.extend(_legend_lines(backward_order))
    return lines


def _legend_lines(backward_order: bool) -> list[str]:
    out = ['\tsubgraph cluster_legend {\n',
           '\t\tlabel=<legend> labeljust=l fontsize=11 style="rounded" color="#bdbdbd"\n']
    entries = list(LEGEND)
    names = [f"legend_{kind}" for kind, _ in entries]
    for (kind, text), name in zip(entries, names, strict=False):
        label = escape(text)
        if kind == "op" and backward_order:
            label += "<br/>" + _small("backward #k: visited k-th by backward", "#c62828")
        out.append(f"\t\t{name} [label=<{label}> {STYLES[kind]}]\n")
    out.append("\t\t" + " -> ".join(names) + " [style=invis]\n")
    out.append("\t}\n")
    return out
