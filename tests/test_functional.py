"""softmax, log_softmax and the losses against NumPy references; extreme inputs stay finite."""
import numpy as np
import pytest
from helpers import check_gradients, t64
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np import functional as F
from tinygrad_np.testing import strategies as tst


def np_log_softmax(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


@given(x=tst.tensors(tst.shapes(min_dims=1, max_dims=3)), data=st.data())
def test_softmax_and_log_softmax(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    np.testing.assert_allclose(x.log_softmax(axis).data, np_log_softmax(x.data, axis), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x.softmax(axis).data, np.exp(np_log_softmax(x.data, axis)), rtol=1e-12)
    check_gradients(data, lambda t: t.softmax(axis), x)
    check_gradients(data, lambda t: t.log_softmax(axis), x)


@given(data=st.data())
def test_mse_loss(data):
    shape = data.draw(tst.shapes(max_dims=3), label="shape")
    a, b = data.draw(tst.tensors(shape), label="input"), data.draw(tst.tensors(shape), label="target")
    np.testing.assert_allclose(F.mse_loss(a, b).data, np.mean((a.data - b.data) ** 2), rtol=1e-12)
    np.testing.assert_allclose(F.mse_loss(a, b, "sum").data, np.sum((a.data - b.data) ** 2), rtol=1e-12)
    check_gradients(data, F.mse_loss, a, b)


@given(data=st.data())
def test_cross_entropy(data):
    n, k = data.draw(st.integers(1, 5), label="n"), data.draw(st.integers(1, 5), label="k")
    logits = data.draw(tst.tensors((n, k)), label="logits")
    labels = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n), label="labels"))
    expected = -np_log_softmax(logits.data, 1)[np.arange(n), labels].mean()
    np.testing.assert_allclose(F.cross_entropy(logits, labels).data, expected, rtol=1e-12)
    check_gradients(data, lambda t: F.cross_entropy(t, labels), logits)


@given(data=st.data())
def test_binary_cross_entropy(data):
    shape = data.draw(tst.shapes(max_dims=2), label="shape")
    p = data.draw(tst.tensors(shape, min_value=0.05, max_value=0.95), label="p")
    y = data.draw(tst.tensors(shape, min_value=0.0, max_value=1.0), label="y")
    expected = -np.mean(y.data * np.log(p.data) + (1 - y.data) * np.log(1 - p.data))
    np.testing.assert_allclose(F.binary_cross_entropy(p, y).data, expected, rtol=1e-12)
    check_gradients(data, F.binary_cross_entropy, p, y)
    logits = data.draw(tst.tensors(shape), label="logits")
    sig = 1 / (1 + np.exp(-logits.data))
    expected = -np.mean(y.data * np.log(sig) + (1 - y.data) * np.log(1 - sig))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(logits, y).data, expected, rtol=1e-10)
    check_gradients(data, F.binary_cross_entropy_with_logits, logits, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_finite_for_extreme_inputs(dtype):
    big = np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for fn in (lambda t: t.softmax(1).sum(), lambda t: t.log_softmax(1).sum(),
                   lambda t: F.cross_entropy(t, np.array([0, 2])),
                   lambda t: F.binary_cross_entropy_with_logits(t, np.ones((2, 3))),
                   lambda t: F.binary_cross_entropy(t.sigmoid(), np.ones((2, 3)))):
            x = tg.Tensor(big, dtype=dtype, requires_grad=True)
            loss = fn(x)
            loss.backward()
            assert np.isfinite(loss.data).all()
            assert np.isfinite(x.grad).all()


def test_binary_cross_entropy_clamps_log_at_minus_100_like_pytorch():
    loss = F.binary_cross_entropy(t64([0.0, 1.0]), t64([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [100.0, 100.0])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: F.mse_loss(t64(np.zeros(3)), np.zeros(4)), r"mse_loss: input has shape \(3,\) but target has shape \(4,\)"),
    (lambda: F.cross_entropy(t64(np.zeros((2, 3))), np.array([0, 3])), r"cross_entropy: labels must be in \[0, 2\]"),
    (lambda: F.cross_entropy(t64(np.zeros((2, 3))), np.array([0.0, 1.0])), r"cross_entropy: labels must be integers"),
    (lambda: F.cross_entropy(t64(np.zeros(3)), np.array([0])), r"cross_entropy: logits must be 2-D"),
    (lambda: F.binary_cross_entropy(t64([1.5]), [1.0]), r"binary_cross_entropy: input must be probabilities"),
    (lambda: F.mse_loss(t64([1.0]), [1.0], reduction="avg"), r"reduction must be 'mean', 'sum' or 'none'"),
])
def test_loss_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
