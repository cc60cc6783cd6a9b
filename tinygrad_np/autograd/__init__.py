"""The tape and its engine: `Function`/`Context` (one recorded op), `backward`, grad mode,
name scopes, and the safety nets (anomaly mode, saved-array version checks).

The modules here import nothing of the rest of the package at run time except `Tensor`, which
`Function.apply` creates; ops, `Tensor` and everything above build on them.
"""
from .anomaly import detect_anomaly, is_anomaly_enabled
from .engine import backward, iter_graph, sum_to_shape
from .function import Context, Function
from .grad_mode import current_scope, enable_grad, is_grad_enabled, name_scope, no_grad, set_grad_enabled
from .gradients import grad

__all__ = ["Context", "Function", "backward", "grad", "enable_grad", "set_grad_enabled", "iter_graph",
           "sum_to_shape", "no_grad", "is_grad_enabled", "name_scope", "current_scope", "detect_anomaly",
           "is_anomaly_enabled"]
