"""Recorded backward passes are ordinary graphs: drawn, checked by anomaly mode and by the in-place
guards; tg.grad's errors and options."""
import numpy as np
import pytest

import tinygrad_np as tg


def leaf(values, name=None):
    return tg.Tensor(np.asarray(values, dtype=np.float64), dtype=np.float64, requires_grad=True, name=name)


def test_the_drawing_shows_the_recorded_backward_ops():
    rng = np.random.default_rng(0)
    x = leaf(rng.standard_normal((1, 1, 5, 5)), "x")
    w = leaf(rng.standard_normal((2, 1, 3, 3)), "w")
    (gx,) = tg.grad(tg.conv2d(x, w).sigmoid().sum(), x, create_graph=True)
    dot = tg.viz.to_dot(gx)
    assert "conv2d_input_grad" in dot
    assert "backward of conv2d" in dot and "backward of sigmoid" in dot


def test_anomaly_mode_names_the_recorded_backward_op():
    x = leaf([0.0, 1.0], "x")
    with np.errstate(divide="ignore"):
        (g,) = tg.grad(x.sqrt().sum(), x, create_graph=True)  # 1 / (2 sqrt(x)): inf at 0
    assert np.isinf(g.data[0])
    with tg.detect_anomaly(), np.errstate(divide="ignore"), pytest.raises(
            RuntimeError, match=r"forward of div \(in backward of sqrt\) produced 1 Inf"):
        tg.grad((x.sqrt() * 2).sum(), x, create_graph=True)


def test_changing_a_saved_array_before_the_second_backward_is_caught():
    x = leaf([0.5, 1.5], "x")
    (g,) = tg.grad((x ** 3).sum(), x, create_graph=True)  # 3 x^2 saved x for its own backward
    x.data[0] = 5.0
    with pytest.raises(RuntimeError, match="modified in place"):
        tg.grad(g.sum(), x)


def test_grad_does_not_touch_dot_grad_and_sums_several_outputs():
    x = leaf([1.0, 2.0])
    g = tg.grad([(x * x).sum(), (3 * x).sum()], x)[0]
    np.testing.assert_allclose(g.data, 2 * x.data + 3)
    assert x.grad is None and g.requires_grad is False and g.dtype == np.float64


def test_grad_outputs_weight_the_outputs():
    x = leaf([1.0, 2.0, 3.0])
    (g,) = tg.grad(x * x, x, grad_outputs=[np.array([1.0, 0.0, -2.0])])
    np.testing.assert_allclose(g.data, [2.0, 0.0, -12.0])


def test_grad_with_respect_to_an_intermediate_tensor():
    x = leaf([1.0, 2.0])
    h = x * 3
    (gh,) = tg.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.data, 2 * h.data)


def test_unused_input_raises_unless_allowed():
    x, y = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="input 1 .* was not used to compute the outputs; pass allow_unused=True"):
        tg.grad((x * 2).sum(), [x, y])
    gx, gy = tg.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None and gx.data[0] == 2.0


def test_a_freed_graph_and_a_non_scalar_output_raise_as_backward_does():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    tg.grad(y, x)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        tg.grad(y, x)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for a scalar"):
        tg.grad(x * x, x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.grad((x * 2).sum(), tg.Tensor([1.0]))


def test_create_graph_keeps_the_graph_by_default():
    x = leaf([1.0, 2.0])
    y = (x ** 3).sum()
    tg.grad(y, x, create_graph=True)
    (again,) = tg.grad(y, x)  # retain_graph defaulted to True
    np.testing.assert_allclose(again.data, 3 * x.data ** 2)


def test_backward_with_create_graph_points_to_tg_grad():
    x = leaf([1.0])
    with pytest.raises(ValueError, match="use tg.grad"):
        (x * x).sum().backward(create_graph=True)


def test_first_order_backward_is_unchanged_by_a_recorded_one():
    x = leaf([0.3, 0.7])
    (g,) = tg.grad((x.sigmoid() * x).sum(), x, create_graph=True)
    g.sum().backward()
    y = x.sigmoid()
    expected = 2 * y * (1 - y) + x * y * (1 - y) * (1 - 2 * y)  # d/dx of sigmoid + x sigmoid'
    np.testing.assert_allclose(x.grad, expected.data, rtol=1e-12)
