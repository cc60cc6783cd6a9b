"""detect_anomaly(): NaN/Inf in forward or backward raises, naming the op and the user's line."""
import os
import threading

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.autograd import name_scope

THIS_FILE = os.path.basename(__file__)


def leaf(values, name="x", dtype=np.float64):
    return tg.Tensor(np.asarray(values, dtype=dtype), dtype=dtype, requires_grad=True, name=name)


def test_forward_nan_names_op_input_and_user_line():
    x = leaf([1.0, -2.0, 3.0])
    with tg.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(RuntimeError) as info:
            x.log()  # the line the message must show
    msg = str(info.value)
    assert msg.startswith("detect_anomaly: forward of log produced 1 NaN among 3 values (first at index (1,))")
    assert "input 0: 'x' (3,) float64" in msg
    assert "all inputs are finite, so log made the first one" in msg
    assert f"{THIS_FILE}:" in msg
    assert "x.log()  # the line the message must show" in msg


def test_forward_inf_from_overflow_in_float32():
    x = leaf([1.0, 100.0], dtype=np.float32)
    with tg.detect_anomaly(), np.errstate(over="ignore"):
        with pytest.raises(RuntimeError, match=r"forward of exp produced 1 Inf among 2 values"):
            x.exp()


def test_forward_reports_a_nan_that_was_already_in_the_input():
    x = leaf([np.nan, 1.0])
    with tg.detect_anomaly(), pytest.raises(RuntimeError) as info:
        x * 2.0
    assert "forward of mul" in str(info.value)
    assert "input 0 already contains 1 NaN among 2 values (first at index (0,))" in str(info.value)


def test_outside_anomaly_mode_nan_flows_through_silently():
    x = leaf([np.nan, 1.0])
    y = (x * 2.0).sum()
    y.backward()
    assert np.isnan(y.item())
    assert np.isfinite(x.grad).all()


def test_backward_inf_names_op_and_forward_creation_line():
    x = leaf([1.0, 0.0, 4.0])
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt()  # created here
        loss = y.sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    msg = str(info.value)
    assert msg.startswith("detect_anomaly: backward of sqrt produced 1 Inf among 3 values (first at index (1,)) "
                          "in the gradient for input 0, tensor 'x' (3,) float64")
    assert "the incoming gradient was finite" in msg
    assert "sqrt was created at" in msg
    assert f"{THIS_FILE}:" in msg
    assert "y = x.sqrt()  # created here" in msg
    assert x.grad is None


def test_backward_of_a_graph_recorded_outside_the_mode_says_so():
    x = leaf([0.0, 1.0])
    y = x.sqrt().sum()
    with tg.detect_anomaly(), np.errstate(divide="ignore"), pytest.raises(RuntimeError) as info:
        y.backward()
    assert "backward of sqrt produced 1 Inf" in str(info.value)
    assert "recorded outside detect_anomaly()" in str(info.value)


def test_nan_root_gradient_is_reported():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    with tg.detect_anomaly(), pytest.raises(RuntimeError, match=r"gradient passed to backward\(\) contains 1 NaN"):
        y.backward(np.array([np.nan, 1.0]))


class BadBackward(tg.Function):
    op_name = "bad_backward"

    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * np.nan


def test_custom_function_with_nan_backward_is_named():
    x = leaf([1.0, 2.0])
    with tg.detect_anomaly():
        y = BadBackward.apply(x).sum()
        with pytest.raises(RuntimeError, match=r"backward of bad_backward produced 2 NaN among 2 values"):
            y.backward()


def test_message_names_the_module_scope():
    x = leaf([-1.0])
    with tg.detect_anomaly(), name_scope("net"), name_scope("conv1"), np.errstate(invalid="ignore"):
        with pytest.raises(RuntimeError, match=r"forward of log \(in net/conv1\)"):
            x.log()


def test_user_line_is_the_callers_line_through_modules():
    layer = tg.nn.Linear(2, 1, rng=np.random.default_rng(0))
    layer.weight.data[...] = np.nan
    with tg.detect_anomaly(), pytest.raises(RuntimeError) as info:
        layer(tg.Tensor([[1.0, 2.0]]))  # model call
    msg = str(info.value)
    assert msg.startswith("detect_anomaly: forward of permute produced 2 NaN")  # weight.T, first op to see it
    assert "input 0: 'weight' (1, 2) float32" in msg
    assert "input 0 already contains 2 NaN" in msg
    assert "layer(tg.Tensor([[1.0, 2.0]]))  # model call" in msg


def test_decorator_form_and_restoring_the_flag():
    @tg.detect_anomaly()
    def step(x):
        assert tg.is_anomaly_enabled()
        return x.log()

    assert not tg.is_anomaly_enabled()
    with np.errstate(divide="ignore"), pytest.raises(RuntimeError, match="forward of log produced 1 Inf"):
        step(leaf([0.0]))
    assert not tg.is_anomaly_enabled()  # restored after the exception


def test_detect_anomaly_false_switches_it_off_inside():
    x = leaf([-1.0])
    with tg.detect_anomaly():
        with tg.detect_anomaly(False), np.errstate(invalid="ignore"):
            y = x.log()
        assert tg.is_anomaly_enabled()
    assert np.isnan(y.item())


def test_forward_under_no_grad_is_checked_too_and_records_nothing():
    x = leaf([-1.0])
    with tg.detect_anomaly(), tg.no_grad():
        y = x * 2.0
        assert y._ctx is None
        with np.errstate(invalid="ignore"), pytest.raises(RuntimeError, match="forward of log"):
            y.log()


def test_stack_is_captured_only_in_anomaly_mode():
    x = leaf([1.0])
    assert (x * 2.0)._ctx.stack is None
    with tg.detect_anomaly():
        y = x * 2.0
    assert y._ctx.stack is not None


def test_anomaly_mode_is_per_thread():
    seen = []
    with tg.detect_anomaly():
        thread = threading.Thread(target=lambda: seen.append(tg.is_anomaly_enabled()))
        thread.start()
        thread.join()
    assert seen == [False]


def test_results_are_identical_with_and_without_anomaly_mode():
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.standard_normal((2, 1, 6, 6)))
    conv = tg.nn.Conv2d(1, 2, 3, rng=rng)
    grads = []
    for mode in (False, True):
        conv.zero_grad()
        with tg.detect_anomaly(mode):
            conv(x).sigmoid().avg_pool2d(2).sum().backward()
        grads.append([p.grad.copy() for p in conv.parameters()])
    for a, b in zip(*grads, strict=False):
        np.testing.assert_array_equal(a, b)


def test_large_finite_values_are_not_flagged():
    # the fast check sums the array; a sum that overflows must fall back to an exact test
    x = leaf(np.full(4, 3e38, dtype=np.float32), dtype=np.float32)
    with tg.detect_anomaly():
        y = x * 1.0
    assert np.isfinite(y.numpy()).all()


def test_debugging_page_shows_the_real_messages():
    """Each python block of docs/debugging.md runs (as example.py, in one namespace); a block
    followed by a text block starting with an exception name must raise exactly that message."""
    import linecache
    import pathlib
    import re

    page = pathlib.Path(__file__).resolve().parent.parent / "docs" / "debugging.md"
    blocks = re.findall(r"```(python|text)\n(.*?)```", page.read_text(), flags=re.S)
    namespace: dict = {}
    checked = 0
    for k, (kind, source) in enumerate(blocks):
        if kind != "python":
            continue
        expected = blocks[k + 1][1].strip() if k + 1 < len(blocks) and blocks[k + 1][0] == "text" else None
        if expected is not None and not re.match(r"\w+Error: ", expected):
            expected = None
        linecache.cache["example.py"] = (len(source), None, source.splitlines(True), "example.py")
        code = compile(source, "example.py", "exec")
        with np.errstate(all="ignore"):
            if expected is None:
                exec(code, namespace)
                continue
            with pytest.raises(Exception) as info:
                exec(code, namespace)
        assert f"{type(info.value).__name__}: {info.value}" == expected
        checked += 1
    assert checked == 6


def test_zhang_cnn_trains_the_same_under_anomaly_mode():
    from models.zhang_cnn import ZhangCNN

    rng = np.random.default_rng(3)
    x, labels = rng.standard_normal((8, 1, 50, 50)).astype(np.float32), rng.integers(0, 2, 8)
    results = []
    for mode in (False, True):
        model = ZhangCNN(rng=0)
        opt = tg.optim.SGD(model.parameters(), lr=0.1)
        with tg.detect_anomaly(mode):
            for _ in range(3):
                opt.zero_grad()
                loss, _ = model.loss(x, labels, "mse")
                loss.backward()
                opt.step()
        results.append([p.data.copy() for p in model.parameters()])
    for a, b in zip(*results, strict=False):
        np.testing.assert_array_equal(a, b)
