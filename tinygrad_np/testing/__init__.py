"""Gradient checking and Hypothesis strategies for testing tinygrad_np ops (yours and ours)."""
from .gradcheck import GradcheckError, gradcheck

__all__ = ["gradcheck", "GradcheckError", "strategies"]


def __getattr__(name: str):  # strategies needs hypothesis; import it only when asked for
    if name == "strategies":
        from . import strategies
        return strategies
    raise AttributeError(name)
