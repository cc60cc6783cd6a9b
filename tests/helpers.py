"""Shared test helpers: gradient check with a Hypothesis-drawn cotangent, tight tolerances."""
import numpy as np

import tinygrad_np as tg
from tinygrad_np.testing import gradcheck
from tinygrad_np.testing import strategies as tst

# central differences with eps=1e-6 in float64 are accurate to about 1e-9 here
ATOL, RTOL = 1e-7, 1e-6


def check_gradients(data, fn, *inputs, atol=ATOL, rtol=RTOL):
    """gradcheck fn at inputs against a random cotangent drawn from `data` (st.data())."""
    probe = fn(*[tg.Tensor(getattr(x, "data", x), dtype=np.float64) for x in inputs])
    cotangent = data.draw(tst.cotangents(probe.shape), label="cotangent")
    assert gradcheck(fn, *inputs, atol=atol, rtol=rtol, cotangent=[cotangent])


def check_outputs(data, fn, *inputs, atol=ATOL, rtol=RTOL):
    """As check_gradients for a function returning one tensor or a tuple of them (one cotangent each)."""
    probe = fn(*[tg.Tensor(getattr(x, "data", x), dtype=np.float64) for x in inputs])
    outputs = probe if isinstance(probe, tuple) else (probe,)
    cotangents = [data.draw(tst.cotangents(o.shape), label=f"cotangent {i}") for i, o in enumerate(outputs)]
    assert gradcheck(fn, *inputs, atol=atol, rtol=rtol, cotangent=cotangents)


def t64(array, requires_grad=True):
    return tg.Tensor(np.asarray(array, dtype=np.float64), dtype=np.float64, requires_grad=requires_grad)
