"""Elementwise ops: forward against NumPy, gradients against finite differences (float64)."""
import numpy as np
import pytest
from helpers import check_gradients, t64
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np.testing import strategies as tst

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=tst.broadcastable_shapes(), data=st.data())
def test_binary_broadcasting(name, shapes, data):
    op, reference = BINARY[name]
    sa, sb = shapes
    a = data.draw(tst.tensors(sa), label="a")
    # keep divisors away from 0 so the quotient and its derivative stay moderate
    b = data.draw(tst.tensors(sb, away_from=(0.0,), margin=0.5) if name == "div" else tst.tensors(sb), label="b")
    out = op(a, b)
    np.testing.assert_allclose(out.data, reference(a.data, b.data), rtol=1e-12)
    check_gradients(data, op, a, b)


@given(shapes=tst.broadcastable_shapes(max_dims=3), data=st.data())
def test_pow_tensor_exponent(shapes, data):
    base = data.draw(tst.tensors(shapes[0], min_value=0.5, max_value=2.0), label="base")
    exponent = data.draw(tst.tensors(shapes[1], min_value=-2.0, max_value=2.0), label="exponent")
    np.testing.assert_allclose((base ** exponent).data, np.power(base.data, exponent.data), rtol=1e-12)
    check_gradients(data, lambda a, b: a ** b, base, exponent)


@pytest.mark.parametrize("p", [2, 3, 0.5, -1.5])
@given(data=st.data())
def test_pow_scalar(p, data):
    x = data.draw(tst.tensors(tst.shapes(max_dims=3), min_value=0.3, max_value=3.0), label="x")
    np.testing.assert_allclose((x ** p).data, x.data ** p, rtol=1e-12)
    check_gradients(data, lambda t: t ** p, x)


UNARY = {
    # name: (method, reference, element range, kinks)
    "neg": (lambda t: -t, np.negative, (-3, 3), ()),
    "exp": (lambda t: t.exp(), np.exp, (-3, 3), ()),
    "log": (lambda t: t.log(), np.log, (0.1, 5), ()),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, (0.1, 5), ()),
    "abs": (lambda t: t.abs(), np.abs, (-3, 3), (0.0,)),
    "sigmoid": (lambda t: t.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), (-6, 6), ()),
    "tanh": (lambda t: t.tanh(), np.tanh, (-3, 3), ()),
    "relu": (lambda t: t.relu(), lambda a: np.maximum(a, 0), (-3, 3), (0.0,)),
    "clip": (lambda t: t.clip(-1.0, 1.5), lambda a: np.clip(a, -1.0, 1.5), (-3, 3), (-1.0, 1.5)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary(name, data):
    method, reference, (lo, hi), kinks = UNARY[name]
    x = data.draw(tst.tensors(tst.shapes(max_dims=3), min_value=lo, max_value=hi, away_from=kinks), label="x")
    np.testing.assert_allclose(method(x).data, reference(x.data), rtol=1e-12, atol=1e-300)
    check_gradients(data, method, x)


def test_relu_gradient_at_zero_is_zero():
    x = t64([-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_exact_and_finite_for_large_inputs(dtype):
    x = tg.Tensor(np.array([-1e4, -50.0, 0.0, 50.0, 1e4]), dtype=dtype, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow or NaN
        y = x.sigmoid()
        y.sum().backward()
    expected = np.array([0.0, np.exp(-50.0) / (1 + np.exp(-50.0)), 0.5, 1 / (1 + np.exp(-50.0)), 1.0])
    np.testing.assert_allclose(y.data, expected.astype(dtype), rtol=1e-6, atol=1e-30)
    assert np.isfinite(x.grad).all()
    assert x.grad.dtype == dtype


def test_comparisons_give_bool_without_grad():
    a, b = t64([1.0, 2.0, 3.0]), t64([3.0, 2.0, 1.0])
    assert (a < b).data.tolist() == [True, False, False]
    assert (a >= 2).data.tolist() == [False, True, True]
    assert a.eq(b).data.tolist() == [False, True, False]
    assert not (a < b).requires_grad


def test_scalar_operands_keep_float32():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    for y in (x + 1, 2 * x, x / 3.0, 1 - x, x ** 2, 2.0 ** x):
        assert y.dtype == np.float32


def test_relu_of_negatives_and_infinities_is_plus_zero_and_nan_stays_nan():
    x = tg.Tensor(np.array([-np.inf, -1.0, -1e-30, 0.0, 2.0, np.inf, np.nan]), dtype=np.float64)
    y = x.relu().data
    np.testing.assert_array_equal(y[:4], 0.0)
    assert not np.signbit(y[:4]).any()  # +0.0, never -0.0
    assert y[4] == 2.0 and y[5] == np.inf and np.isnan(y[6])
