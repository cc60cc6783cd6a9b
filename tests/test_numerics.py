"""Numerics: activations and losses give finite values and gradients for inputs up to +-1e4.

Each function is checked in float32 and float64, on Hypothesis-drawn inputs and on the
extreme values themselves, with a random cotangent in [-2, 2].
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np import functional as F
from tinygrad_np.testing import strategies as tst

DTYPES = [np.float32, np.float64]
LIMIT = 1e4
EXTREMES = np.array([-LIMIT, -1000.0, -88.7, -20.0, -1.0, 0.0, 1.0, 20.0, 88.7, 1000.0, LIMIT])


def assert_finite_value_and_gradient(fn, x_values, dtype, cotangent_seed=0):
    """fn(x) and d<v, fn(x)>/dx are finite and keep x's dtype."""
    x = tg.Tensor(np.asarray(x_values, dtype=dtype), dtype=dtype, requires_grad=True, name="x")
    with tg.detect_anomaly():  # raises, naming the op, at the first NaN/Inf in forward or backward
        y = fn(x)
        v = np.random.default_rng(cotangent_seed).uniform(-2, 2, y.shape)
        y.backward(v)
    assert np.isfinite(y.numpy()).all()
    assert x.grad.dtype == dtype
    assert np.isfinite(x.grad).all()


def softmax_rows(x):
    return x.reshape(-1, x.shape[-1]).softmax(axis=1)


def log_softmax_rows(x):
    return x.reshape(-1, x.shape[-1]).log_softmax(axis=1)


def cross_entropy_rows(x):
    logits = x.reshape(-1, x.shape[-1])
    labels = np.arange(logits.shape[0]) % logits.shape[1]
    return F.cross_entropy(logits, labels, reduction="none")


def bce_of_sigmoid(x):
    target = (np.arange(x.numel()).reshape(x.shape) % 3) / 2  # 0, 0.5, 1 targets
    return F.binary_cross_entropy(x.sigmoid(), target, reduction="none")


def bce_with_logits(x):
    target = (np.arange(x.numel()).reshape(x.shape) % 3) / 2
    return F.binary_cross_entropy_with_logits(x, target, reduction="none")


FUNCTIONS = {
    "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(),
    "softmax": softmax_rows,
    "log_softmax": log_softmax_rows,
    "cross_entropy": cross_entropy_rows,
    "binary_cross_entropy(sigmoid)": bce_of_sigmoid,
    "binary_cross_entropy_with_logits": bce_with_logits,
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_extreme_inputs_give_finite_values_and_gradients(name, dtype):
    values = np.stack([EXTREMES, EXTREMES[::-1], np.roll(EXTREMES, 3)])  # mixed rows for softmax
    assert_finite_value_and_gradient(FUNCTIONS[name], values, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", FUNCTIONS)
@given(data=st.data())
def test_inputs_up_to_1e4_give_finite_values_and_gradients(name, dtype, data):
    shape = data.draw(tst.shapes(min_dims=1, max_dims=3, max_side=6), label="shape")
    x = data.draw(tst.arrays(shape, dtype, -LIMIT, LIMIT), label="x")
    seed = data.draw(st.integers(0, 2**32 - 1), label="cotangent seed")
    assert_finite_value_and_gradient(FUNCTIONS[name], x, dtype, seed)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@given(data=st.data())
def test_log_is_finite_on_normal_positive_numbers_up_to_1e4(dtype, data):
    # (0, 1e4] without the subnormals: below finfo.tiny, 1/x (the gradient) is not representable
    tiny = float(np.finfo(dtype).tiny)
    shape = data.draw(tst.shapes(min_dims=1, max_dims=2), label="shape")
    x = data.draw(tst.arrays(shape, dtype, tiny, LIMIT), label="x")
    assert_finite_value_and_gradient(lambda t: t.log(), x, dtype, data.draw(st.integers(0, 99), label="seed"))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_log_at_the_ends_of_its_range(dtype):
    assert_finite_value_and_gradient(lambda t: t.log(), [float(np.finfo(dtype).tiny), 1e-30, 1.0, LIMIT], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_saturated_sigmoid_and_bce_match_the_limits(dtype):
    x = tg.Tensor(np.array([-LIMIT, LIMIT], dtype=dtype), dtype=dtype, requires_grad=True)
    p = x.sigmoid()
    np.testing.assert_array_equal(p.numpy(), [0.0, 1.0])
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0], dtype=dtype), reduction="sum")
    assert loss.item() == pytest.approx(200.0)  # each log is clamped at -100, as in PyTorch
    loss.backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])  # sigmoid's slope is exactly 0 there
    z = tg.Tensor(np.array([-LIMIT, LIMIT], dtype=dtype), dtype=dtype, requires_grad=True)
    exact = F.binary_cross_entropy_with_logits(z, np.array([1.0, 0.0], dtype=dtype), reduction="sum")
    assert exact.item() == pytest.approx(2 * LIMIT)  # with logits, no clamping: the true loss
    exact.backward()
    np.testing.assert_allclose(z.grad, [-1.0, 1.0])


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_saturated_bce_of_sigmoid_stays_finite_for_a_scaled_loss(dtype):
    x = tg.Tensor(np.array([-LIMIT, LIMIT, -60.0, 60.0], dtype=dtype), dtype=dtype, requires_grad=True)
    loss = F.binary_cross_entropy(x.sigmoid(), np.array([1.0, 0.0, 1.0, 0.0]), reduction="sum") * 10.0
    with tg.detect_anomaly():
        loss.backward()
    assert np.isfinite(x.grad).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_bce_gradient_at_probability_0_and_1_is_pytorchs(dtype):
    # d/dp = (p - y) / max(p (1 - p), 1e-12): torch.nn.functional.binary_cross_entropy gives -1e12, 1e12
    p = tg.Tensor(np.array([0.0, 1.0], dtype=dtype), dtype=dtype, requires_grad=True)
    F.binary_cross_entropy(p, np.array([1.0, 0.0]), reduction="sum").backward()
    np.testing.assert_allclose(p.grad, [-1e12, 1e12], rtol=1e-6)
