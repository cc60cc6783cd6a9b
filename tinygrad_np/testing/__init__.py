"""Gradient checking and Hypothesis strategies for testing tinygrad_np ops (yours and ours).

`strategies` needs Hypothesis and is imported on first use: `tinygrad_np.testing.strategies`.
"""
import importlib
from typing import Any

from .gradcheck import GradcheckError, gradcheck
from .gradgradcheck import gradgradcheck

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "strategies"]


def __getattr__(name: str) -> Any:
    if name == "strategies":
        return importlib.import_module(".strategies", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
