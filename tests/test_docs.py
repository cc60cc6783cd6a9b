"""The Python blocks of the tutorial pages run as written."""
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("page", ["tutorial_core.md", "testing.md", "higher_order.md",
                                  "coming_from_pytorch.md"])
def test_python_blocks_run(page):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)
    assert blocks, f"{page} has no python blocks"
    namespace = {}
    exec(compile("\n".join(blocks), str(DOCS / page), "exec"), namespace)
