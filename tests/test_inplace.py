"""Saved arrays are protected: in-place changes between an op and its backward raise, naming both."""
import numpy as np
import pytest

import tinygrad_np as tg


def leaf(values, name=None, requires_grad=True):
    return tg.Tensor(np.asarray(values, dtype=np.float64), dtype=np.float64, requires_grad=requires_grad, name=name)


def test_update_before_backward_raises_naming_tensor_op_and_versions():
    w, x = leaf([1.0, 2.0, 3.0], "w"), leaf([4.0, 5.0, 6.0], "x", requires_grad=False)
    loss = (w * x).sum()
    w.data -= 0.1 * x.data  # too early: mul saved w
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    msg = str(info.value)
    assert msg.startswith("backward of mul: tensor 'w' (3,) float64 (input 0 of mul) was modified in place "
                          "after mul saved it for backward: saved at version 0, now at version 1")
    assert "optimizer.step() after loss.backward()" in msg


def test_item_assignment_through_the_getter_is_detected():
    w, x = leaf([1.0, 2.0], "w"), leaf([3.0, 4.0], "x")
    loss = (w * x).sum()
    x.data[0] = 0.0  # never calls the setter
    with pytest.raises(RuntimeError, match=r"tensor 'x' \(2,\) float64 \(input 1 of mul\) was modified in place"):
        loss.backward()


def test_writes_through_numpy_are_detected_like_data():
    w = leaf([1.0, 2.0], "w")
    loss = (w * w).sum()
    w.numpy()[1] = 7.0
    with pytest.raises(RuntimeError, match="backward of mul: tensor 'w'"):
        loss.backward()


def test_changing_a_saved_output_is_detected():
    x = leaf([1.0, 2.0], "x")
    y = x.exp()  # exp saves its output
    y.data[0] = 0.0
    with pytest.raises(RuntimeError, match=r"backward of exp: the output of exp was modified in place .* "
                                           r"saved at version 0, now at version 1"):
        y.sum().backward()


def test_message_shows_creation_line_in_anomaly_mode():
    w = leaf([1.0], "w")
    with tg.detect_anomaly():
        loss = (w * 3.0).sum()  # the forward line
    w.data = np.array([2.0])
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    assert "mul was created at" in str(info.value)
    assert "loss = (w * 3.0).sum()  # the forward line" in str(info.value)


def test_updates_after_backward_keep_working():
    rng = np.random.default_rng(0)
    lin = tg.nn.Linear(3, 2, rng=rng)
    opt = tg.optim.SGD(lin.parameters(), lr=0.1)
    x = tg.Tensor(rng.standard_normal((4, 3)))
    for _ in range(3):
        opt.zero_grad()
        loss = (lin(x) ** 2).mean()
        loss.backward()
        opt.step()  # in place through p.data: no graph is live any more
        lin.weight.data -= 0.0  # manual update, bumps the version
    assert lin.weight._version == 3
    assert lin.weight._guard.live == 0
    assert lin.weight._guard.snapshot is None


def test_an_op_that_saved_nothing_does_not_complain():
    a, b = leaf([1.0, 2.0], "a"), leaf([3.0, 4.0], "b")
    loss = ((a + b) * 2.0).sum()  # add saves neither input
    a.data[0] = 100.0
    loss.backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])


def test_reading_data_is_not_a_modification():
    x = leaf([np.nan, 2.0], "x")
    loss = (x * x).sum()
    _ = x.data.sum(), x.data.copy(), repr(x)  # reads only; NaN compares equal to itself here
    loss.backward()
    assert x._version == 0
    assert np.isnan(x.grad[0])
    assert x.grad[1] == 4.0


def test_a_new_graph_after_the_change_is_fine_while_the_old_one_raises():
    w = leaf([1.0, 2.0], "w")
    old = (w * w).sum()
    w.data[0] = 5.0
    new = (w * w).sum()
    new.backward()
    np.testing.assert_array_equal(w.grad, [10.0, 4.0])
    with pytest.raises(RuntimeError, match=r"saved at version 0, now at version 1"):
        old.backward()


def test_retain_graph_then_update_then_second_backward_raises():
    w = leaf([1.0, 2.0], "w")
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    loss.backward(retain_graph=True)  # fine: nothing changed
    np.testing.assert_array_equal(w.grad, [4.0, 8.0])
    w.data -= 0.5 * w.grad  # the retained graph still holds w
    with pytest.raises(RuntimeError, match="tensor 'w' .* was modified in place"):
        loss.backward()


def test_retained_graph_stops_watching_when_dropped():
    w = leaf([1.0, 2.0], "w")
    loss = (w * 3.0).sum()
    loss.backward(retain_graph=True)
    assert w._guard.live == 1
    del loss  # frees the graph (no reference cycles), which releases its claim
    assert w._guard.live == 0
    w.data[0] = 3.0
    assert w._guard.snapshot is None


def test_detach_shares_the_version_counter():
    x = leaf([1.0, 2.0], "x")
    loss = (x * x).sum()
    x.detach().data[0] = 9.0
    with pytest.raises(RuntimeError, match="tensor 'x'"):
        loss.backward()


def test_views_share_the_version_counter_of_their_base():
    x, w = leaf([1.0, 2.0, 3.0, 4.0], "x"), leaf([[1.0, 2.0], [3.0, 4.0]], "w")
    h = x.reshape(2, 2)  # a view of x's array; mul saves it
    loss = (h * w).sum()
    x.data[3] = 0.0
    with pytest.raises(RuntimeError, match=r"tensor \(2, 2\) float64 \(input 0 of mul, sharing memory with 'x'\) "
                                           r"was modified in place"):
        loss.backward()


def test_graphs_under_no_grad_watch_nothing():
    w = leaf([1.0, 2.0], "w")
    with tg.no_grad():
        y = w * w
    assert y._ctx is None
    assert (w._guard is None or w._guard.live == 0)


@pytest.mark.parametrize(("value", "error"), [
    (np.array(["a", "b"]), "Tensor.data: arrays of dtype <U1 are not supported"),
    (np.array([1, 2]), r"Tensor.data: tensor 'w' \(2,\) float64 requires grad, so its data must be floating point"),
    (object(), "Tensor.data: cannot make a numeric array from object"),
])
def test_setter_rejects_bad_values(value, error):
    w = leaf([1.0, 2.0], "w")
    with pytest.raises(TypeError, match=error):
        w.data = value
    assert w._version == 0


def test_setter_accepts_arrays_lists_and_tensors():
    w = leaf([1.0, 2.0], "w")
    w.data = np.array([3.0, 4.0])
    w.data = [5.0, 6.0]
    assert w.dtype == np.float64
    assert w.data.tolist() == [5.0, 6.0]
    w.data = tg.Tensor([7.0, 8.0], dtype=np.float64)
    assert w.data.tolist() == [7.0, 8.0]
    assert w._version == 3


def test_a_saved_array_that_the_output_is_a_view_of_is_watched():
    x = leaf([[1.0, 5.0], [3.0, 2.0]], "x")
    y = x.max(axis=0)  # max saves its keepdims result; y's array is a reshaped view of it
    y.data[1] = 0.0
    with pytest.raises(RuntimeError, match="backward of max: the output of max was modified in place"):
        y.sum().backward()


class SavesAView(tg.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a.reshape(-1))  # a view of the input's memory, not the array itself
        return a * 2

    @staticmethod
    def backward(ctx, grad):
        (flat,) = ctx.saved_tensors
        return grad * 2 + 0 * flat.reshape(grad.shape)


def test_a_custom_op_saving_a_view_of_its_input_is_protected():
    x = leaf([[1.0, 2.0]], "x")
    y = SavesAView.apply(x)
    x.data[0, 0] = 7.0
    with pytest.raises(RuntimeError, match=r"backward of savesaview: tensor 'x' \(1, 2\) float64 \(input 0"):
        y.sum().backward()
