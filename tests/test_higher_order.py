"""Second derivatives of every op: gradgradcheck (float64, random cotangents) under Hypothesis."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np.testing import GradcheckError, gradgradcheck
from tinygrad_np.testing import strategies as tst

ATOL, RTOL = 1e-6, 1e-5


def check(data, fn, *inputs):
    seed = data.draw(st.integers(0, 2**16), label="cotangent seed")
    assert gradgradcheck(fn, *inputs, atol=ATOL, rtol=RTOL, seed=seed)


BINARY = {
    "add": lambda a, b: (a + b) * a,
    "sub": lambda a, b: (a - b) * b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": lambda a, b: tg.maximum(a, b) * a,
    "minimum": lambda a, b: tg.minimum(a, b) * b,
    "where": lambda a, b: tg.where(a.data > 0, a * a, b * a),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=tst.broadcastable_shapes(max_dims=3), data=st.data())
def test_binary(name, shapes, data):
    positive = name in ("div", "pow")
    kinks = (0.0,) if name == "where" else ()  # where switches sides at a = 0
    a = data.draw(tst.tensors(shapes[0], min_value=0.5 if positive else -2, max_value=2.0, away_from=kinks),
                  label="a")
    b = data.draw(tst.tensors(shapes[1], min_value=0.5 if name == "div" else -2, max_value=2.0), label="b")
    if name in ("maximum", "minimum"):  # no ties: the gradient is split there, a kink
        b = tg.Tensor(np.where(np.abs(np.broadcast_to(b.data, np.broadcast_shapes(a.shape, b.shape))
                                      - a.data) < 0.1, 2.5, np.broadcast_to(b.data, np.broadcast_shapes(
                                          a.shape, b.shape))), dtype=np.float64, requires_grad=True)
    check(data, BINARY[name], a, b)


UNARY = {
    # name: (function, element range, kinks)
    "neg": (lambda t: -t * t, (-3, 3), ()),
    "pow2": (lambda t: t ** 2, (-3, 3), ()),
    "pow_scalar": (lambda t: t ** 2.5, (0.3, 3), ()),
    "pow_negative": (lambda t: t ** -1.5, (0.3, 3), ()),
    "exp": (lambda t: t.exp(), (-3, 3), ()),
    "log": (lambda t: t.log(), (0.2, 5), ()),
    "sqrt": (lambda t: t.sqrt(), (0.2, 5), ()),
    "abs": (lambda t: t.abs() * t, (-3, 3), (0.0,)),
    "sigmoid": (lambda t: t.sigmoid(), (-6, 6), ()),
    "tanh": (lambda t: t.tanh(), (-3, 3), ()),
    "relu": (lambda t: t.relu() * t, (-3, 3), (0.0,)),
    "clip": (lambda t: t.clip(-1.0, 1.5) * t, (-3, 3), (-1.0, 1.5)),
    "softplus": (lambda t: tg.functional.softplus(t), (-4, 4), ()),
    "cast": (lambda t: t.astype(np.float64) ** 3, (-2, 2), ()),
    "log1p": (lambda t: t.log1p(), (-0.5, 3), ()),
    "expm1": (lambda t: t.expm1(), (-3, 3), ()),
    "sin": (lambda t: t.sin(), (-3, 3), ()),
    "cos": (lambda t: t.cos(), (-3, 3), ()),
    "sign": (lambda t: t.sign() * t * t, (-3, 3), (0.0,)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary(name, data):
    fn, (lo, hi), kinks = UNARY[name]
    x = data.draw(tst.tensors(tst.shapes(max_dims=3), min_value=lo, max_value=hi, away_from=kinks), label="x")
    check(data, fn, x)


@given(shape=tst.shapes(min_dims=1, max_dims=3), data=st.data())
def test_sum_and_mean(shape, data):
    x = data.draw(tst.tensors(shape), label="x")
    axis = data.draw(st.sampled_from([None] + list(range(len(shape)))), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    check(data, lambda t: t.sum(axis, keepdims) * t.mean(axis, keepdims=True).sum(), x)


@given(shape=tst.shapes(min_dims=1, max_dims=3), data=st.data())
def test_max_with_ties(shape, data):
    # values on a coarse grid make ties; the gradient splits evenly among them and is constant
    # between kinks, so the second derivative of x * max(x) comes from the product only
    x = data.draw(tst.tensors(shape, distinct=True), label="x")
    axis = data.draw(st.sampled_from([None] + list(range(len(shape)))), label="axis")
    check(data, lambda t: t * t.max(axis=axis, keepdims=True), x)


@given(data=st.data())
def test_softmax_log_softmax(data):
    x = data.draw(tst.tensors(tst.shapes(min_dims=1, max_dims=3)), label="x")
    check(data, lambda t: t.softmax(-1) * t.log_softmax(0), x)


@given(data=st.data())
def test_movement(data):
    x = data.draw(tst.tensors((3, 4), away_from=(0.0,)), label="x")
    check(data, lambda t: t.reshape(2, 6).permute(1, 0).pad(((1, 0), (0, 2))).abs().sum(0) * t[1:, ::2].sum(), x)


@given(data=st.data())
def test_indexing_with_repeats(data):
    x = data.draw(tst.tensors((4, 3)), label="x")
    index = np.array(data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=6), label="index"))
    check(data, lambda t: t[index] * t[index[::-1]], x)


@given(data=st.data())
def test_concatenate_and_stack(data):
    a = data.draw(tst.tensors((2, 3)), label="a")
    b = data.draw(tst.tensors((2, 2)), label="b")
    check(data, lambda a, b: tg.concatenate([a * b.sum(), b ** 2], 1) * tg.stack([a, a], 0).sum(0).sum(), a, b)


@given(data=st.data())
def test_matmul(data):
    m, k, n = (data.draw(st.integers(1, 4), label=s) for s in "mkn")
    batch = data.draw(st.sampled_from([(), (2,)]), label="batch")
    a = data.draw(tst.tensors(batch + (m, k)), label="a")
    b = data.draw(tst.tensors((k, n)), label="b")
    v = data.draw(tst.tensors((k,)), label="v")
    check(data, lambda a, b, v: (a @ b).tanh() + (a @ v).reshape(batch + (m, 1)), a, b, v)


@settings(max_examples=20)
@given(geo=tst.conv2d_geometries(max_batch=2, max_channels=2, max_size=6, max_kernel=3), with_bias=st.booleans(),
       data=st.data())
def test_conv2d(geo, with_bias, data):
    x = data.draw(tst.tensors(geo.input_shape), label="x")
    w = data.draw(tst.tensors(geo.weight_shape), label="w")
    inputs = (x, w) + ((data.draw(tst.tensors((geo.out_channels,)), label="bias"),) if with_bias else ())
    check(data, lambda *t: tg.conv2d(*t, stride=geo.stride, padding=geo.padding).tanh(), *inputs)


@given(data=st.data())
def test_threshold(data):
    x = data.draw(tst.tensors((2, 3, 2, 2)), label="x")
    t = data.draw(tst.tensors((3,)), label="t")
    check(data, lambda x, t: x.threshold(t).sigmoid(), x, t)


@settings(max_examples=20)
@given(geo=tst.pool_geometries(max_size=6), data=st.data())
def test_avg_pool2d(geo, data):
    x = data.draw(tst.tensors(geo.input_shape), label="x")
    check(data, lambda t: tg.avg_pool2d(t, geo.kernel, geo.stride).tanh(), x)


@settings(max_examples=20)
@given(geo=tst.pool_geometries(max_size=6), data=st.data())
def test_max_pool2d(geo, data):
    x = data.draw(tst.tensors(geo.input_shape, distinct=True), label="x")
    check(data, lambda t: tg.max_pool2d(t, geo.kernel, geo.stride).tanh(), x)


@given(data=st.data())
def test_losses(data):
    logits = data.draw(tst.tensors((3, 4)), label="logits")
    labels = np.array(data.draw(st.lists(st.integers(0, 3), min_size=3, max_size=3), label="labels"))
    p = data.draw(tst.tensors((3, 4), min_value=0.05, max_value=0.95), label="p")
    y = data.draw(tst.tensors((3, 4), min_value=0.0, max_value=1.0), label="y")
    check(data, lambda z: tg.functional.cross_entropy(z, labels), logits)
    check(data, lambda p, y: tg.functional.binary_cross_entropy(p, y), p, y)
    check(data, lambda z: tg.functional.binary_cross_entropy_with_logits(z, y.data), logits)
    check(data, lambda z: tg.functional.mse_loss(z.tanh(), y.data), logits)


def test_gradgradcheck_rejects_a_wrong_second_derivative():
    class WrongSquare(tg.Function):
        """x ** 2 whose recorded backward says 2 * x * x (right value at x = 1 only)."""

        differentiable_backward = True

        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            if hasattr(grad, "_ctx"):
                return grad * 2 * a * a  # wrong when recorded
            return grad * 2 * a

    x = tg.Tensor(np.array([0.5, 2.0, -1.5]), dtype=np.float64, requires_grad=True)
    assert tg.testing.gradcheck(WrongSquare.apply, x)  # first order is right
    with pytest.raises(GradcheckError, match="recorded with create_graph=True for input 0 differs"):
        gradgradcheck(WrongSquare.apply, x)


def test_gradgradcheck_rejects_a_recorded_backward_with_a_wrong_derivative():
    class ConstantSlope(tg.Function):
        """x ** 3 whose recorded backward has the right value but treats 3 x^2 as a constant."""

        differentiable_backward = True

        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            a = getattr(a, "data", a)  # loses the dependence on x: second derivative 0
            return grad * 3 * a * a

    x = tg.Tensor(np.array([0.5, 2.0, -1.5]), dtype=np.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="does not match finite differences"):
        gradgradcheck(ConstantSlope.apply, x)


def test_an_op_without_a_recordable_backward_says_so():
    class Plain(tg.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 3

        @staticmethod
        def backward(ctx, grad):
            return grad * 3

    x = tg.Tensor(np.ones(2), dtype=np.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="plain: its backward cannot be differentiated"):
        tg.grad(Plain.apply(x).sum(), x, create_graph=True)
    (g,) = tg.grad(Plain.apply(x).sum(), x)  # first order is fine
    np.testing.assert_array_equal(g.data, [3.0, 3.0])


@given(shape=tst.shapes(min_dims=2, max_dims=3, min_side=2), data=st.data())
def test_pytorch_style_reductions_and_shaping(shape, data):
    x = data.draw(tst.tensors(shape, distinct=True), label="x")
    dim = data.draw(st.integers(0, len(shape) - 1), label="dim")
    index = tg.tensor(np.zeros(shape[:dim] + (1,) + shape[dim + 1:], dtype=np.int64))
    check(data, lambda t: t.var(dim) + t.std(dim) + t.logsumexp(dim) + t.amax(dim) * t.mean(dim)
          + t.max(dim).values * t.gather(dim, index).squeeze(dim), x)
    check(data, lambda t: (t.unsqueeze(0).expand((2,) + shape).repeat(1, *([1] * len(shape))) ** 2).sum(0)
          * t.flatten().reshape(shape), x)
