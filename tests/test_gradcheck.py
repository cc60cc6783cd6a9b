"""The gradient oracle itself: it must reject a wrong backward and say where."""
import numpy as np
import pytest
from helpers import t64
from hypothesis import given

import tinygrad_np as tg
from tinygrad_np.testing import GradcheckError, gradcheck
from tinygrad_np.testing import strategies as tst


class SwappedGradient(tg.Function):
    """a * b whose backward returns the gradients in the wrong order (a deliberate bug)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * a, grad * b


class PermutedGradient(tg.Function):
    """Identity whose backward reverses the gradient: invisible to an all-ones cotangent."""

    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad[::-1]


def test_gradcheck_rejects_a_wrong_backward_and_names_the_input():
    a, b = t64([1.0, 2.0, 3.0]), t64([-1.0, 0.5, 4.0])
    with pytest.raises(GradcheckError, match=r"gradient of input 0 of shape \(3,\) does not match.*analytic .* vs numeric"):
        gradcheck(SwappedGradient.apply, a, b)
    assert gradcheck(SwappedGradient.apply, a, b, raise_exception=False) is False


def test_gradcheck_random_cotangent_sees_a_permuted_gradient():
    x = t64([1.0, 2.0, 3.0])
    assert gradcheck(PermutedGradient.apply, x, cotangent=[np.ones(3)])  # blind with ones
    with pytest.raises(GradcheckError):
        gradcheck(PermutedGradient.apply, x)


def test_gradcheck_accepts_a_correct_op_and_runs_in_float64():
    x = tg.Tensor([0.3, -0.7], requires_grad=True)  # float32 input: checked in float64 copies
    seen = []
    assert gradcheck(lambda t: (seen.append(t.dtype), t.tanh())[1], x)
    assert set(seen) == {np.dtype(np.float64)}


def test_gradcheck_numeric_side_is_not_swamped_by_large_unrelated_outputs():
    """Outputs that do not depend on the perturbed element must cancel before the contraction:
    summed first, 50 outputs of 1e8 would leave rounding errors of about 0.1 in the derivative."""
    a = t64(np.linspace(-1.0, 1.0, 6))
    large = tg.Tensor(np.full(50, 1e8), dtype=np.float64)
    assert gradcheck(lambda x: tg.concatenate([x * 3.0, large]), a, atol=1e-7, rtol=1e-6)


def test_gradcheck_handles_outputs_that_are_views_of_the_input():
    """A reshape returns a view of its input: f(x + h) must be read before x - h is written."""
    for fn in (lambda x: x.reshape(1), lambda x: x[0:1], lambda x: x.permute(0)):
        assert gradcheck(fn, t64([0.0]), atol=1e-7, rtol=1e-6)


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * 2, tg.Tensor([1.0]))


@given(geo=tst.conv2d_geometries())
def test_conv_geometries_are_consistent(geo):
    assert geo.kernel[0] <= geo.height + 2 * geo.padding[0]
    assert geo.kernel[1] <= geo.width + 2 * geo.padding[1]
    out = tg.conv2d(np.zeros(geo.input_shape), np.zeros(geo.weight_shape), stride=geo.stride, padding=geo.padding)
    assert out.shape == geo.output_shape


@given(geo=tst.pool_geometries())
def test_pool_geometries_are_consistent(geo):
    assert tg.avg_pool2d(np.zeros(geo.input_shape), geo.kernel, geo.stride).shape == geo.output_shape


@given(shapes=tst.broadcastable_shapes(num_shapes=3))
def test_broadcastable_shapes_broadcast(shapes):
    np.broadcast_shapes(*shapes)


@given(x=tst.tensors(tst.shapes(min_dims=1), away_from=(0.0,), margin=0.1), y=tst.tensors((4,), distinct=True, margin=0.01))
def test_tensor_strategy_respects_kinks_and_distinctness(x, y):
    assert (np.abs(x.data) >= 0.1).all()
    assert x.requires_grad
    assert x.dtype == np.float64
    assert np.diff(np.sort(y.data)).min() >= 0.01 - 1e-12


@given(x=tst.tensors((3, 2), min_value=0.5, max_value=2.0))
def test_assert_gradients_match_one_liner(x):
    tst.assert_gradients_match(lambda t: (t.log() * t).sum(axis=0), x)
    with pytest.raises(GradcheckError):
        tst.assert_gradients_match(lambda t: PermutedGradient.apply(t.reshape(-1)), x)
