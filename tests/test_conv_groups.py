"""conv2d with groups (depthwise included), dilation and padding='same'/'valid': forward against
the loop oracle and PyTorch, gradients and second derivatives against finite differences."""
import numpy as np
import pytest
from helpers import check_gradients, t64
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import conv2d_loops

import tinygrad_np as tg
from tinygrad_np.testing import gradgradcheck
from tinygrad_np.testing import strategies as tst


def conv(geo):
    return lambda *t: tg.conv2d(*t, stride=geo.stride, padding=geo.padding, dilation=geo.dilation, groups=geo.groups)


@given(geo=tst.conv2d_geometries(max_channels=2, max_dilation=3, max_groups=3), with_bias=st.booleans(),
       data=st.data())
def test_grouped_dilated_conv2d(geo, with_bias, data):
    x = data.draw(tst.tensors(geo.input_shape), label="x")
    w = data.draw(tst.tensors(geo.weight_shape), label="w")
    inputs = (x, w) + ((data.draw(tst.tensors((geo.out_channels,)), label="bias"),) if with_bias else ())
    out = conv(geo)(*inputs)
    assert out.shape == geo.output_shape
    expected = conv2d_loops(x.data, w.data, inputs[2].data if with_bias else None, geo.stride, geo.padding,
                            geo.dilation, geo.groups)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    check_gradients(data, conv(geo), *inputs)


@given(channels=st.integers(1, 4), multiplier=st.integers(1, 2), data=st.data())
def test_depthwise_conv2d(channels, multiplier, data):
    """groups == channels (each output channel sees one input channel), with a channel multiplier."""
    geo = data.draw(tst.conv2d_geometries(max_channels=1, max_dilation=2), label="geometry")
    x = data.draw(tst.tensors((geo.batch, channels, geo.height, geo.width)), label="x")
    w = data.draw(tst.tensors((channels * multiplier, 1) + geo.kernel), label="w")
    out = tg.conv2d(x, w, stride=geo.stride, padding=geo.padding, dilation=geo.dilation, groups=channels)
    expected = conv2d_loops(x.data, w.data, None, geo.stride, geo.padding, geo.dilation, channels)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    check_gradients(data, lambda a, b: tg.conv2d(a, b, stride=geo.stride, padding=geo.padding,
                                                 dilation=geo.dilation, groups=channels), x, w)


@settings(max_examples=10)
@given(geo=tst.conv2d_geometries(max_batch=1, max_channels=2, max_size=5, max_kernel=3, max_dilation=2,
                                 max_groups=2), data=st.data())
def test_second_derivatives(geo, data):
    x = data.draw(tst.tensors(geo.input_shape), label="x")
    w = data.draw(tst.tensors(geo.weight_shape), label="w")
    assert gradgradcheck(lambda a, b: conv(geo)(a, b).tanh(), x, w, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(("kernel", "dilation"), [((3, 3), (1, 1)), ((4, 2), (1, 1)), ((3, 2), (2, 3))])
def test_same_padding_keeps_the_size_and_matches_explicit_padding(kernel, dilation):
    rng = np.random.default_rng(0)
    x, w = t64(rng.standard_normal((2, 3, 7, 6))), t64(rng.standard_normal((4, 3) + kernel))
    out = tg.conv2d(x, w, padding="same", dilation=dilation)
    assert out.shape == (2, 4, 7, 6)
    totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    padded = np.pad(x.data, ((0, 0), (0, 0), (totals[0] // 2, totals[0] - totals[0] // 2),
                             (totals[1] // 2, totals[1] - totals[1] // 2)))
    np.testing.assert_allclose(out.data, conv2d_loops(padded, w.data, dilation=dilation), rtol=1e-12)
    assert tg.conv2d(x, w, padding="valid").shape == tg.conv2d(x, w).shape


def test_matches_torch_for_a_mobilenet_style_block():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(1)
    x0, dw0, pw0 = rng.standard_normal((2, 8, 9, 9)), rng.standard_normal((8, 1, 3, 3)), rng.standard_normal((16, 8, 1, 1))
    x, dw, pw = t64(x0), t64(dw0), t64(pw0)
    y = tg.conv2d(tg.conv2d(x, dw, stride=2, padding=1, groups=8).relu(), pw)
    v = rng.standard_normal(y.shape)
    y.backward(v)
    tx, tdw, tpw = (torch.tensor(a, requires_grad=True) for a in (x0, dw0, pw0))
    ty = tf.conv2d(torch.relu(tf.conv2d(tx, tdw, stride=2, padding=1, groups=8)), tpw)
    ty.backward(torch.tensor(v))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    for ours, theirs in [(x.grad, tx.grad), (dw.grad, tdw.grad), (pw.grad, tpw.grad)]:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"groups": 3}, r"conv2d: groups=3 must divide the input channels \(4\) and the filters \(6\)"),
    ({"groups": 0}, "conv2d: groups must be a positive int, got 0"),
    ({"groups": 2, "weight": (6, 4, 3, 3)}, r"input has 4 channels but weight expects 8 \(4 per group x 2 groups"),
    ({"padding": "full"}, "padding must be an int, a pair, 'valid' or 'same', got 'full'"),
    ({"padding": "same", "stride": 2}, r"padding='same' needs stride 1, got stride \(2, 2\)"),
    ({"dilation": 5}, r"kernel 3x3 \(dilation \(5, 5\)\) is larger than the padded input 6x6"),
    ({"dilation": 0}, "dilation"),
])
def test_bad_arguments_name_the_problem(kwargs, message):
    kwargs = dict(kwargs)
    w = np.zeros(kwargs.pop("weight", (6, 4, 3, 3)))
    with pytest.raises(ValueError, match=message):
        tg.conv2d(np.zeros((1, 4, 6, 6)), w, **kwargs)


def test_conv2d_layer_with_groups_and_dilation_matches_torch():
    torch = pytest.importorskip("torch")
    layer = tg.nn.Conv2d(6, 9, 3, padding="same", dilation=2, groups=3, rng=0, dtype=np.float64)
    ref = torch.nn.Conv2d(6, 9, 3, padding="same", dilation=2, groups=3, dtype=torch.float64)
    ref.load_state_dict({k: torch.tensor(v.data) for k, v in layer.named_parameters()})
    x = np.random.default_rng(2).standard_normal((2, 6, 7, 7))
    np.testing.assert_allclose(layer(tg.Tensor(x, dtype=np.float64)).data,
                               ref(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)
    assert layer.weight.shape == (9, 2, 3, 3)
    assert "groups=3" in repr(layer) and "dilation=(2, 2)" in repr(layer)


def test_grouped_and_dilated_convs_export_to_onnx_and_load_back(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    net = tg.nn.Sequential(tg.nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2, rng=0), tg.nn.ReLU(),
                           tg.nn.Conv2d(8, 8, 3, groups=8, stride=2, rng=1))
    x = np.random.default_rng(0).standard_normal((3, 4, 9, 9)).astype(np.float32)
    path = tmp_path / "grouped.onnx"
    tg.onnx.export(net, tg.Tensor(x), path)
    session = ort.InferenceSession(str(path))
    (theirs,) = session.run(None, {session.get_inputs()[0].name: x})
    ours = net(tg.Tensor(x)).data
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tg.onnx.load(path)(tg.Tensor(x)).data, ours, rtol=1e-5, atol=1e-5)
