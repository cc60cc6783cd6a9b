"""Compare analytic gradients with central finite differences in float64."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when an analytic gradient disagrees with finite differences."""


def _as_float64_inputs(inputs: Sequence[Any]) -> list[Tensor]:
    """Float64 copies; float tensors keep their requires_grad, plain float arrays are checked."""
    out = []
    for x in inputs:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        is_float = data.dtype.kind == "f"
        wants_grad = x.requires_grad if isinstance(x, Tensor) else is_float
        out.append(Tensor(data, dtype=np.float64 if is_float else None, requires_grad=wants_grad and is_float,
                          name=getattr(x, "name", None)))
    return out


def _outputs(result: Any) -> list[Tensor]:
    results = list(result) if isinstance(result, (tuple, list)) else [result]
    for r in results:
        if not isinstance(r, Tensor):
            raise TypeError("gradcheck: the function must return a Tensor (or a tuple of them), "
                            f"got {type(r).__name__}")
    return results


def _output_values(result: Any) -> list[np.ndarray]:
    """Copies of the outputs' values: an output may be a view of an input about to be perturbed."""
    return [o.data.copy() for o in _outputs(result)]


def _weighted_difference(plus: list[np.ndarray], minus: list[np.ndarray], cotangents: list[np.ndarray]) -> float:
    """<v, f(x + h) - f(x - h)>, subtracting the outputs before contracting them: outputs that do
    not depend on the perturbed element cancel exactly, so the rounding error of the numeric
    derivative scales with the outputs that do, not with the whole weighted sum."""
    return float(sum(np.vdot(v, p - m) for p, m, v in zip(plus, minus, cotangents, strict=False)))


def gradcheck(fn: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0,
              cotangent: Sequence[np.ndarray] | None = None) -> bool:
    """Check fn's gradients against central differences, in float64, for every input element.

    Inputs are copied to float64; those that are float tensors with requires_grad (or plain
    float arrays) are checked. A random cotangent v (seeded; never all ones, which could not
    see permuted gradients) contracts the outputs, so the check compares v^T J column by
    column over the full Jacobian J. Returns True when every |analytic - numeric| <=
    atol + rtol * |numeric|; otherwise raises GradcheckError naming the input, the worst
    index and both values (or returns False with raise_exception=False).
    """
    tensors = _as_float64_inputs(inputs)
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; pass float tensors with requires_grad=True")
    outputs = _outputs(fn(*tensors))
    rng = np.random.default_rng(seed)
    if cotangent is None:
        cotangents = [rng.standard_normal(o.shape) for o in outputs]
    else:
        cotangents = [np.asarray(v, dtype=np.float64) for v in cotangent]

    # analytic: v^T J via one backward of <v, fn(x)>
    for t in tensors:
        t.grad = None
    for o, v in zip(outputs, cotangents, strict=False):
        if o.requires_grad:
            o.backward(v, retain_graph=True)

    for i in checked:
        t = tensors[i]
        analytic = t.grad if t.grad is not None else np.zeros(t.shape)
        numeric = np.zeros(t.shape)
        flat = t.data.reshape(-1)  # a view: perturbations write through to t.data
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            plus = _output_values(fn(*tensors))
            flat[k] = orig - eps
            minus = _output_values(fn(*tensors))
            flat[k] = orig
            numeric.reshape(-1)[k] = _weighted_difference(plus, minus, cotangents) / (2 * eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        bad = ~(err <= 0)  # also catches NaN
        if bad.any():
            worst = np.unravel_index(int(np.nanargmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -np.inf))), t.shape)
            label = f"input {i}" + (f" ('{t.name}')" if t.name else "") + f" of shape {t.shape}"
            msg = (f"gradcheck: gradient of {label} does not match finite differences at index "
                   f"{tuple(int(j) for j in worst)}: analytic {analytic[worst]!r} vs numeric "
                   f"{numeric[worst]!r} ({int(bad.sum())} of {bad.size} elements outside "
                   f"atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True
