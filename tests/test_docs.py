"""The Python blocks of the tutorial pages run as written (in a scratch folder: some write files)."""
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("page", ["tutorial_core.md", "testing.md", "higher_order.md",
                                  "coming_from_pytorch.md", "tutorial_models.md"])
def test_python_blocks_run(page, tmp_path, monkeypatch):
    if page == "tutorial_models.md":
        pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)
    assert blocks, f"{page} has no python blocks"
    namespace = {}
    exec(compile("\n".join(blocks), str(DOCS / page), "exec"), namespace)
