"""Movement ops: reshape, permute/transpose, flatten, indexing, pad, concatenate, stack."""
import numpy as np
import pytest
from helpers import check_gradients, t64
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np.testing import strategies as tst


@given(x=tst.tensors(tst.shapes(min_dims=1, max_dims=4)), data=st.data())
def test_reshape_and_flatten(x, data):
    target = (-1,) + x.shape[2:] if x.ndim > 1 else (x.numel(),)
    np.testing.assert_array_equal(x.reshape(target).data, x.data.reshape(target))
    check_gradients(data, lambda t: t.reshape(target), x)
    if x.ndim >= 2:
        np.testing.assert_array_equal(x.flatten(1).data, x.data.reshape(x.shape[0], -1))
        check_gradients(data, lambda t: t.flatten(1), x)


@given(x=tst.tensors(tst.shapes(min_dims=1, max_dims=4)), data=st.data())
def test_permute_and_transpose(x, data):
    axes = tuple(data.draw(st.permutations(range(x.ndim)), label="axes"))
    np.testing.assert_array_equal(x.permute(axes).data, x.data.transpose(axes))
    check_gradients(data, lambda t: t.permute(axes), x)
    np.testing.assert_array_equal(x.T.data, x.data.T)
    check_gradients(data, lambda t: t.transpose(0, -1), x)


@st.composite
def index_cases(draw):
    shape = draw(tst.shapes(min_dims=1, max_dims=3, max_side=6), label="shape")
    kind = draw(st.sampled_from(["slice", "int_array", "bool", "mixed"]), label="kind")
    n = shape[0]
    if kind == "slice":
        start = draw(st.integers(-n, n - 1))
        step = draw(st.sampled_from([1, 2, 3, -1, -2]))
        index = (slice(start, None, step),) + ((slice(None, None, 2),) if len(shape) > 1 else ())
    elif kind == "int_array":  # repeated indices must accumulate in backward
        index = np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=8)))
    elif kind == "bool":
        index = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    else:
        index = (np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))), Ellipsis)
    return shape, index


@given(case=index_cases(), data=st.data())
def test_indexing(case, data):
    shape, index = case
    x = data.draw(tst.tensors(shape), label="x")
    np.testing.assert_array_equal(x[index].data, x.data[index])
    check_gradients(data, lambda t: t[index], x)


def test_repeated_indices_accumulate():
    x = t64([1.0, 2.0, 3.0])
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


@given(x=tst.tensors(tst.shapes(min_dims=1, max_dims=3)), data=st.data())
def test_pad(x, data):
    widths = tuple(data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2)), label=f"pad{i}") for i in range(x.ndim))
    np.testing.assert_array_equal(x.pad(widths, value=1.5).data, np.pad(x.data, widths, constant_values=1.5))
    check_gradients(data, lambda t: t.pad(widths), x)


@given(base=tst.shapes(min_dims=1, max_dims=3), data=st.data())
def test_concatenate_and_stack(base, data):
    axis = data.draw(st.integers(-len(base), len(base) - 1), label="axis")
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="sizes")
    parts = []
    for k in sizes:
        shape = list(base)
        shape[axis] = k
        parts.append(data.draw(tst.tensors(tuple(shape)), label="part"))
    np.testing.assert_array_equal(tg.concatenate(parts, axis).data, np.concatenate([p.data for p in parts], axis))
    check_gradients(data, lambda *ts: tg.concatenate(ts, axis), *parts)
    same = [data.draw(tst.tensors(base), label="same") for _ in sizes]
    np.testing.assert_array_equal(tg.stack(same, axis).data, np.stack([p.data for p in same], axis))
    check_gradients(data, lambda *ts: tg.stack(ts, axis), *same)


def test_movement_errors_show_shapes():
    x = t64(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape \(2, 3\) \(6 elements\) into \(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match=r"permute: \(0, 0\) is not a permutation of the 2 axes"):
        x.permute(0, 0)
    with pytest.raises(IndexError, match=r"index 5 is out of bounds.*tensor shape \(2, 3\)"):
        x[:, 5]
    with pytest.raises(ValueError, match=r"concatenate: shapes \[\(2, 3\), \(3, 2\)\] differ outside axis 0"):
        tg.concatenate([x, t64(np.zeros((3, 2)))], 0)
    with pytest.raises(ValueError, match=r"pad: widths must be non-negative"):
        x.pad(-1)
