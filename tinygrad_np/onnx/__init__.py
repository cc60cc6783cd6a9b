"""ONNX export and import (optional dependency: `pip install "tinygrad_np[onnx]"`).

```python
import tinygrad_np as tg
tg.onnx.export(model, example_input, "model.onnx")   # a Module or a function of tensors
net = tg.onnx.load("model.onnx")                     # a tg.nn.Module: runs, draws, trains
```

The `onnx` package is imported only when `export` or `load` is called. See docs/onnx.md for
the op mapping in both directions and what is not supported.
"""
from __future__ import annotations

from .export import DEFAULT_OPSET, export
from .load import OnnxModule, load

__all__ = ["export", "load", "OnnxModule", "DEFAULT_OPSET"]
