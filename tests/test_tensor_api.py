"""PyTorch-style methods of Tensor: values against NumPy, gradients against central differences in
float64 (random cotangents), for every new differentiable method; and the tie rules of max/min."""
import numpy as np
import pytest
from helpers import check_gradients, t64
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np.testing import strategies as tst


def distinct_split(data, *shapes):
    """Tensors of the given shapes whose elements are all pairwise at least 0.01 apart (no ties)."""
    sizes = [int(np.prod(s)) for s in shapes]
    flat = data.draw(tst.tensors((sum(sizes),), distinct=True), label="distinct values").data
    bounds = np.cumsum([0] + sizes)
    return [t64(flat[a:b].reshape(s)) for a, b, s in zip(bounds[:-1], bounds[1:], shapes, strict=True)]


@st.composite
def tensor_and_dims(draw, distinct=False, single=False, min_dims=1):
    x = draw(tst.tensors(tst.shapes(min_dims=min_dims, max_dims=4), distinct=distinct), label="x")
    kind = "int" if single else draw(st.sampled_from(["none", "int", "tuple"]), label="dim kind")
    if kind == "none":
        dim = None
    elif kind == "int":
        dim = draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1), label="dim")  # 0-d: 0 or -1
    else:
        dim = tuple(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1), label="dims"))
    return x, dim, draw(st.booleans(), label="keepdim")


# ------------------------------------------------------------------ elementwise
UNARY = {
    "log1p": (np.log1p, (-0.9, 3.0)),
    "expm1": (np.expm1, (-3.0, 3.0)),
    "sin": (np.sin, (-4.0, 4.0)),
    "cos": (np.cos, (-4.0, 4.0)),
    "square": (np.square, (-3.0, 3.0)),
    "neg": (np.negative, (-3.0, 3.0)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary(name, data):
    reference, (lo, hi) = UNARY[name]
    x = data.draw(tst.tensors(tst.shapes(max_dims=3), min_value=lo, max_value=hi), label="x")
    np.testing.assert_allclose(getattr(x, name)().data, reference(x.data), rtol=1e-14, atol=1e-300)
    check_gradients(data, lambda t: getattr(t, name)(), x)


def test_sign_values_and_zero_gradient():
    x = t64([-2.0, 0.0, 3.0])
    y = x.sign()
    np.testing.assert_array_equal(y.data, [-1.0, 0.0, 1.0])
    (y * t64([1.0, 2.0, 3.0], requires_grad=False)).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


@given(shapes=tst.broadcastable_shapes(3, max_dims=3), data=st.data())
def test_where(shapes, data):
    cond = data.draw(tst.arrays(shapes[0]), label="condition") > 0
    x = data.draw(tst.tensors(shapes[1]), label="x")
    y = data.draw(tst.tensors(shapes[2]), label="y")
    np.testing.assert_array_equal(tg.where(cond, x, y).data, np.where(cond, x.data, y.data))
    np.testing.assert_array_equal(x.where(cond, y).data, np.where(cond, x.data, y.data))
    check_gradients(data, lambda a, b: tg.where(cond, a, b), x, y)


def test_where_ignores_infinities_on_the_side_not_taken():
    x, y = t64([np.inf, 1.0]), t64([2.0, -np.inf])
    out = tg.where(np.array([False, True]), x, y)
    np.testing.assert_array_equal(out.data, [2.0, 1.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0])
    np.testing.assert_array_equal(y.grad, [1.0, 0.0])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(shapes=tst.broadcastable_shapes(2, max_dims=3), data=st.data())
def test_maximum_minimum(name, shapes, data):
    a, b = distinct_split(data, *shapes)
    np.testing.assert_array_equal(getattr(a, name)(b).data, getattr(np, name)(a.data, b.data))
    check_gradients(data, lambda u, v: getattr(u, name)(v), a, b)


def test_maximum_ties_share_the_gradient_evenly():
    a, b = t64([1.0, 2.0, np.inf]), t64([1.0, 3.0, np.inf])
    a.maximum(b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 0.5])
    a.grad = b.grad = None
    a.minimum(b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.5])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 0.5])


@given(x=tst.tensors(tst.shapes(max_dims=3), away_from=(-1.0, 1.5)), data=st.data())
def test_clamp_with_number_bounds(x, data):
    np.testing.assert_array_equal(x.clamp(-1.0, 1.5).data, np.clip(x.data, -1.0, 1.5))
    np.testing.assert_array_equal(x.clamp(min=-1.0).data, np.maximum(x.data, -1.0))
    np.testing.assert_array_equal(x.clip(max=1.5).data, np.minimum(x.data, 1.5))
    check_gradients(data, lambda t: t.clamp(-1.0, 1.5), x)


@given(shapes=tst.broadcastable_shapes(3, max_dims=3), data=st.data())
def test_clamp_with_tensor_bounds(shapes, data):
    x, lo, hi = distinct_split(data, *shapes)
    np.testing.assert_array_equal(x.clamp(lo, hi).data, np.minimum(np.maximum(x.data, lo.data), hi.data))
    check_gradients(data, lambda a, b, c: a.clamp(b, c), x, lo, hi)
    check_gradients(data, lambda a, b: a.clamp(min=b), x, lo)


@given(x=tst.tensors(tst.shapes(max_dims=3)), data=st.data())
def test_masked_fill(x, data):
    trailing = data.draw(st.integers(0, x.ndim), label="mask dims")
    mask_shape = tuple(n if data.draw(st.booleans(), label="keep") else 1 for n in x.shape[x.ndim - trailing:])
    mask = data.draw(tst.arrays(mask_shape), label="mask") > 0
    np.testing.assert_array_equal(x.masked_fill(mask, -2.5).data, np.where(mask, -2.5, x.data))
    check_gradients(data, lambda t: t.masked_fill(mask, 7.0), x)
    value = t64(0.25)
    check_gradients(data, lambda t, v: t.masked_fill(mask, v), x, value)


# ------------------------------------------------------------------ reductions
def stable_logsumexp(a, axis, keepdims):
    peak = a.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a - peak).sum(axis=axis, keepdims=True)) + peak
    return out if keepdims else out.reshape(np.sum(a, axis=axis).shape)


@pytest.mark.parametrize("name", ["sum", "mean", "logsumexp"])
@given(case=tensor_and_dims(), data=st.data())
def test_sum_mean_logsumexp_take_dim_and_keepdim(name, case, data):
    x, dim, keepdim = case
    reference = {"sum": np.sum, "mean": np.mean, "logsumexp": stable_logsumexp}[name]
    expected = reference(x.data, axis=dim, keepdims=keepdim)
    np.testing.assert_allclose(getattr(x, name)(dim, keepdim).data, expected, rtol=1e-12)
    np.testing.assert_allclose(getattr(x, name)(dim=dim, keepdim=keepdim).data, expected, rtol=1e-12)
    np.testing.assert_allclose(getattr(x, name)(axis=dim, keepdims=keepdim).data, expected, rtol=1e-12)
    check_gradients(data, lambda t: getattr(t, name)(dim, keepdim), x)


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("correction", [None, 0, 1, 2])
@given(case=tensor_and_dims(distinct=True), data=st.data())
def test_var_std(name, correction, case, data):
    x, dim, keepdim = case
    count = x.numel() if dim is None else int(np.prod([x.shape[d] for d in np.atleast_1d(dim)]))
    ddof = 1 if correction is None else correction
    assume(count - ddof > 0 and count > 1)  # distinct values over 2 or more: std > 0, differentiable
    reference = getattr(np, name)(x.data, axis=dim, keepdims=keepdim, ddof=ddof)
    kwargs = {} if correction is None else {"correction": correction}
    np.testing.assert_allclose(getattr(x, name)(dim, keepdim=keepdim, **kwargs).data, reference, rtol=1e-10)
    if correction in (0, 1):
        np.testing.assert_allclose(getattr(x, name)(dim, bool(correction), keepdim).data, reference, rtol=1e-10)
        np.testing.assert_allclose(getattr(x, name)(axis=dim, keepdims=keepdim, ddof=correction).data, reference,
                                   rtol=1e-10)
    check_gradients(data, lambda t: getattr(t, name)(dim, keepdim=keepdim, **kwargs), x)


def test_var_of_one_element_is_nan_with_a_warning_as_in_pytorch():
    with pytest.warns(RuntimeWarning, match=r"var: degrees of freedom <= 0 \(1 values, correction 1\)"):
        assert np.isnan(t64([3.0]).var().item())
    assert t64([3.0]).var(correction=0).item() == 0.0


@pytest.mark.parametrize("name", ["amax", "amin"])
@given(case=tensor_and_dims(distinct=True), data=st.data())
def test_amax_amin(name, case, data):
    x, dim, keepdim = case
    np.testing.assert_array_equal(getattr(x, name)(dim, keepdim).data,
                                  getattr(np, name)(x.data, axis=dim, keepdims=keepdim))
    check_gradients(data, lambda t: getattr(t, name)(dim, keepdim), x)


@pytest.mark.parametrize("name", ["max", "min"])
@given(case=tensor_and_dims(distinct=True, single=True, min_dims=0), data=st.data())
def test_max_min_along_a_dim_give_values_and_indices(name, case, data):
    x, dim, keepdim = case
    values, indices = getattr(x, name)(dim, keepdim)
    arg = np.argmax if name == "max" else np.argmin
    axis = dim if x.ndim else None  # NumPy has no axis 0 on a 0-d array
    np.testing.assert_array_equal(values.data, getattr(np, name)(x.data, axis=axis, keepdims=keepdim))
    np.testing.assert_array_equal(indices.data, arg(x.data, axis=axis, keepdims=keepdim))
    assert indices.dtype == np.int64 and not indices.requires_grad
    result = getattr(x, name)(dim=dim, keepdim=keepdim)
    assert result.values.shape == result.indices.shape == values.shape
    check_gradients(data, lambda t: getattr(t, name)(dim, keepdim).values, x)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@given(case=tensor_and_dims(single=True), data=st.data())
def test_argmax_argmin(name, case, data):
    x, dim, keepdim = case
    reference = getattr(np, name)
    np.testing.assert_array_equal(getattr(x, name)(dim, keepdim).data, reference(x.data, axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(getattr(x, name)().data, reference(x.data))
    assert getattr(x, name)(dim).dtype == np.int64


def test_max_without_dim_splits_ties_evenly_with_dim_gives_all_to_the_first():
    data = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    x = t64(data)
    x.max().backward()  # the two 3s tie over all elements
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [0, 0, 0]])
    x = t64(data)
    values, indices = x.max(1)
    np.testing.assert_array_equal(indices.data, [1, 0])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])
    x = t64(data)
    x.amax(1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x = t64(data)
    x.max(axis=1).sum().backward()  # NumPy's axis: values only, as amax
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x = t64(data)
    x.min(dim=1).values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 0, 0], [1, 0, 0]])


def test_max_with_a_tensor_is_maximum():
    a, b = t64([1.0, 5.0]), t64([3.0, 2.0])
    np.testing.assert_array_equal(a.max(b).data, [3.0, 5.0])
    np.testing.assert_array_equal(tg.min(a, b).data, [1.0, 2.0])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(case=tensor_and_dims(single=True), data=st.data())
def test_softmax_takes_dim(name, case, data):
    x, dim, _ = case
    shifted = np.exp(x.data - x.data.max(axis=dim, keepdims=True))
    expected = shifted / shifted.sum(axis=dim, keepdims=True)
    expected = np.log(expected) if name == "log_softmax" else expected
    np.testing.assert_allclose(getattr(x, name)(dim).data, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(getattr(x, name)(dim=dim).data, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(getattr(tg.functional, name)(x, dim=dim).data, expected, rtol=1e-12, atol=1e-300)
    check_gradients(data, lambda t: getattr(t, name)(dim=dim), x)
