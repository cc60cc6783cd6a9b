"""The checks that keep the code base clean run with the tests: ruff, mypy, and the docs site built
in strict mode with every public name in its API reference."""
from __future__ import annotations

import html
import importlib
import importlib.util
import inspect
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

PUBLIC_MODULES = ["tinygrad_np", "tinygrad_np.nn", "tinygrad_np.nn.functional", "tinygrad_np.nn.init",
                  "tinygrad_np.nn.utils", "tinygrad_np.optim", "tinygrad_np.optim.lr_scheduler",
                  "tinygrad_np.data", "tinygrad_np.viz", "tinygrad_np.testing", "tinygrad_np.autograd"]


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600)


def _needs(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")


def test_ruff_finds_nothing():
    _needs("ruff")
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    _needs("mypy")
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def _public_objects() -> list[tuple[str, str, object]]:
    found = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found.append((module_name, name, obj))
    return found


def test_every_public_class_and_function_has_a_docstring():
    missing = []
    for module_name, name, obj in _public_objects():
        if not (inspect.getdoc(obj) or "").strip():
            missing.append(f"{module_name}.{name}")
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_") or not (inspect.isfunction(value) or isinstance(value, property)):
                    continue
                if not (inspect.getdoc(getattr(obj, attr)) or "").strip():
                    missing.append(f"{module_name}.{name}.{attr}")
    assert not missing, "public names without a docstring:\n" + "\n".join(sorted(set(missing)))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    _needs("mkdocs")
    _needs("mkdocstrings_handlers.python")
    out = tmp_path_factory.mktemp("site")
    result = _run("mkdocs", "build", "--strict", "--site-dir", str(out))
    assert result.returncode == 0, "mkdocs build --strict failed:\n" + result.stdout + result.stderr
    return out


def test_docs_site_builds_in_strict_mode(site):
    assert (site / "index.html").is_file()
    assert (site / "api" / "tensor" / "index.html").is_file()


def test_api_reference_lists_every_public_class_and_function(site):
    anchors = set()
    for page in (site / "api").rglob("*.html"):
        anchors.update(html.unescape(a) for a in re.findall(r'id="(tinygrad_np[\w.]*)"', page.read_text()))
    leaf_names = {a.rsplit(".", 1)[-1] for a in anchors}
    missing = [f"{m}.{name}" for m, name, _ in _public_objects() if name not in leaf_names]
    assert not missing, "public names missing from the API reference:\n" + "\n".join(missing)
    # Tensor's methods are there one by one
    tensor = importlib.import_module("tinygrad_np").Tensor
    tensor_methods = {n for cls in tensor.__mro__ if cls.__module__.startswith("tinygrad_np")
                      for n, v in vars(cls).items() if not n.startswith("_") and inspect.isfunction(v)}
    assert tensor_methods and all(f"tinygrad_np.Tensor.{n}" in anchors for n in tensor_methods)
