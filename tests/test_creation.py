"""Factories (tg.zeros, tg.arange, tg.randn, ...), dtype names, the default generator and
manual_seed: shapes, dtypes and values as PyTorch's, reproducible draws, layer init from a seed."""
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.data import iterate_batches

DETERMINISTIC = {
    "zeros": lambda m: m.zeros(2, 3),
    "zeros tuple": lambda m: m.zeros((2, 3), dtype=m.float64),
    "ones": lambda m: m.ones(4),
    "ones int": lambda m: m.ones([2, 2], dtype=m.int64),
    "full": lambda m: m.full((2, 3), 1.5),
    "full int": lambda m: m.full((2,), 7),
    "full bool": lambda m: m.full((2,), True),
    "full dtype": lambda m: m.full((3,), 2, dtype=m.float64),
    "arange": lambda m: m.arange(5),
    "arange start end step": lambda m: m.arange(2, 11, 3),
    "arange negative step": lambda m: m.arange(5, -3, -2),
    "arange float": lambda m: m.arange(0, 1, 0.125),
    "arange float dtype": lambda m: m.arange(0.5, 3, dtype=m.float64),
    "linspace": lambda m: m.linspace(0, 1, 5),
    "linspace one": lambda m: m.linspace(-2, 3, 1),
    "eye": lambda m: m.eye(3),
    "eye rectangular": lambda m: m.eye(2, 4, dtype=m.float64),
    "zeros_like": lambda m: m.zeros_like(m.ones(2, 3, dtype=m.float64)),
    "ones_like dtype": lambda m: m.ones_like(m.zeros(3), dtype=m.int32),
    "full_like": lambda m: m.full_like(m.zeros(2, 2), 4.0),
    "tensor": lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]]),
    "tensor ints": lambda m: m.tensor([1, 2, 3]),
    "tensor dtype": lambda m: m.tensor([1, 2], dtype=m.float64),
    "scalar": lambda m: m.tensor(2.5),
    "tensor from float64 array": lambda m: m.tensor(np.arange(3.0)),
    "tensor from int32 array": lambda m: m.tensor(np.arange(3, dtype=np.int32)),
}


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_factories_give_pytorchs_shapes_dtypes_and_values(name):
    torch = pytest.importorskip("torch")
    ours, theirs = DETERMINISTIC[name](tg), DETERMINISTIC[name](torch)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7)


@pytest.mark.parametrize("name", ["rand", "randn", "randint", "rand_like", "randn_like", "empty", "empty_like",
                                  "randperm"])
def test_random_and_empty_factories_give_pytorchs_shapes_and_dtypes(name):
    torch = pytest.importorskip("torch")
    code = {
        "rand": lambda m: m.rand(2, 3), "randn": lambda m: m.randn((4,), dtype=m.float64),
        "randint": lambda m: m.randint(3, 10, (5, 2)), "rand_like": lambda m: m.rand_like(m.zeros(3, dtype=m.float64)),
        "randn_like": lambda m: m.randn_like(m.zeros(2, 2)), "empty": lambda m: m.empty(3, 1),
        "empty_like": lambda m: m.empty_like(m.zeros(2, dtype=m.int64)), "randperm": lambda m: m.randperm(6),
    }[name]
    ours, theirs = code(tg), code(torch)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


def test_random_draws_have_their_distributions():
    tg.manual_seed(0)
    u = tg.rand(20000).numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    z = tg.randn(20000, dtype=tg.float64).numpy()
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    k = tg.randint(3, 7, (2000,)).numpy()
    assert set(np.unique(k)) == {3, 4, 5, 6}
    assert sorted(tg.randperm(10).numpy().tolist()) == list(range(10))
    h = tg.rand(5, dtype=tg.float16)
    assert h.dtype == np.float16


def test_requires_grad_factories_are_leaves_that_collect_gradients():
    for x in (tg.zeros(2, 3, requires_grad=True), tg.randn(2, 3, requires_grad=True),
              tg.full((2, 3), 0.5, requires_grad=True), tg.ones_like(tg.zeros(2, 3), requires_grad=True)):
        assert x.requires_grad and x.is_leaf and x.dtype == np.float32
        (x * 2).sum().backward()
        np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0, np.float32))


def test_manual_seed_makes_factories_layers_and_shuffling_reproducible():
    def draw():
        layer = tg.nn.Linear(3, 2)
        conv = tg.nn.Conv2d(1, 2, 3)
        batches = iterate_batches(np.arange(6.0), np.arange(6), 2)
        order = np.concatenate([y for _, y in batches])
        return [tg.randn(3).numpy(), tg.rand(2, 2).numpy(), tg.randint(10, (4,)).numpy(), layer.weight.data,
                layer.bias.data, conv.weight.data, order]

    assert tg.manual_seed(123) is tg.default_generator()
    first = draw()
    tg.manual_seed(123)
    second = draw()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    tg.manual_seed(124)
    assert not np.array_equal(draw()[0], first[0])


def test_an_int_rng_is_a_seed_and_a_generator_is_used_as_given():
    a, b = tg.nn.Linear(3, 2, rng=0), tg.nn.Linear(3, 2, rng=0)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    c = tg.nn.Linear(3, 2, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a.weight.data, c.weight.data)
    np.testing.assert_array_equal(tg.randn(4, generator=5).numpy(), tg.randn(4, generator=5).numpy())
    gen = np.random.default_rng(1)
    assert not np.array_equal(tg.rand(3, generator=gen).numpy(), tg.rand(3, generator=gen).numpy())


def test_seed_reseeds_from_entropy_and_returns_the_seed():
    value = tg.seed()
    first = tg.rand(3).numpy()
    tg.manual_seed(value)
    np.testing.assert_array_equal(tg.rand(3).numpy(), first)


def test_from_numpy_shares_memory_and_keeps_the_dtype():
    a = np.arange(6.0).reshape(2, 3)
    t = tg.from_numpy(a)
    assert t.dtype == np.float64 and np.shares_memory(t.numpy(), a)
    a[0, 0] = 10
    assert t[0, 0].item() == 10
    copy = tg.tensor(a)  # as torch.tensor: a copy that keeps the ndarray's dtype
    assert copy.dtype == np.float64 and not np.shares_memory(copy.numpy(), a)
    assert tg.Tensor(a).dtype == np.float32  # the constructor makes float data float32


def test_dtype_names_are_numpy_types():
    assert tg.float32 is np.float32 and tg.float is np.float32 and tg.double is np.float64
    assert tg.long is np.int64 and tg.int is np.int32 and tg.bool is np.bool_ and tg.half is np.float16
    x = tg.zeros(2, dtype=tg.long)
    assert x.dtype == tg.long and x.float().dtype == tg.float32 and x.bool().dtype == tg.bool
    assert x.to("cpu") is x and x.cpu() is x and x.to(tg.long) is x
    assert x.to("float64").dtype == np.float64 and x.to("cpu", tg.float16).dtype == np.float16


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: tg.zeros(2, -1), ValueError, r"zeros: sizes must be non-negative, got \(2, -1\)"),
    (lambda: tg.ones(2.5), TypeError, r"ones: size must be ints or one tuple of ints, got \(2.5,\)"),
    (lambda: tg.zeros(2, dtype="U3"), TypeError, r"zeros: dtype <U3 is not supported"),
    (lambda: tg.zeros(2, dtype=tg.int64, requires_grad=True), TypeError,
     "zeros: only floating point tensors can require grad, got dtype int64"),
    (lambda: tg.arange(0, 5, 0), ValueError, "arange: step must be nonzero"),
    (lambda: tg.arange("a"), TypeError, "arange: start, end and step must be numbers"),
    (lambda: tg.linspace(0, 1, -2), ValueError, "linspace: steps must be a non-negative int, got -2"),
    (lambda: tg.randint(5, 5, (2,)), ValueError, "randint: need ints low < high, got low=5, high=5"),
    (lambda: tg.randint(5), TypeError, r"randint: give \(high, size\) or \(low, high, size\), got 1 arguments"),
    (lambda: tg.randn(3, dtype=tg.int32), TypeError, "randn: dtype must be a floating point type, got int32"),
    (lambda: tg.rand(3, generator="seed"), TypeError, "rand: rng must be None, an int seed or a np.random.Generator"),
    (lambda: tg.rand(3, generator=-1), ValueError, "rand: a seed must be a non-negative int, got -1"),
    (lambda: tg.zeros_like([1.0]), TypeError, "zeros_like: input must be a Tensor, got list"),
    (lambda: tg.from_numpy([1.0]), TypeError, "from_numpy: expected a np.ndarray, got list"),
    (lambda: tg.manual_seed(-3), ValueError, "manual_seed: seed must be a non-negative int, got -3"),
    (lambda: tg.nn.Linear(3, 2, rng="0"), TypeError, "Linear: rng must be None, an int seed or a np.random.Generator"),
    (lambda: tg.zeros(2).to("cuda"), ValueError, "to: only the device 'cpu' exists here, got 'cuda'"),
])
def test_bad_arguments_name_the_factory_and_the_value(make, error, message):
    with pytest.raises(error, match=message):
        make()
