"""PyTorch-style movement and indexing methods: view, flatten, (un)squeeze, expand, repeat, chunk,
split, gather, index_select, tril/triu, swapaxes, mT, clone; values against NumPy and gradients
against central differences in float64."""
import numpy as np
import pytest
from helpers import check_gradients, check_outputs, t64
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_np as tg
from tinygrad_np.testing import strategies as tst


@given(x=tst.tensors(tst.shapes(max_dims=4)), data=st.data())
def test_view_and_view_as(x, data):
    target = (x.numel(),) if data.draw(st.booleans(), label="flat") else (-1,) + x.shape[1:]
    np.testing.assert_array_equal(x.view(target).data, x.data.reshape(target))
    np.testing.assert_array_equal(x.view(*target).shape, x.data.reshape(target).shape)
    check_gradients(data, lambda t: t.view(target), x)
    check_gradients(data, lambda t: t.view_as(tg.zeros(x.numel())), x)


@given(x=tst.tensors(tst.shapes(min_dims=0, max_dims=4)), data=st.data())
def test_flatten_start_and_end_dims(x, data):
    n = max(x.ndim, 1)
    start = data.draw(st.integers(-n, n - 1), label="start_dim")
    end = data.draw(st.integers(start % n, n - 1), label="end_dim")
    s, e = (start % n, end) if x.ndim else (0, -1)
    expected = x.data.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:]) if x.ndim else x.data.reshape(1)
    np.testing.assert_array_equal(x.flatten(start, end).data, expected)
    np.testing.assert_array_equal(x.flatten().data, x.data.reshape(-1))
    check_gradients(data, lambda t: t.flatten(start, end), x)


@given(x=tst.tensors(tst.shapes(min_dims=0, max_dims=3)), data=st.data())
def test_unsqueeze_and_squeeze(x, data):
    dim = data.draw(st.integers(-x.ndim - 1, x.ndim), label="dim")
    u = x.unsqueeze(dim)
    np.testing.assert_array_equal(u.data, np.expand_dims(x.data, dim))
    check_gradients(data, lambda t: t.unsqueeze(dim), x)
    np.testing.assert_array_equal(u.squeeze(dim).data, x.data)
    np.testing.assert_array_equal(u.squeeze().data, np.squeeze(x.data))
    check_gradients(data, lambda t: t.unsqueeze(dim).squeeze(), x)


def test_squeeze_keeps_dims_that_are_not_one():
    x = tg.zeros(2, 1, 3, 1)
    assert x.squeeze(0).shape == (2, 1, 3, 1)  # as PyTorch: a dim of size 2 is kept, no error
    assert x.squeeze((1, 3)).shape == (2, 3)
    assert x.squeeze(-1).shape == (2, 1, 3)


@st.composite
def expansions(draw):
    shape = draw(tst.shapes(min_dims=0, max_dims=3, max_side=3), label="shape")
    shape = tuple(1 if draw(st.booleans(), label="one") else n for n in shape)
    lead = draw(st.lists(st.integers(0, 3), max_size=2), label="new dims")
    target = tuple(lead) + tuple(draw(st.integers(1, 3)) if n == 1 else draw(st.sampled_from([n, -1]))
                                 for n in shape)
    return shape, target


@given(case=expansions(), data=st.data())
def test_expand(case, data):
    shape, target = case
    x = data.draw(tst.tensors(shape), label="x")
    padded = (1,) * (len(target) - len(shape)) + shape
    expected = np.broadcast_to(x.data, tuple(n if t == -1 else t for n, t in zip(padded, target, strict=True)))
    np.testing.assert_array_equal(x.expand(*target).data, expected)
    np.testing.assert_array_equal(x.expand_as(tg.zeros(expected.shape)).data, expected)
    check_gradients(data, lambda t: t.expand(target), x)


@given(x=tst.tensors(tst.shapes(min_dims=0, max_dims=3, max_side=3)), data=st.data())
def test_repeat(x, data):
    reps = tuple(data.draw(st.lists(st.integers(0, 3), min_size=x.ndim, max_size=x.ndim + 2), label="repeats"))
    np.testing.assert_array_equal(x.repeat(*reps).data, np.tile(x.data, reps))
    check_gradients(data, lambda t: t.repeat(reps), x)


@given(x=tst.tensors(tst.shapes(min_dims=1, max_dims=3, max_side=6)), data=st.data())
def test_chunk_and_split(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    n = x.shape[dim]
    chunks = data.draw(st.integers(1, n + 2), label="chunks")
    pieces = x.chunk(chunks, dim)
    step = -(-n // chunks)
    expected = np.split(x.data, range(step, n, step), axis=dim)
    assert len(pieces) == len(expected)
    for piece, part in zip(pieces, expected, strict=True):
        np.testing.assert_array_equal(piece.data, part)
    check_outputs(data, lambda t: t.chunk(chunks, dim), x)
    size = data.draw(st.integers(1, n + 1), label="split_size")
    assert [p.shape[dim] for p in x.split(size, dim)] == [min(size, n - k) for k in range(0, n, size)]
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3), label="cuts"))
    sizes = np.diff([0, *cuts, n]).tolist()
    for piece, part in zip(x.split(sizes, dim), np.split(x.data, cuts, axis=dim), strict=True):
        np.testing.assert_array_equal(piece.data, part)
    check_outputs(data, lambda t: t.split(sizes, dim), x)
    check_outputs(data, lambda t: tg.cat(t.split(sizes, dim), dim), x)


@st.composite
def gather_cases(draw):
    shape = draw(tst.shapes(min_dims=1, max_dims=3, max_side=4), label="shape")
    dim = draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    index_shape = tuple(draw(st.integers(1, 5)) if i == dim % len(shape) else draw(st.integers(1, n))
                        for i, n in enumerate(shape))
    index = draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[dim] - 1)), label="index")
    return shape, dim, index


def numpy_gather(a, dim, index):
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return a[tuple(grid)]


@given(case=gather_cases(), data=st.data())
def test_gather(case, data):
    shape, dim, index = case
    x = data.draw(tst.tensors(shape), label="x")
    np.testing.assert_array_equal(x.gather(dim, index).data, numpy_gather(x.data, dim % x.ndim, index))
    np.testing.assert_array_equal(tg.gather(x, dim, tg.tensor(index)).data, numpy_gather(x.data, dim % x.ndim, index))
    check_gradients(data, lambda t: t.gather(dim, index), x)  # repeated indices accumulate


@given(x=tst.tensors(tst.shapes(min_dims=1, max_dims=3)), data=st.data())
def test_index_select(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    index = np.array(data.draw(st.lists(st.integers(0, x.shape[dim] - 1), max_size=5), label="index"), np.int64)
    np.testing.assert_array_equal(x.index_select(dim, index).data, np.take(x.data, index, axis=dim))
    check_gradients(data, lambda t: t.index_select(dim, index), x)


@pytest.mark.parametrize("name", ["tril", "triu"])
@given(x=tst.tensors(tst.shapes(min_dims=2, max_dims=4)), data=st.data())
def test_tril_triu(name, x, data):
    k = data.draw(st.integers(-3, 3), label="diagonal")
    np.testing.assert_array_equal(getattr(x, name)(k).data, getattr(np, name)(x.data, k))
    check_gradients(data, lambda t: getattr(t, name)(k), x)


def test_tril_drops_infinities_above_the_diagonal():
    x = t64([[1.0, np.inf], [2.0, 3.0]])
    np.testing.assert_array_equal(x.tril().data, [[1.0, 0.0], [2.0, 3.0]])


@given(x=tst.tensors(tst.shapes(min_dims=2, max_dims=4)), data=st.data())
def test_swapaxes_mT_and_clone(x, data):
    a, b = (data.draw(st.integers(-x.ndim, x.ndim - 1), label=f"axis{i}") for i in range(2))
    np.testing.assert_array_equal(x.swapaxes(a, b).data, np.swapaxes(x.data, a, b))
    np.testing.assert_array_equal(x.swapdims(a, b).data, np.swapaxes(x.data, a, b))
    np.testing.assert_array_equal(x.mT.data, np.swapaxes(x.data, -1, -2))
    check_gradients(data, lambda t: t.swapaxes(a, b), x)
    check_gradients(data, lambda t: t.mT, x)
    c = x.clone()
    assert not np.shares_memory(c.data, x.data)
    np.testing.assert_array_equal(c.data, x.data)
    check_gradients(data, lambda t: t.clone(), x)
