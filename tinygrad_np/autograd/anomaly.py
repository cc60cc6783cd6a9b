"""Anomaly mode: inside `detect_anomaly()` a NaN or Inf raises where it first appears.

Forward: every op's output is checked; the error names the op, its inputs, and the line of
user code that called it. Backward: every gradient an op's backward produces is checked; the
error names the op and the line that created it in the forward pass (the creation stack is
captured only in this mode). Outside the mode nothing is captured or checked.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .function import Context

class _State(threading.local):
    enabled = False  # read by every op: a class default makes it a plain attribute lookup


_state = _State()
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # tinygrad_np/
F = TypeVar("F", bound=Callable[..., Any])


def is_anomaly_enabled() -> bool:
    """True inside a `detect_anomaly()` block (per thread)."""
    return _state.enabled


class detect_anomaly:
    """Context manager and decorator: raise at the first NaN or Inf made by a forward or backward.

        with tg.detect_anomaly():
            loss = model(x).sum()
            loss.backward()

    Ops recorded inside keep the stack of the code that created them, so an error in backward
    shows the forward line. Costs a stack capture per op and a finiteness test per array;
    use it to find a bug, not for every run. `detect_anomaly(False)` switches it off inside.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = bool(enabled)

    def __enter__(self) -> detect_anomaly:
        self._previous = is_anomaly_enabled()
        _state.enabled = self.enabled
        return self

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._previous

    def __call__(self, fn: F) -> F:
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(enabled):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def capture_stack() -> traceback.StackSummary:
    """The caller's stack, outermost frame first (lines are read only if a message needs them)."""
    stack = traceback.StackSummary.extract(traceback.walk_stack(sys._getframe(2)), lookup_lines=False)
    stack.reverse()
    return stack


def user_frame(stack: traceback.StackSummary) -> traceback.FrameSummary | None:
    """The innermost frame outside the tinygrad_np package: the user's line."""
    for frame in reversed(stack):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return frame
    return stack[-1] if len(stack) else None


def format_site(stack: traceback.StackSummary | None) -> str:
    """`file:line in function` and the source line of the user's frame in `stack`."""
    frame = user_frame(stack) if stack is not None else None
    if frame is None:
        return "<unknown>"
    line = (frame.line or "").strip()
    return f"{frame.filename}:{frame.lineno} in {frame.name}" + (f"\n      {line}" if line else "")


def creation_note(ctx: Context) -> str:
    """A sentence giving the line that created ctx's op, if it was recorded in anomaly mode."""
    stack = getattr(ctx, "stack", None)
    if stack is None:
        return ""
    return f"\n  {ctx.op_name} was created at {format_site(stack)}"


def all_finite(arr: np.ndarray) -> bool:
    """True if a float/complex array has no NaN or Inf (other dtypes are always finite)."""
    if arr.dtype.kind not in "fc" or arr.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()  # one fast pass; NaN and Inf always make the sum non-finite
    if np.isfinite(total):
        return True
    return bool(np.isfinite(arr).all())  # the sum may have overflowed on finite values


def describe_nonfinite(arr: np.ndarray) -> str:
    """E.g. '1 NaN and 2 Inf among 12 values (first at index (0, 3))'."""
    nan, inf = np.isnan(arr), np.isinf(arr)
    parts = [f"{int(n.sum())} {label}" for n, label in ((nan, "NaN"), (inf, "Inf")) if n.any()]
    first = tuple(int(i) for i in np.argwhere(nan | inf)[0]) if arr.ndim else ()
    return f"{' and '.join(parts)} among {arr.size} values (first at index {first})"


def _scope(ctx: Context) -> str:
    return f" (in {'/'.join(ctx.scope)})" if ctx.scope else ""


def check_forward(ctx: Context, out: np.ndarray) -> None:
    """Raise if the forward output of ctx's op holds NaN or Inf; called only in anomaly mode."""
    if all_finite(out):
        return
    inputs = []
    bad_inputs = []
    for i, t in enumerate(ctx.parents):
        made_by = f", output of {t._ctx.op_name}" if t._ctx is not None else ""
        inputs.append(f"input {i}: {t._describe()}{made_by}")
        if not all_finite(t._data):
            bad_inputs.append(f"input {i} already contains {describe_nonfinite(t._data)}")
    origin = "; ".join(bad_inputs) if bad_inputs else f"all inputs are finite, so {ctx.op_name} made the first one"
    attrs = f"\n  attributes: {ctx.attrs}" if ctx.attrs else ""
    raise RuntimeError(
        f"detect_anomaly: forward of {ctx.op_name}{_scope(ctx)} produced {describe_nonfinite(out)} "
        f"in its output of shape {out.shape}\n  " + "\n  ".join(inputs) + attrs +
        f"\n  {origin}\n  called at {format_site(capture_stack())}"
    )


def check_root_grad(grad: np.ndarray) -> None:
    """Raise if the gradient given to backward() holds NaN or Inf."""
    if not all_finite(grad):
        raise RuntimeError(f"detect_anomaly: the gradient passed to backward() contains {describe_nonfinite(grad)}")


def check_backward(ctx: Context, i: int, grad_in: np.ndarray, grad_out: np.ndarray) -> None:
    """Raise if the gradient that ctx's backward produced for input i holds NaN or Inf."""
    if all_finite(grad_in):
        return
    parent = ctx.parents[i]
    incoming = ("the incoming gradient was finite" if all_finite(grad_out)
                else f"the incoming gradient already contained {describe_nonfinite(grad_out)}")
    created = creation_note(ctx) or (
        f"\n  ({ctx.op_name} was recorded outside detect_anomaly(); run the forward pass inside it "
        "to see the line that created it)")
    raise RuntimeError(
        f"detect_anomaly: backward of {ctx.op_name}{_scope(ctx)} produced {describe_nonfinite(grad_in)} "
        f"in the gradient for input {i}, tensor {parent._describe()}\n  {incoming}{created}"
    )
