"""`grad(outputs, inputs)`: the gradients of outputs with respect to chosen tensors, returned
instead of accumulated into `.grad`; with `create_graph=True` they are on the tape, so they can be
differentiated again (Hessian-vector products, gradient penalties, ...)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .engine import root_gradient, sweep

if TYPE_CHECKING:  # pragma: no cover
    from ..tensor import Tensor


def _as_list(value: Any, what: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """The sum over `outputs` of d(output)/d(input), weighted by `grad_outputs`, for each input.

    Like `torch.autograd.grad`: `grad_outputs` (one per output, None for a scalar output) are the
    cotangents; the graph is freed unless `retain_graph` (default: `create_graph`); an input that
    the outputs do not depend on raises unless `allow_unused`, which returns None for it. `.grad`
    of the inputs is not touched. Without `create_graph` the returned tensors carry no graph; with
    it they are recorded on the tape, and differentiating them gives second derivatives.
    """
    from ..tensor import Tensor

    outs = _as_list(outputs, "outputs")
    ins = _as_list(inputs, "inputs")
    for i, t in enumerate(outs + ins):
        if not isinstance(t, Tensor):
            kind = "outputs" if i < len(outs) else "inputs"
            raise TypeError(f"grad: {kind} must be tensors, got {type(t).__name__}")
    if not ins:
        raise ValueError("grad: inputs is empty; give the tensors to differentiate with respect to")
    cotangents = [None] * len(outs) if grad_outputs is None else _as_list(grad_outputs, "grad_outputs")
    if len(cotangents) != len(outs):
        raise ValueError(f"grad: got {len(cotangents)} grad_outputs for {len(outs)} outputs")
    for i, t in enumerate(outs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: output {i} ({t._describe()}) does not require grad and has no graph")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} ({t._describe()}) does not require grad; "
                               "create it with requires_grad=True")
    if retain_graph is None:
        retain_graph = create_graph
    roots: list[tuple[Tensor, Any]] = []
    for out, cotangent in zip(outs, cotangents, strict=True):
        g: Any = root_gradient(out, cotangent, "grad")
        if create_graph:  # a cotangent with a graph of its own stays on the tape
            g = cotangent if isinstance(cotangent, Tensor) else Tensor(g, dtype=g.dtype)
            if g.dtype != out.dtype:
                g = g.astype(out.dtype)
        roots.append((out, g))
    results = sweep(roots, retain_graph=retain_graph, create_graph=create_graph,
                    targets={id(t): t for t in ins})
    found: list[Tensor | None] = []
    for i, t in enumerate(ins):
        found_grad = results.get(id(t))
        if found_grad is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {i} ({t._describe()}) was not used to compute the outputs; "
                                   "pass allow_unused=True to get None for it")
            found.append(None)
        elif create_graph:
            found.append(found_grad)
        else:
            found.append(Tensor(found_grad, dtype=t.dtype))  # one copy: the gradient may share memory
    return tuple(found)
