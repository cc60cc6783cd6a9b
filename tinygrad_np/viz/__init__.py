"""Draw the recorded compute graph: `to_dot` (DOT text) and `draw` (a `graphviz.Digraph`).

```python
import tinygrad_np as tg
dot_text = tg.viz.to_dot(loss)                       # no Graphviz needed
tg.viz.draw([loss, aux], "graph.svg", rankdir="LR")  # needs `pip install "tinygrad_np[viz]"`
```

Arrows follow the forward data flow (input tensor -> op -> output tensor). Tensor nodes show
the name, shape, dtype and the gradient (its norm once backward has filled it); op nodes
show the op name and attributes. See docs/graphs.md for the options and the legend.
The `graphviz` package is imported only when `draw` is called.
"""
from __future__ import annotations

import pathlib
import shutil
import warnings
from typing import Any

from .dot import dot_lines
from .trace import Graph, trace

__all__ = ["to_dot", "draw", "trace", "Graph", "FORMATS", "INSTALL_HINT"]

FORMATS = ("svg", "png", "pdf")
RANKDIRS = ("TB", "LR", "BT", "RL")
GRAPH_NAME = "tinygrad_np"
INSTALL_HINT = (
    "Install Graphviz: Debian/Ubuntu `sudo apt-get install graphviz`, macOS `brew install graphviz`, "
    "conda `conda install -c conda-forge graphviz`"
)


def _body(fn: str, roots: Any, rankdir: str, show_stats: bool, cluster_modules: bool,
          max_nodes: int | None, backward_order: bool, legend: bool) -> list[str]:
    if rankdir not in RANKDIRS:
        raise ValueError(f"{fn}: rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)
                                  or max_nodes < 1):
        raise ValueError(f"{fn}: max_nodes must be a positive int or None, got {max_nodes!r}")
    graph = trace(roots, max_nodes=max_nodes)
    return dot_lines(graph, rankdir=rankdir, show_stats=show_stats, cluster_modules=cluster_modules,
                     backward_order=backward_order, legend=legend)


def to_dot(roots: Any, *, rankdir: str = "TB", show_stats: bool = False,
           cluster_modules: bool = True, max_nodes: int | None = None,
           backward_order: bool = False, legend: bool = True) -> str:
    """The Graphviz DOT source of the graph behind `roots` (a Tensor or a list of Tensors).

    rankdir: "TB" (top to bottom) or "LR" (left to right; "BT", "RL" also work).
    show_stats: add min/mean/max of each tensor's data.
    cluster_modules: group the ops recorded inside one `name_scope` (one Module call) in a
      labelled cluster, nested like the modules; parameters join the cluster of their users.
    max_nodes: keep only the first max_nodes nodes in breadth-first order from the roots and
      add a note node "N nodes not shown (of M)".
    backward_order: label each op with "backward #k", its step in backward's visiting order.
    legend: add a small cluster explaining the node styles.

    The same graph always gives byte-identical text.
    """
    body = _body("to_dot", roots, rankdir, show_stats, cluster_modules, max_nodes, backward_order, legend)
    return f"digraph {GRAPH_NAME} {{\n" + "".join(body) + "}\n"


def _import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            'draw: needs the graphviz Python package: pip install "tinygrad_np[viz]" '
            "(or pip install graphviz); to_dot() works without it"
        ) from None
    return graphviz


def _output_paths(path: str | pathlib.Path, format: str | None) -> tuple:
    """(rendered file, .dot source file, format) for a requested path and format."""
    out = pathlib.Path(path)
    suffix = out.suffix.lower().lstrip(".")
    if suffix in ("dot", "gv"):
        raise ValueError(f"draw: path {str(out)!r} names a DOT file; use to_dot() for the source "
                         f"or give a .svg/.png/.pdf path")
    if suffix in FORMATS:
        if format is not None and format != suffix:
            raise ValueError(f"draw: path {str(out)!r} ends in .{suffix} but format={format!r}")
        format = suffix
    else:
        format = format or "svg"
        out = out.with_name(out.name + "." + format)
    return out, out.with_suffix(".dot"), format


def draw(roots: Any, path: str | pathlib.Path | None = None, format: str | None = None, *,
         on_missing: str = "raise", rankdir: str = "TB", show_stats: bool = False,
         cluster_modules: bool = True, max_nodes: int | None = None,
         backward_order: bool = False, legend: bool = True) -> Any:
    """Build a `graphviz.Digraph` of the graph behind `roots`; with `path`, also render it.

    format is "svg", "png" or "pdf" (default: from the path's suffix, else "svg"; a path
    without one of those suffixes gets ".<format>" appended). With a path, the DOT source is
    written next to it as `<stem>.dot` and the rendered file to the path. If the Graphviz `dot`
    program is missing, the .dot file is still written, then a RuntimeError is raised (or a
    RuntimeWarning issued with on_missing="warn") that says how to install Graphviz.
    The other options are those of `to_dot`; `draw(...).source == to_dot(...)`.
    Returns the Digraph (it displays inline in Jupyter).
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"draw: format must be one of {FORMATS}, got {format!r}")
    if on_missing not in ("raise", "warn"):
        raise ValueError(f"draw: on_missing must be 'raise' or 'warn', got {on_missing!r}")
    graphviz = _import_graphviz()
    body = _body("draw", roots, rankdir, show_stats, cluster_modules, max_nodes, backward_order, legend)
    digraph = graphviz.Digraph(GRAPH_NAME, format=format or "svg")
    digraph.body.extend(body)
    if path is None:
        return digraph

    out, source_path, fmt = _output_paths(path, format)
    digraph.format = fmt
    out.parent.mkdir(parents=True, exist_ok=True)
    source_path.write_text(digraph.source, encoding="utf-8")
    try:
        if shutil.which("dot") is None:
            raise graphviz.ExecutableNotFound(("dot",))
        rendered = digraph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        message = (f"draw: the Graphviz 'dot' program was not found on PATH, so {str(out)!r} was not "
                   f"rendered; the DOT source was written to {str(source_path)!r}. {INSTALL_HINT}; "
                   f"then run `dot -T{fmt} {source_path} -o {out}`.")
        if on_missing == "raise":
            raise RuntimeError(message) from None
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        return digraph
    out.write_bytes(rendered)
    return digraph
