"""The package's shape: imports flow one way between its rooms, no module is too long, and every
public name the README and the docs use exists."""
from __future__ import annotations

import ast
import importlib
import pathlib
import re

import pytest

import tinygrad_np as tg

ROOT = pathlib.Path(__file__).resolve().parent.parent
MAX_LINES = 400

# What each room may import from the package (besides itself). The rooms in the order imports
# flow: data -> ops -> tensor -> nn -> models; autograd, ops and tensor form the core, the only
# place with a loop (Function.apply creates Tensors; Tensor's methods apply Functions).
CORE = {"autograd", "ops", "tensor", "join"}
ALLOWED = {
    "serialization": set(),
    "random": set(),
    "dtypes": set(),
    "data": {"serialization", "random"},
    "autograd": {"tensor"},
    "ops": {"autograd", "tensor"},
    "tensor": {"autograd", "ops"},
    "join": {"ops", "tensor"},
    "creation": CORE | {"random"},
    "functions": CORE,
    "testing": CORE,
    "nn": CORE | {"serialization", "random"},
    "optim": CORE | {"nn"},
    "viz": CORE | {"nn"},
    "onnx": CORE | {"nn", "viz", "serialization"},
    "models": CORE | {"nn", "optim", "viz", "data", "serialization", "testing", "package"},
}


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for package in ("tinygrad_np", "models"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(name: str, path: pathlib.Path, modules: dict[str, pathlib.Path]) -> set[str]:
    """Modules of the project that `name` imports at run time (also inside functions; not under
    `if TYPE_CHECKING`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.Import):
                targets.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else base)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {t for t in targets if t in modules and t != name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _room(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "models":
        return "models"
    return parts[1] if len(parts) > 1 else "package"


def test_each_room_imports_only_the_rooms_below_it(graph):
    wrong = []
    for module, targets in graph.items():
        room = _room(module)
        if room == "package":
            continue
        for target in targets:
            other = _room(target)
            if other != room and other not in ALLOWED[room]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against the flow data -> ops -> tensor -> nn -> models:\n" + "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return components


def test_the_only_import_cycle_is_the_tensor_and_op_core(graph):
    for component in _cycles(graph):
        outside = sorted(m for m in component if _room(m) not in {"autograd", "ops", "tensor"})
        assert not outside, f"import cycle outside the Tensor/engine/op core: {sorted(component)}"
        # the safety nets and the engine itself are not part of the loop
        assert not component & {"tinygrad_np.autograd.anomaly", "tinygrad_np.autograd.versions",
                                 "tinygrad_np.autograd.engine", "tinygrad_np.autograd.grad_mode"}, component


def test_cycle_detection_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_the_network_does_not_import_its_command_line(graph):
    assert "models.cli" not in graph["models.zhang_cnn"]


@pytest.mark.parametrize("path", sorted(_modules().values()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_longer_than_a_sitting(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_LINES})"


def test_no_prefix_grouped_flat_modules():
    flat = [p.stem for p in (ROOT / "tinygrad_np").glob("*.py") if p.stem != "__init__"]
    prefixes = {name.split("_")[0] for name in flat if "_" in name}
    grouped = [p for p in prefixes if sum(n.split("_")[0] == p for n in flat) > 1 or p in {d.name for d in
               (ROOT / "tinygrad_np").iterdir() if d.is_dir()}]
    assert not grouped, f"modules grouped by name prefix instead of a subpackage: {grouped}"


# ------------------------------------------------------------------ public names used in docs
def _doc_texts() -> list[tuple[str, str]]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [(str(p.relative_to(ROOT)), p.read_text()) for p in pages]


def _resolve(dotted: str) -> object:
    obj: object = tg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_every_tg_name_in_readme_and_docs_exists():
    missing = []
    for page, text in _doc_texts():
        for dotted in sorted(set(re.findall(r"\btg\.([A-Za-z_][\w.]*[A-Za-z_0-9])", text))):
            try:
                _resolve(dotted)
            except AttributeError:
                missing.append(f"{page}: tg.{dotted}")
    assert not missing, "names used in the docs that do not exist:\n" + "\n".join(missing)


def test_every_import_in_readme_and_docs_works():
    failures = []
    for page, text in _doc_texts():
        for module, names in re.findall(r"^\s*from (tinygrad_np[\w.]*|models[\w.]*) import ([\w, ]+?)\s*(?:#.*)?$", text, re.M):
            try:
                imported = importlib.import_module(module)
                for name in (n.split(" as ")[0].strip() for n in names.split(",")):
                    if name and not hasattr(imported, name):
                        importlib.import_module(f"{module}.{name}")
            except ImportError as exc:
                failures.append(f"{page}: from {module} import {names}: {exc}")
        for module in re.findall(r"^\s*import (tinygrad_np[\w.]*)", text, re.M):
            try:
                importlib.import_module(module)
            except ImportError as exc:
                failures.append(f"{page}: import {module}: {exc}")
    assert not failures, "\n".join(failures)


def test_testing_is_reachable_from_the_package():
    assert tg.testing.gradcheck is importlib.import_module("tinygrad_np.testing").gradcheck


def test_the_architecture_picture_shows_every_import_between_rooms(graph):
    dot = (ROOT / "docs" / "img" / "architecture.dot").read_text()
    arrows = set()
    for statement in re.findall(r"(\w+)\s*->\s*(\w+)", dot):
        arrows.add(statement)
    node = {"join": "tensor", "functions": "creation", "dtypes": "random"}  # drawn in one box each
    missing = set()
    for module, targets in graph.items():
        user = node.get(_room(module), _room(module))
        for target in targets:
            used = node.get(_room(target), _room(target))
            if user != used and "package" not in (user, used) and (used, user) not in arrows:
                missing.add(f"{used} -> {user}")
    assert not missing, "imports between rooms not drawn in docs/img/architecture.dot: " + ", ".join(sorted(missing))
