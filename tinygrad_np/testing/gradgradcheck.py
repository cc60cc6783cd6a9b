"""Check second derivatives: the gradient computed with `create_graph=True` is itself checked
against finite differences, as a function of the inputs and of the cotangent."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd.gradients import grad
from ..tensor import Tensor
from .gradcheck import GradcheckError, _as_float64_inputs, _outputs, gradcheck


def gradgradcheck(fn: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0,
                  grad_outputs: Sequence[np.ndarray] | None = None) -> bool:
    """Check fn's second derivatives against finite differences of its first, in float64.

    With a random cotangent v (seeded, never all ones) for fn's outputs, the first derivative
    g(x, v) = v^T J(x) is computed by `tg.grad(..., create_graph=True)` and must equal the gradient
    an ordinary backward computes (check that one with `gradcheck`); `gradcheck` then compares
    the gradient of g, recorded on the tape, with central differences of g, with respect to every
    checked input and to v. Returns True, or raises GradcheckError (False with raise_exception=False).
    """
    tensors = _as_float64_inputs(inputs)
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad; pass float tensors with requires_grad=True")
    outputs = _outputs(fn(*tensors))
    differentiable = [k for k, o in enumerate(outputs) if o.requires_grad]
    if not differentiable:
        raise ValueError("gradgradcheck: no output of the function depends on the checked inputs")
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        cotangents = [rng.standard_normal(outputs[k].shape) for k in differentiable]
    else:
        cotangents = [np.asarray(grad_outputs[k], dtype=np.float64) for k in differentiable]
    n = len(tensors)

    def first_derivative(*args: Tensor) -> tuple[Tensor, ...]:
        xs, vs = args[:n], args[n:]
        outs = _outputs(fn(*xs))
        gradients = grad([outs[k] for k in differentiable], [xs[i] for i in checked], grad_outputs=list(vs),
                         create_graph=True, allow_unused=True)
        return tuple(g if g is not None else Tensor(np.zeros(xs[i].shape), dtype=np.float64)
                     for g, i in zip(gradients, checked, strict=True))

    v_tensors = [Tensor(v, dtype=np.float64, requires_grad=True) for v in cotangents]
    # the recorded first derivative must be the gradient itself (the one backward() computes)
    recorded = first_derivative(*tensors, *v_tensors)
    plain = grad([outputs[k] for k in differentiable], [tensors[i] for i in checked], grad_outputs=cotangents,
                 retain_graph=True, allow_unused=True)
    for i, r, p in zip(checked, recorded, plain, strict=True):
        expected = np.zeros(tensors[i].shape) if p is None else p.data
        if not np.allclose(r.data, expected, atol=atol, rtol=rtol):
            msg = (f"gradgradcheck: the gradient recorded with create_graph=True for input {i} differs from "
                   f"the one backward computes (max difference {np.max(np.abs(r.data - expected)):.3g})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return gradcheck(first_derivative, *tensors, *v_tensors, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, seed=seed + 1)
