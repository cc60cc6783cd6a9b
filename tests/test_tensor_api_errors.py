"""The PyTorch-style methods' accessors, in-place ops (fill_, zero_, detach_) and their errors: bad
arguments raise ValueError/TypeError naming the op and the bad value or shape."""
import numpy as np
import pytest
from helpers import t64

import tinygrad_np as tg


def test_size_numel_dim_and_the_shape_tuple():
    x = tg.zeros(2, 3, 4)
    assert x.size() == x.shape == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4
    assert x.numel() == 24 and x.dim() == 3
    assert tg.tensor(1.5).size() == () and tg.tensor(1.5).numel() == 1


def test_fill_and_zero_write_in_place_and_count_a_version():
    x = tg.tensor([1.0, 2.0, 3.0])
    arr, version = x.data, x._version
    assert x.fill_(4.0) is x and x.data is arr
    np.testing.assert_array_equal(arr, [4.0, 4.0, 4.0])
    x.zero_()
    np.testing.assert_array_equal(arr, [0.0, 0.0, 0.0])
    assert x._version == version + 2
    x.fill_(tg.tensor([2.5]))  # a one-element tensor as the value
    np.testing.assert_array_equal(arr, [2.5, 2.5, 2.5])


def test_fill_of_a_parameter_inside_no_grad_is_seen_by_a_graph_that_saved_it():
    w = tg.nn.Parameter(np.ones(3))
    loss = (w * w).sum()
    with tg.no_grad():
        w.fill_(2.0)
    np.testing.assert_array_equal(w.data, [2.0, 2.0, 2.0])
    with pytest.raises(RuntimeError, match="modified in place after mul saved it"):
        loss.backward()


def test_detach_in_place_makes_a_leaf():
    x = t64([1.0, 2.0])
    y = x * 2
    assert y.detach_() is y
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.data, [2.0, 4.0])


def test_contiguous_and_cpu_return_self_and_clone_copies():
    x = t64([1.0, 2.0])
    assert x.contiguous() is x and x.cpu() is x
    c = x.clone()
    c.data[0] = 9.0
    assert x.data[0] == 1.0


def test_logical_operators_on_bool_tensors():
    a, b = tg.tensor([True, False, True]), tg.tensor([True, True, False])
    np.testing.assert_array_equal((a & b).numpy(), [True, False, False])
    np.testing.assert_array_equal((a | b).numpy(), [True, True, True])
    np.testing.assert_array_equal((a ^ b).numpy(), [False, True, True])
    np.testing.assert_array_equal((~a).numpy(), [False, True, False])
    x = tg.tensor([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(((x > 0) & (x < 1)).numpy(), [True, False, False])
    np.testing.assert_array_equal((x > 0).logical_not().numpy(), [False, True, False])


X2 = np.zeros((2, 3))


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda x: x.sum(dim=2), ValueError, "sum: dim 2 is out of range for a tensor with 2 dims"),
    (lambda x: x.sum(axis=-3), IndexError, "sum: axis -3 is out of range for a tensor with 2 dims"),
    (lambda x: x.mean(dim=1, axis=1), TypeError, r"mean: give dim or axis, not both \(got dim=1, axis=1\)"),
    (lambda x: x.logsumexp(dim=(0, 0)), ValueError, r"logsumexp: repeated dim in \(0, 0\)"),
    (lambda x: x.max(dim=(0, 1)), TypeError, r"max: dim must be an int \(or use amax/axis= for a tuple of dims\)"),
    (lambda x: x.min(1, axis=0), TypeError, "min: give dim or axis, not both"),
    (lambda x: x.max(dim=1.5), TypeError, "max: dim must be an int"),
    (lambda x: x.amax(dim="0"), TypeError, "amax: dim must be an int or a tuple of ints, got '0'"),
    (lambda x: tg.zeros(0, 3).max(0), ValueError, r"max: cannot reduce an empty dim 0 \(shape \(0, 3\)\)"),
    (lambda x: tg.zeros(0).argmax(), ValueError, r"argmax: cannot reduce an empty tensor of shape \(0,\)"),
    (lambda x: x.argmin(dim=3), ValueError, "argmin: dim 3 is out of range for a tensor with 2 dims"),
    (lambda x: x.var(unbiased=True, correction=0), TypeError, "var: give at most one of unbiased, correction and ddof"),
    (lambda x: x.std(True, unbiased=False), TypeError, "std: got unbiased twice"),
    (lambda x: tg.zeros(0, 2).var(0), ValueError, r"var: cannot reduce over an empty axis \(shape \(0, 2\)"),
    (lambda x: x.softmax(dim=2), ValueError, "softmax: dim 2 is out of range"),
    (lambda x: x.view(4, 2), ValueError, r"view: cannot reshape \(2, 3\) \(6 elements\) into \(4, 2\)"),
    (lambda x: x.view(2.5), TypeError, r"view: the target shape must be ints, got \(2.5,\)"),
    (lambda x: x.unsqueeze(3), IndexError, r"unsqueeze: dim 3 is out of range \[-3, 2\] for a tensor of shape \(2, 3\)"),
    (lambda x: x.squeeze(dim=4), ValueError, "squeeze: dim 4 is out of range for a tensor with 2 dims"),
    (lambda x: x.expand(4, 3), ValueError, r"expand: cannot expand shape \(2, 3\) to \(4, 3\) \(size 4 at dim 0\)"),
    (lambda x: x.expand(3), ValueError, r"expand: got 1 sizes \(3,\) for a tensor of shape \(2, 3\); need at least 2"),
    (lambda x: x.expand(-1, 2, 3), ValueError, r"expand: cannot expand shape \(2, 3\) to \(-1, 2, 3\)"),
    (lambda x: x.repeat(2), ValueError, r"repeat: need at least 2 non-negative repeats for shape \(2, 3\), got \(2,\)"),
    (lambda x: x.flatten(1, 0), ValueError, r"flatten: start_dim 1 comes after end_dim 0 \(shape \(2, 3\)\)"),
    (lambda x: x.flatten(end_dim=2), ValueError, "flatten: end_dim 2 is out of range"),
    (lambda x: x.chunk(0), ValueError, "chunk: chunks must be a positive int, got 0"),
    (lambda x: x.split(0, 1), ValueError, "split: split_size must be a positive int, got 0"),
    (lambda x: x.split([1, 1], 1), ValueError,
     r"split: sizes \[1, 1\] must be non-negative and sum to 3, the size of dim 1 \(shape \(2, 3\)\)"),
    (lambda x: x.split([1.5, 1.5], 1), TypeError, "split: the target sizes must be ints"),
    (lambda x: x.gather(1, np.zeros((2, 3))), TypeError, "gather: index must be an integer tensor, got dtype float64"),
    (lambda x: x.gather(1, np.zeros(2, np.int64)), ValueError,
     r"gather: index has 1 dims but the tensor has 2 \(index \(2,\), tensor \(2, 3\)\)"),
    (lambda x: x.gather(1, np.array([[0, 3]])), IndexError,
     r"gather: index values must be in \[0, 2\] along dim 1, got values from 0 to 3 \(tensor \(2, 3\)\)"),
    (lambda x: x.gather(1, np.zeros((3, 1), np.int64)), ValueError,
     r"gather: index shape \(3, 1\) is larger than the tensor's \(2, 3\) outside dim 1"),
    (lambda x: x.index_select(0, np.zeros((1, 1), np.int64)), TypeError, "index_select: index must be a 1-D integer tensor"),
    (lambda x: tg.where(x, x, x), TypeError, "where: condition must be a bool tensor, got dtype float64"),
    (lambda x: tg.where(np.ones(2, bool), tg.zeros(3), 0.0), ValueError,
     r"where: shapes \(2,\) and \(3,\) cannot be broadcast together"),
    (lambda x: x.masked_fill(np.ones(3), 0.0), TypeError, "masked_fill: mask must be a bool tensor, got dtype float64"),
    (lambda x: tg.zeros(3).masked_fill(np.ones((2, 3), bool), 0.0), ValueError,
     r"masked_fill: mask of shape \(2, 3\) does not broadcast to the tensor's shape \(3,\)"),
    (lambda x: x.masked_fill(np.ones(3, bool), tg.zeros(2)), ValueError,
     r"masked_fill: value must be a number or a one-element tensor, got shape \(2,\)"),
    (lambda x: x.masked_fill(np.ones(3, bool), "a"), TypeError, "masked_fill: value must be a number or a tensor, got str"),
    (lambda x: x.clamp(), ValueError, "clamp: give min or max"),
    (lambda x: x.clip("a"), TypeError, "clip: min and max must be numbers, tensors or None, got min='a'"),
    (lambda x: x.maximum(tg.zeros(4)), ValueError, r"maximum: shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
    (lambda x: tg.zeros(3).tril(), ValueError, r"tril: needs a tensor with at least 2 dims, got shape \(3,\)"),
    (lambda x: x.triu(0.5), TypeError, "triu: diagonal must be an int, got 0.5"),
    (lambda x: tg.zeros(3).mT, ValueError, r"mT: needs a tensor with at least 2 dims, got shape \(3,\)"),
    (lambda x: x.size(2), ValueError, "size: dim 2 is out of range for a tensor with 2 dims"),
    (lambda x: tg.tensor(1.0).size(0), ValueError, "size: a 0-d tensor has no dimensions, got dim=0"),
    (lambda x: x.transpose(0, 5), ValueError, "transpose: dim 5 is out of range"),
    (lambda x: tg.cat([x, x], dim=0, axis=0), TypeError, "cat: give dim or axis, not both"),
    (lambda x: x & x, TypeError, "bitwise_and: needs bool or integer tensors, got dtype float64"),
    (lambda x: ~x, TypeError, "invert: needs a bool or integer tensor, got dtype float64"),
    (lambda x: tg.zeros(3, requires_grad=True).fill_(1.0), RuntimeError,
     r"fill_: a leaf tensor \(3,\) float32 that requires grad cannot be changed in place while grad mode is on"),
    (lambda x: (tg.zeros(3, requires_grad=True) * 2).zero_(), RuntimeError, "fill_: a non-leaf tensor"),
    (lambda x: x.fill_(tg.zeros(2)), ValueError, "fill_: value must be a number or a one-element tensor"),
])
def test_bad_arguments_name_the_op_and_the_value(make, error, message):
    with pytest.raises(error, match=message):
        make(tg.tensor(X2))
