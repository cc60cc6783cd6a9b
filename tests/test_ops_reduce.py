"""Reductions with axis and keepdims; ties in max/min split the gradient evenly."""
import numpy as np
import pytest
from helpers import check_gradients, t64
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_np.testing import strategies as tst


@st.composite
def tensor_and_axis(draw, distinct=False):
    x = draw(tst.tensors(tst.shapes(min_dims=1, max_dims=4), distinct=distinct), label="x")
    choice = draw(st.sampled_from(["none", "int", "tuple"]), label="axis kind")
    if choice == "none":
        axis = None
    elif choice == "int":
        axis = draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    else:
        axis = tuple(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1), label="axes"))
    return x, axis, draw(st.booleans(), label="keepdims")


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
@given(case=tensor_and_axis(distinct=True), data=st.data())
def test_reduction(name, case, data):
    x, axis, keepdims = case
    method = lambda t: getattr(t, name)(axis=axis, keepdims=keepdims)  # noqa: E731
    expected = getattr(np, name)(x.data, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(method(x).data, expected, rtol=1e-12)
    check_gradients(data, method, x)


def test_max_ties_split_the_gradient_evenly():
    x = t64([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_min_ties_split_the_gradient_evenly():
    x = t64([4.0, 1.0, 1.0, 5.0])
    x.min().backward()
    np.testing.assert_allclose(x.grad, [0, 0.5, 0.5, 0])


def test_mean_of_empty_axis_is_an_error():
    x = t64(np.zeros((2, 0)))
    with pytest.raises(ValueError, match=r"mean: cannot average over an empty axis \(shape \(2, 0\)"):
        x.mean(axis=1)
