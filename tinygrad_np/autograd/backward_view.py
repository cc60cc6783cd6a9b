"""What an op's `backward(ctx, grad)` sees when the engine records the backward pass itself
(`create_graph=True`), or computes gradients for only some inputs (`tg.grad`).

In a recording backward, `grad` is a `Tensor`, and `ctx.saved_tensors` gives back the tensors of
the graph instead of their arrays: a saved array that is an input's array becomes that input
tensor, the output's array becomes the output tensor, so arithmetic on them is recorded and can be
differentiated again. Other saved values (masks, shapes, padded copies) stay what they are:
constants of the backward graph. An op whose backward needs more than that (conv2d, pooling)
checks `ctx.create_graph` and applies the `Function`s its gradient is made of.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..tensor import Tensor
    from .function import Context


class BackwardView:
    """A `Context` seen by one backward call: `create_graph` says whether to record, and
    `needs_input_grad` may be narrowed to the inputs whose gradient is wanted."""

    def __init__(self, ctx: Context, output: Tensor, create_graph: bool, needs_input_grad: tuple[bool, ...]):
        self._ctx = ctx
        self.output = output
        self.create_graph = create_graph
        self.needs_input_grad = needs_input_grad
        self.fn = ctx.fn
        self.attrs = ctx.attrs
        self.parents = ctx.parents
        self.op_name = ctx.op_name

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The saved values; with `create_graph`, inputs' and output's arrays as their tensors."""
        saved = self._ctx.saved_tensors
        if not self.create_graph:
            return saved
        return tuple(self._as_tensor(v) for v in saved)

    def _as_tensor(self, value: Any) -> Any:
        if type(value) is not np.ndarray:
            return value
        for parent in self.parents:
            if parent._data is value:
                return parent
        if self.output._data is value:
            return self.output
        return value

    def __getattr__(self, name: str) -> Any:  # anything else a backward may read (e.g. stack)
        return getattr(self._ctx, name)
