"""The engine: graph shapes, accumulation, deep chains, retain_graph, no_grad, dtypes, custom ops."""
import numpy as np
import pytest
from helpers import t64

import tinygrad_np as tg
from tinygrad_np.autograd import sum_to_shape
from tinygrad_np.testing import gradcheck


def test_shared_node_used_twice():
    x = t64([1.0, 2.0])
    y = x * x  # d/dx = 2x
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_diamond():
    x = t64([3.0])
    a = x * 2
    b = x.exp()
    (a * b).sum().backward()  # d/dx (2x e^x) = 2 e^x + 2x e^x
    np.testing.assert_allclose(x.grad, [2 * np.exp(3) + 6 * np.exp(3)])


def test_gradients_accumulate_across_backward_calls_until_zero_grad():
    x = t64([1.0, -1.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_deep_chain_of_10000_ops_backprops():
    x = t64([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001 ** 10_000], rtol=1e-9)


def test_second_backward_without_retain_graph_is_a_clear_error():
    x = t64([1.0, 2.0])
    y = (x + 1).sum()  # add saves nothing: the error must not depend on saved arrays
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = t64([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])


def test_saved_arrays_are_released_after_backward():
    x = t64([1.0, 2.0])
    y = x * x
    ctx = y._ctx
    y.sum().backward()
    assert ctx.released
    assert ctx._saved is None


def test_no_grad_records_nothing_as_context_manager_and_decorator():
    x = t64([1.0])
    with tg.no_grad():
        y = x * 2
    assert not y.requires_grad
    assert y._ctx is None

    @tg.no_grad()
    def f(t):
        return t * 2

    assert f(x)._ctx is None
    assert tg.is_grad_enabled()
    assert (x * 2)._ctx is not None


def test_non_scalar_root_needs_grad():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scalar root.*shape \(2,\)"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, -1.0]))
    np.testing.assert_allclose(x.grad, [2.0, -2.0])


def test_root_without_graph_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.Tensor([1.0]).sum().backward()


def test_dtype_is_kept_and_float64_works_end_to_end():
    x32 = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    assert x32.dtype == np.float32
    (x32 * 2.5).sum().backward()
    assert x32.grad.dtype == np.float32
    x64 = tg.Tensor(np.ones((2, 3)), dtype=np.float64, requires_grad=True)
    y = x64.sigmoid().sum()
    assert y.dtype == np.float64
    y.backward()
    assert x64.grad.dtype == np.float64


def test_mixed_dtypes_give_each_input_its_own_dtype():
    a = tg.Tensor([1.0, 2.0], requires_grad=True)
    b = tg.Tensor([3.0, 4.0], dtype=np.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32
    assert b.grad.dtype == np.float64


def test_needs_input_grad_skips_unneeded_work():
    seen = []

    class Spy(tg.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            return grad, None

    x, c = t64([1.0]), t64([2.0], requires_grad=False)
    Spy.apply(x, c).sum().backward()
    assert seen == [(True, False)]
    assert c.grad is None


def test_wrong_gradient_shape_names_the_op():
    class Broken(tg.Function):
        @staticmethod
        def forward(ctx, a):
            return a.sum(keepdims=True)

        @staticmethod
        def backward(ctx, grad):
            return np.ones(7)

    with pytest.raises(RuntimeError, match=r"broken: backward produced a gradient of shape \(7,\) for an input of shape \(2, 3\)"):
        Broken.apply(t64(np.ones((2, 3)))).sum().backward()


def test_custom_function_passes_gradcheck():
    class Cube(tg.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * 3 * a ** 2

    x = t64(np.linspace(-1, 1, 5))
    assert gradcheck(Cube.apply, x)


def test_retain_grad_keeps_intermediate_gradient():
    x = t64([1.0, 2.0])
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)


@pytest.mark.parametrize(("grad_shape", "target", "expected"), [
    ((2, 3), (3,), (3,)), ((2, 3), (1, 3), (1, 3)), ((4, 2, 3), (2, 1), (2, 1)), ((2, 3), (), ()),
])
def test_sum_to_shape(grad_shape, target, expected):
    g = np.ones(grad_shape)
    out = sum_to_shape(g, target)
    assert out.shape == expected
    assert out.sum() == g.sum()
