"""Graph drawing: DOT structure, labels, options, determinism, rendering and the missing-`dot` path."""
import re
import shutil
import sys

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import autograd, viz

NODE_RE = re.compile(r"^\s*(\w+) \[label=<(.*)> (shape=\w+)(.*)\]$")
EDGE_RE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[label=<(.*)>\])?$")
HAS_DOT = shutil.which("dot") is not None


def parse(dot, attrs=None):
    """Nodes {id: (label, shape)} and edges [(src, dst, label)] of the graph (legend excluded).

    When a dict is passed as `attrs`, it receives {id: the node's other attributes}.
    """
    nodes, edges = {}, []
    for line in dot.splitlines():
        m = NODE_RE.match(line)
        if m and not m.group(1).startswith("legend_"):
            nodes[m.group(1)] = (m.group(2), m.group(3))
            if attrs is not None:
                attrs[m.group(1)] = m.group(4)
            continue
        m = EDGE_RE.match(line)
        if m:
            edges.append((m.group(1), m.group(2), m.group(3)))
    return nodes, edges


def ops_of(nodes):
    return {k: v for k, v in nodes.items() if v[1] == "shape=ellipse"}


def tensors_of(nodes):
    return {k: v for k, v in nodes.items() if v[1] != "shape=ellipse" and k != "omitted"}


def small_graph(seed=0):
    rng = np.random.default_rng(seed)
    x = tg.Tensor(rng.normal(size=(4, 3)), name="x")
    w = tg.Tensor(rng.normal(size=(3, 2)), requires_grad=True, name="w")
    b = tg.Tensor(rng.normal(size=(2,)), requires_grad=True, name="b")
    y = (x @ w + b).sigmoid().sum()
    return x, w, b, y


def label_of(nodes, name):
    found = [lab for lab, _ in nodes.values() if f"<b>{name}</b>" in lab]
    assert len(found) == 1, (name, found)
    return found[0]


def test_small_graph_has_exact_nodes_and_edges():
    x, w, b, y = small_graph()
    nodes, edges = parse(viz.to_dot(y, legend=False))
    # tensors: x, w, b, x@w, +b, sigmoid, sum; ops: matmul, add, sigmoid, sum
    assert len(tensors_of(nodes)) == 7
    assert [lab.split("</b>")[0] for lab, _ in ops_of(nodes).values()] == \
        ["<b>sum", "<b>sigmoid", "<b>add", "<b>matmul"]
    assert len(edges) == 10  # 6 input edges (2 + 2 + 1 + 1) + 4 op -> output edges
    matmul = [k for k, (lab, _) in nodes.items() if "<b>matmul</b>" in lab][0]
    into_matmul = sorted((nodes[s][0].split("</b>")[0], lab) for s, d, lab in edges if d == matmul)
    assert into_matmul == [("<b>w", "1"), ("<b>x", "0")]
    assert all(lab is None for s, d, lab in edges if d != matmul)  # add, sigmoid, sum: no labels


def test_labels_show_shapes_dtypes_and_kinds():
    x, w, b, y = small_graph()
    nodes, _ = parse(viz.to_dot(y, legend=False))
    assert "(4, 3) float32" in label_of(nodes, "x")
    assert "(3, 2) float32" in label_of(nodes, "w")
    assert "requires_grad=False" in label_of(nodes, "x")
    shapes = sorted(shape for _, shape in nodes.values())
    assert shapes.count("shape=parallelogram") == 3  # x, w, b are plain leaves (inputs)
    assert shapes.count("shape=box") == 4            # 3 intermediates + the root
    root = [lab for lab, _ in nodes.values() if lab.startswith("() float32")]
    assert len(root) == 1
    assert f"value={float(y.data):.4g}" in root[0]


def test_conv_pool_reshape_and_reduction_attributes():
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.normal(size=(2, 3, 9, 9)))
    w = tg.Tensor(rng.normal(size=(4, 3, 3, 3)), requires_grad=True, name="w")
    bias = tg.Tensor(np.zeros(4), requires_grad=True, name="bias")
    h = tg.conv2d(x, w, bias, stride=2, padding=1)              # (2, 4, 5, 5)
    p = tg.max_pool2d(h, 2, stride=1)                            # (2, 4, 4, 4)
    out = p.reshape(2, 64).sum(axis=1)
    nodes, edges = parse(viz.to_dot(out, legend=False))
    conv = [lab for lab, _ in ops_of(nodes).values() if "<b>conv2d</b>" in lab][0]
    assert "stride=(2, 2)" in conv
    assert "padding=(1, 1)" in conv
    pool = [lab for lab, _ in ops_of(nodes).values() if "<b>max_pool2d</b>" in lab][0]
    assert "kernel=(2, 2)" in pool
    assert "stride=(1, 1)" in pool
    assert any("shape=(2, 64)" in lab for lab, _ in ops_of(nodes).values())
    assert any("axis=(1,)" in lab and "keepdims=False" in lab for lab, _ in ops_of(nodes).values())
    assert any(lab.startswith("(2, 4, 5, 5) float32") for lab, _ in nodes.values())
    assert sorted(lab for _, _, lab in edges if lab) == ["bias", "input", "weight"]


def test_gradient_norm_after_backward_and_no_grad_yet_before():
    x, w, b, y = small_graph()
    hidden = (x @ w).retain_grad()
    y = (hidden + b).sigmoid().sum()
    before, _ = parse(viz.to_dot(y, legend=False))
    assert "no grad yet" in label_of(before, "w")
    assert "no grad yet" in label_of(before, "b")
    assert sum("no grad yet" in lab for lab, _ in before.values()) == 6  # all but x
    y.backward()
    after, _ = parse(viz.to_dot(y, legend=False))
    assert f"grad \u2016\u00b7\u2016={np.linalg.norm(w.grad):.2e}" in label_of(after, "w")
    assert f"grad \u2016\u00b7\u2016={np.linalg.norm(b.grad):.2e}" in label_of(after, "b")
    retained = [lab for lab, _ in after.values() if lab.startswith("(4, 2)") and "\u2016" in lab]
    assert len(retained) == 1
    assert f"={np.linalg.norm(hidden.grad):.2e}" in retained[0]
    assert sum("grad not retained" in lab for lab, _ in after.values()) == 3  # +b, sigmoid, root
    assert not any("no grad yet" in lab for lab, _ in after.values())


def test_same_graph_gives_identical_text():
    *_, y1 = small_graph(seed=3)
    *_, y2 = small_graph(seed=3)
    assert viz.to_dot(y1) == viz.to_dot(y1) == viz.to_dot(y2)
    *_, y3 = small_graph(seed=4)
    assert viz.to_dot(y3) != viz.to_dot(y1)  # data shows up through the root's value


def test_escaping_names_with_quotes_and_angle_brackets():
    evil = 'a"b<c>&d\n}'
    x = tg.Tensor(np.ones(3), requires_grad=True, name=evil)
    dot = viz.to_dot((x * 2).sum())
    assert "a&quot;b&lt;c&gt;&amp;d\\x0a}" in dot
    assert evil not in dot
    if HAS_DOT:
        svg = viz.draw((x * 2).sum()).pipe(format="svg").decode()
        assert "a&quot;b&lt;c&gt;&amp;d" in svg or 'a"b&lt;c&gt;&amp;d' in svg


def test_max_nodes_keeps_nearest_nodes_and_notes_the_rest():
    x = tg.Tensor(np.ones(2), requires_grad=True, name="x")
    y = x
    for _ in range(10):
        y = y.tanh()                         # a chain of 10 ops: 11 tensors + 10 ops = 21 nodes
    nodes, edges = parse(viz.to_dot(y, max_nodes=5, legend=False))
    assert set(nodes) == {"n0", "n1", "n2", "n3", "n4", "omitted"}
    assert "16 nodes not shown (of 21)" in nodes["omitted"][0]
    assert len(edges) == 4
    assert "made by tanh (not shown)" in nodes["n4"][0]  # kept tensor, its op was cut
    nodes, edges = parse(viz.to_dot(y, max_nodes=4, legend=False))
    assert "1 input not shown" in nodes["n3"][0]  # kept op, its input tensor was cut
    assert "17 nodes not shown (of 21)" in nodes["omitted"][0]
    assert len(edges) == 3
    full, _ = parse(viz.to_dot(y, max_nodes=21, legend=False))
    assert "omitted" not in full
    assert len(full) == 21


def test_clusters_follow_name_scopes():
    x = tg.Tensor(np.ones((1, 2)), name="x")
    w = tg.Tensor(np.ones((2, 2)), requires_grad=True, name="w")
    with autograd.name_scope("net"):
        with autograd.name_scope("conv1"):
            h = (x @ w).exp()
        with autograd.name_scope("fc"):
            h = h.sigmoid()
    y = h.sum()
    dot = viz.to_dot(y, legend=False)
    assert dot.count("subgraph cluster_") == 3
    net = dot.index("label=<net>")
    conv1, fc = dot.index("label=<conv1>"), dot.index("label=<fc>")
    assert net < fc < conv1  # fc is met first from the root; both nested inside net
    conv_block = dot[conv1:dot.index("}", conv1)]
    assert "<b>matmul</b>" in conv_block
    assert "<b>exp</b>" in conv_block
    assert dot.index("<b>sum</b>") < dot.index("subgraph")  # recorded outside any scope: top level
    flat = viz.to_dot(y, legend=False, cluster_modules=False)
    assert "subgraph" not in flat
    assert "in net.conv1" in flat
    assert "in net.fc" in flat


def test_parameters_of_a_module_are_drawn_in_its_cluster():
    rng = np.random.default_rng(0)

    class Net(tg.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = tg.nn.Linear(3, 2, rng=rng)

        def forward(self, x):
            return self.fc(x)

    y = Net()(tg.Tensor(rng.normal(size=(4, 3)))).sum()
    dot = viz.to_dot(y, legend=False)
    nodes, _ = parse(dot)
    assert label_of(nodes, "fc.weight")
    assert [s for lab, s in nodes.values() if "fc.weight" in lab] == \
        ["shape=cylinder"]
    block = dot[dot.index("label=<fc>"):]
    block = block[:block.index("}")]
    assert "fc.weight" in block
    assert "fc.bias" in block


def test_multiple_roots_share_nodes():
    x, w, b, loss = small_graph()
    hidden = x @ w
    loss = (hidden + b).sigmoid().sum()
    aux = (hidden * hidden).mean()
    attrs = {}
    nodes, edges = parse(viz.to_dot([loss, aux], legend=False), attrs)
    roots = [k for k, a in attrs.items() if "peripheries=2" in a]
    assert roots == ["n0", "n1"]
    # loss: 7 tensors, 4 ops, 10 edges; aux = sum(hidden * hidden) * (1/n) adds 4 tensors
    # (product, sum, the constant 1/n, aux), 3 ops and 8 edges (hidden enters the product twice)
    assert len(tensors_of(nodes)) == 7 + 4
    assert len(ops_of(nodes)) == 4 + 3
    assert len(edges) == 10 + 8
    assert viz.to_dot([loss, aux, loss]) == viz.to_dot([loss, aux])


def test_backward_order_labels_follow_the_engine():
    x, w, b, y = small_graph()
    nodes, _ = parse(viz.to_dot(y, backward_order=True, legend=False))
    steps = {}
    for lab, _ in ops_of(nodes).values():
        name = re.search(r"<b>(\w+)</b>", lab).group(1)
        steps[name] = int(re.search(r"backward #(\d+)", lab).group(1))
    expected = [t.grad_fn for t in autograd.iter_graph(y)]
    assert sorted(steps, key=steps.get) == expected == ["sum", "sigmoid", "add", "matmul"]
    assert "backward #" not in viz.to_dot(y)


def test_show_stats_and_rankdir():
    t = tg.Tensor(np.array([1.0, 2.0, 6.0]), requires_grad=True, name="t")
    dot = viz.to_dot(t.exp(), show_stats=True, rankdir="LR")
    assert "min 1 mean 3 max 6" in dot
    assert "rankdir=LR" in dot
    assert "mean" not in viz.to_dot(t.exp())


def test_leaf_root_and_deep_chain():
    x = tg.Tensor(np.ones(1), requires_grad=True, name="x")
    nodes, edges = parse(viz.to_dot(x, legend=False))
    assert len(nodes) == 1
    assert not edges
    y = x
    for _ in range(3000):  # deeper than Python's recursion limit
        y = y * 1.0
    nodes, edges = parse(viz.to_dot(y, legend=False))
    assert len(ops_of(nodes)) == 3000
    assert len(edges) == 3000 * 3


def test_bad_arguments_raise_clear_errors():
    *_, y = small_graph()
    with pytest.raises(ValueError, match="rankdir"):
        viz.to_dot(y, rankdir="XY")
    with pytest.raises(ValueError, match="max_nodes"):
        viz.to_dot(y, max_nodes=0)
    with pytest.raises(TypeError, match="root 1 is a ndarray"):
        viz.to_dot([y, np.ones(2)])
    with pytest.raises(ValueError, match="at least one root"):
        viz.to_dot([])
    with pytest.raises(ValueError, match="format"):
        viz.draw(y, format="jpg")
    with pytest.raises(ValueError, match="ends in .png but format='svg'"):
        viz.draw(y, "g.png", format="svg")


def test_draw_returns_digraph_with_the_same_source():
    *_, y = small_graph()
    g = viz.draw(y, backward_order=True)
    assert g.source == viz.to_dot(y, backward_order=True)


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` is not installed")
def test_draw_renders_a_real_svg(tmp_path):
    *_, y = small_graph()
    y.backward()
    viz.draw(y, tmp_path / "graph.svg")
    svg = (tmp_path / "graph.svg").read_text()
    assert "<svg" in svg
    assert "matmul" in svg
    assert "(4, 3) float32" in svg
    assert (tmp_path / "graph.dot").read_text() == viz.to_dot(y)
    viz.draw(y, tmp_path / "noext", format="png")
    assert (tmp_path / "noext.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_dot_writes_source_and_raises_with_install_hint(tmp_path, monkeypatch):
    *_, y = small_graph()
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError) as err:
        viz.draw(y, tmp_path / "out" / "graph.svg")
    assert "apt-get install graphviz" in str(err.value)
    assert "brew install graphviz" in str(err.value)
    assert (tmp_path / "out" / "graph.dot").read_text() == viz.to_dot(y)
    assert not (tmp_path / "out" / "graph.svg").exists()
    with pytest.warns(RuntimeWarning, match="apt-get install graphviz"):
        g = viz.draw(y, tmp_path / "w.pdf", on_missing="warn")
    assert g.source == viz.to_dot(y)
    assert (tmp_path / "w.dot").exists()


def test_executable_not_found_from_graphviz_is_handled(tmp_path, monkeypatch):
    import graphviz

    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(("dot",))

    *_, y = small_graph()
    monkeypatch.setattr(viz.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(graphviz.Digraph, "pipe", missing)
    with pytest.raises(RuntimeError, match="brew install graphviz"):
        viz.draw(y, tmp_path / "g.svg")
    assert (tmp_path / "g.dot").exists()


def test_missing_graphviz_package_gives_install_command(monkeypatch):
    *_, y = small_graph()
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad_np\[viz\]"'):
        viz.draw(y)
    assert viz.to_dot(y)  # DOT text needs no graphviz
