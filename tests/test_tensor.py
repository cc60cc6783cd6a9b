"""Tensor creation, dtypes, accessors, repr and bad-input errors."""
import numpy as np
import pytest

import tinygrad_np as tg


def test_float_input_becomes_float32_unless_dtype_given():
    assert tg.Tensor(np.random.default_rng(0).random(3)).dtype == np.float32
    assert tg.Tensor([1.5, 2.0]).dtype == np.float32
    assert tg.Tensor(2.5).dtype == np.float32
    assert tg.Tensor(np.random.default_rng(0).random(3), dtype=np.float64).dtype == np.float64
    assert tg.Tensor([1, 2]).dtype.kind == "i"


def test_accessors():
    x = tg.Tensor([[1.0, 2.0]], requires_grad=True, name="x")
    assert x.shape == (1, 2)
    assert x.ndim == 2
    assert x.size() == (1, 2) and x.size(1) == 2 and x.size(-2) == 1
    assert x.numel() == 2 and x.dim() == 2
    assert x.name == "x"
    assert x.numpy() is x.data
    assert tg.Tensor([3.5]).item() == 3.5
    d = (x * 2).detach()
    assert d._ctx is None
    assert not d.requires_grad
    assert x.grad is None
    assert x.is_leaf
    assert (x * 2).grad_fn == "mul"


def test_data_is_copied_on_creation():
    a = np.ones(3, dtype=np.float32)
    x = tg.Tensor(a)
    a[0] = 5
    assert x.data[0] == 1


def test_repr_is_readable():
    r = repr(tg.Tensor([1.0, 2.0], requires_grad=True, name="w") * 2)
    assert r.startswith("Tensor([2., 4.]")
    assert "dtype=float32" in r
    assert "grad_fn=mul" in r
    assert "name='w'" in repr(tg.Tensor([1.0], name="w"))


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: tg.Tensor([1, 2], requires_grad=True), TypeError, "only floating point tensors can require grad, got dtype int64"),
    (lambda: tg.Tensor(np.array(["a", "b"])), TypeError, "dtype <U1 is not supported"),
    (lambda: tg.Tensor(np.array([object(), 1], dtype=object)), TypeError, "dtype object is not supported"),
    (lambda: tg.Tensor([[1.0], [1.0, 2.0]]), TypeError, "cannot make a numeric array from list"),
    (lambda: tg.Tensor([1.0, 2.0]).item(), ValueError, r"item: tensor has 2 elements \(shape \(2,\)\)"),
    (lambda: tg.Tensor(np.ones(2)) + tg.Tensor(np.ones(3)), ValueError, r"add: shapes \(2,\) and \(3,\) cannot be broadcast"),
    (lambda: tg.Tensor(np.ones(2)) + "a", TypeError, "unsupported operand 'a'"),
    (lambda: tg.Tensor(np.ones((2, 2))).sum(axis=2), ValueError, "sum: axis 2 is out of range for a tensor with 2 dims"),
    (lambda: tg.Tensor(np.ones(2)).max(axis=(0, 0)), ValueError, "max: repeated axis"),
    (lambda: tg.Tensor(np.ones(0)).max(), ValueError, r"max: cannot reduce an empty tensor of shape \(0,\)"),
    (lambda: tg.Tensor(np.ones(2))[np.array([0.5])], TypeError, "index: arrays used as indices must be integer or bool"),
])
def test_bad_input_errors_name_the_problem(make, error, message):
    with pytest.raises(error, match=message):
        make()
