"""Gradient clipping and flattening of parameters, as torch.nn.utils (`tg.nn.utils`).

    loss.backward()
    total = tg.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..join import concatenate
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _tensors(parameters: Tensor | Iterable[Tensor], op: str) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters[{i}] is a {type(p).__name__}, not a Tensor "
                            "(pass model.parameters())")
    return params


def _norm(a: np.ndarray, norm_type: float) -> np.floating:
    if norm_type == math.inf:
        return np.abs(a).max(initial=0)
    if norm_type == 2.0:
        return np.sqrt(np.vdot(a, a).real)
    return (np.abs(a) ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients in place so that their joint norm is at most about max_norm.

    The total norm is the norm_type-norm (inf: the largest |g|) of the per-parameter norms, as if
    all gradients were one vector; every gradient is multiplied by min(1, max_norm / (total + 1e-6)).
    Parameters without a gradient are skipped. Returns the total norm (before clipping) as a
    0-d tensor; with error_if_nonfinite a NaN or infinite total norm raises instead.
    """
    op = "clip_grad_norm_"
    grads = [p.grad for p in _tensors(parameters, op) if p.grad is not None]
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"{op}: norm_type must be > 0 (or inf), got {norm_type}")
    if not grads:
        return Tensor(np.array(0.0, dtype=np.float32))
    dtype = np.result_type(*grads)
    norms = np.array([_norm(g, norm_type) for g in grads], dtype=dtype)
    total = np.asarray(_norm(norms, norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"{op}: the total norm of order {norm_type} of the gradients is {total}; set "
                           "error_if_nonfinite=False to clip anyway")
    coef = min(np.asarray(max_norm, dtype=dtype) / (total + np.asarray(1e-6, dtype=dtype)), 1.0)
    for g in grads:
        g *= coef
    return Tensor(total, dtype=dtype)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient in place to [-clip_value, clip_value] (parameters without one are skipped)."""
    clip_value = float(clip_value)
    for p in _tensors(parameters, "clip_grad_value_"):
        if p.grad is not None:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (differentiable, like a concatenation)."""
    params = _tensors(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return concatenate([p.reshape(-1) for p in params], axis=0)


def vector_to_parameters(vec: Any, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D `vec` into the parameters' arrays, in place (cast to each
    parameter's dtype); the sizes must add up to len(vec)."""
    params = _tensors(parameters, "vector_to_parameters")
    arr = np.asarray(vec.data if isinstance(vec, Tensor) else vec)
    total = sum(p.numel() for p in params)
    if arr.ndim != 1 or arr.size != total:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector of {total} values for the parameters, "
                         f"got shape {arr.shape}")
    start = 0
    for p in params:
        p.data[...] = arr[start:start + p.numel()].reshape(p.shape)
        start += p.numel()
