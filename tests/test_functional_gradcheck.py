"""Property tests: the gradients of the new functional ops (composites of several ops, and the erf
primitive) against central differences in float64 with a random cotangent, on drawn shapes,
values and geometries (values kept away from the kinks of the piecewise ops)."""
import math

import numpy as np
from helpers import check_gradients
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np import functional as F
from tinygrad_np.ops.special import erf
from tinygrad_np.testing import strategies as tst


@given(x=tst.tensors(tst.shapes(max_dims=3), min_value=-4.0, max_value=4.0), data=st.data())
def test_erf_primitive(x, data):
    np.testing.assert_allclose(erf(x).data, np.vectorize(math.erf)(x.data), rtol=1e-15, atol=1e-16)
    check_gradients(data, erf, x)


ACTIVATIONS = {
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), (0.0,)),
    "elu": (lambda t: F.elu(t, 0.7), (0.0,)),
    "gelu": (F.gelu, ()),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), ()),
    "silu": (F.silu, ()),
    "softplus": (lambda t: F.softplus(t, beta=2.0, threshold=3.0), (1.5,)),
    "hardswish": (F.hardswish, (-3.0, 3.0)),
    "mish": (F.mish, ()),
    "hardtanh": (lambda t: F.hardtanh(t, -1.0, 2.0), (-1.0, 2.0)),
}


@given(name=st.sampled_from(sorted(ACTIVATIONS)), data=st.data())
def test_activations(name, data):
    fn, kinks = ACTIVATIONS[name]
    x = data.draw(tst.tensors(tst.shapes(max_dims=3), min_value=-5.0, max_value=5.0, away_from=kinks, margin=1e-3),
                  label="x")
    check_gradients(data, fn, x)


@st.composite
def nchw(draw, max_side=5, min_batch=1):
    shape = (draw(st.integers(min_batch, 3), label="n"), draw(st.integers(1, 4), label="c"),
             draw(st.integers(1, max_side), label="h"), draw(st.integers(1, max_side), label="w"))
    return shape


@given(shape=nchw(min_batch=2), data=st.data())
def test_batch_norm_training(shape, data):
    c = shape[1]
    x = data.draw(tst.tensors(shape), label="x")
    w, b = data.draw(tst.tensors((c,)), label="weight"), data.draw(tst.tensors((c,)), label="bias")
    check_gradients(data, lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=0.1), x, w, b)


@given(shape=tst.shapes(min_dims=2, max_dims=4, min_side=2), data=st.data())
def test_layer_norm(shape, data):
    k = data.draw(st.integers(1, len(shape) - 1), label="normalized dims")
    x = data.draw(tst.tensors(shape), label="x")
    w, b = data.draw(tst.tensors(shape[-k:]), label="weight"), data.draw(tst.tensors(shape[-k:]), label="bias")
    check_gradients(data, lambda x, w, b: F.layer_norm(x, shape[-k:], w, b, eps=0.1), x, w, b)


@given(data=st.data())
def test_group_norm(data):
    groups, per_group = data.draw(st.integers(1, 3), label="groups"), data.draw(st.integers(1, 2), label="per group")
    c = groups * per_group
    shape = (data.draw(st.integers(1, 2), label="n"), c, data.draw(st.integers(1, 4), label="length"))
    x, w, b = (data.draw(tst.tensors(s), label=n) for s, n in ((shape, "x"), ((c,), "w"), ((c,), "b")))
    check_gradients(data, lambda x, w, b: F.group_norm(x, groups, w, b, eps=0.1), x, w, b)


@given(data=st.data())
def test_cross_entropy_with_indices_weights_and_smoothing(data):
    n, c, d = (data.draw(st.integers(1, 4), label=k) for k in ("n", "classes", "extra dim"))
    logits = data.draw(tst.tensors((n, c, d)), label="logits")
    flat = data.draw(st.lists(st.integers(-1, c - 1), min_size=n * d, max_size=n * d), label="labels (-1 ignored)")
    labels = np.array(flat).reshape(n, d)
    weight = np.array(data.draw(st.lists(st.floats(0.5, 2.0), min_size=c, max_size=c), label="weight"))
    smoothing = data.draw(st.sampled_from([0.0, 0.25]), label="smoothing")
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    if reduction == "mean" and (labels == -1).all():
        labels[0, 0] = 0  # an all-ignored mean is NaN by definition
    check_gradients(data, lambda t: F.cross_entropy(t, labels, weight, ignore_index=-1, reduction=reduction,
                                                    label_smoothing=smoothing), logits)


@given(data=st.data())
def test_cross_entropy_with_probabilities_and_nll(data):
    n, c = data.draw(st.integers(1, 4), label="n"), data.draw(st.integers(2, 4), label="classes")
    logits = data.draw(tst.tensors((n, c)), label="logits")
    probs = data.draw(tst.tensors((n, c), min_value=0.0, max_value=1.0), label="target")
    check_gradients(data, lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1), logits, probs)
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n), label="labels"))
    check_gradients(data, lambda x: F.nll_loss(x.log_softmax(1), labels, np.linspace(0.5, 1.5, c)), logits)


@given(shape=tst.shapes(max_dims=3), data=st.data())
def test_binary_losses_and_kl(shape, data):
    p = data.draw(tst.tensors(shape, min_value=0.05, max_value=0.95), label="p")
    y = data.draw(tst.tensors(shape, min_value=0.0, max_value=1.0), label="y")
    w = data.draw(tst.arrays(shape[-1:], min_value=0.5, max_value=2.0), label="weight")
    check_gradients(data, lambda p, y: F.binary_cross_entropy(p, y, w), p, y)
    check_gradients(data, lambda x, y: F.binary_cross_entropy_with_logits(x, y, w, pos_weight=2.5 - w),
                    p * 6 - 3, y)
    log_q = data.draw(tst.tensors(shape, min_value=-3.0, max_value=0.0), label="log q")
    check_gradients(data, lambda a, b: F.kl_div(a, b, reduction="sum"), log_q, y + 0.1)
    check_gradients(data, lambda a, b: F.kl_div(a, b, reduction="sum", log_target=True), log_q, y - 1.0)


@given(data=st.data())
def test_smooth_l1_and_huber(data):
    shape = data.draw(tst.shapes(max_dims=2), label="shape")
    kinks = (-0.8, 0.0, 0.8)
    d = data.draw(tst.tensors(shape, away_from=kinks, margin=1e-3), label="input")
    zero = np.zeros(shape)
    check_gradients(data, lambda t: F.smooth_l1_loss(t, zero, beta=0.8), d)
    check_gradients(data, lambda t: F.huber_loss(t, zero, delta=0.8), d)


@given(shape=nchw(), data=st.data())
def test_interpolate(shape, data):
    x = data.draw(tst.tensors(shape), label="x")
    size = (data.draw(st.integers(1, 7), label="out h"), data.draw(st.integers(1, 7), label="out w"))
    mode = data.draw(st.sampled_from(["nearest", "nearest-exact", "bilinear", "area"]), label="mode")
    corners = data.draw(st.booleans(), label="align_corners") if mode == "bilinear" else None
    check_gradients(data, lambda t: F.interpolate(t, size=size, mode=mode, align_corners=corners), x)


@given(shape=nchw(max_side=7), data=st.data())
def test_pooling_with_padding_and_adaptive(shape, data):
    k = data.draw(st.integers(1, 3), label="kernel")
    pad = data.draw(st.integers(0, k // 2), label="padding")
    stride = data.draw(st.integers(1, 3), label="stride")
    ceil = data.draw(st.booleans(), label="ceil_mode")
    if min(shape[2:]) + 2 * pad < k:
        return
    x = data.draw(tst.tensors(shape, distinct=True, margin=1e-2), label="x")  # a unique maximum per window
    include = data.draw(st.booleans(), label="count_include_pad")
    check_gradients(data, lambda t: F.avg_pool2d(t, k, stride, pad, ceil, include), x)
    dilation = data.draw(st.integers(1, 2), label="dilation")
    extent = dilation * (k - 1) + 1
    # (a dilated window may read only padding, giving -inf as in PyTorch: no derivative to check there)
    if min(shape[2:]) + 2 * pad >= extent and pad <= extent // 2 \
            and np.isfinite(F.max_pool2d(x, k, stride, pad, dilation, ceil).data).all():
        check_gradients(data, lambda t: F.max_pool2d(t, k, stride, pad, dilation, ceil), x)
    out = (data.draw(st.integers(1, shape[2]), label="out h"), data.draw(st.integers(1, shape[3]), label="out w"))
    check_gradients(data, lambda t: F.adaptive_avg_pool2d(t, out), x)


@given(data=st.data())
def test_conv_transpose2d(data):
    groups = data.draw(st.integers(1, 2), label="groups")
    c_in, c_out = groups * data.draw(st.integers(1, 2), label="in/g"), groups * data.draw(st.integers(1, 2), label="out/g")
    k = (data.draw(st.integers(1, 3), label="kh"), data.draw(st.integers(1, 3), label="kw"))
    stride = (data.draw(st.integers(1, 3), label="sh"), data.draw(st.integers(1, 3), label="sw"))
    dilation = (data.draw(st.integers(1, 2), label="dh"), data.draw(st.integers(1, 2), label="dw"))
    padding = tuple(data.draw(st.integers(0, d * (kk - 1)), label="padding") for d, kk in zip(dilation, k, strict=True))
    out_pad = tuple(data.draw(st.integers(0, max(s, d) - 1), label="output_padding") for s, d in zip(stride, dilation, strict=True))
    x = data.draw(tst.tensors((data.draw(st.integers(1, 2), label="n"), c_in, data.draw(st.integers(1, 4), label="h"),
                               data.draw(st.integers(1, 4), label="w"))), label="x")
    out = [(x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k[i] - 1) + out_pad[i] + 1
           for i in range(2)]
    if min(out) < 1:
        return
    w = data.draw(tst.tensors((c_in, c_out // groups) + k), label="weight")
    b = data.draw(tst.tensors((c_out,)), label="bias")
    check_gradients(data, lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, out_pad, groups, dilation),
                    x, w, b)


@given(data=st.data())
def test_embedding_with_padding(data):
    num, dim = data.draw(st.integers(2, 5), label="num"), data.draw(st.integers(1, 3), label="dim")
    idx = np.array(data.draw(st.lists(st.integers(0, num - 1), min_size=1, max_size=6), label="indices"))
    w = data.draw(tst.tensors((num, dim)), label="weight")
    pad = data.draw(st.integers(0, num - 1), label="padding_idx")
    # the padding row gets no gradient by design, so its outputs are masked out of the check
    keep = (idx != pad)[:, None].astype(np.float64)
    check_gradients(data, lambda t: F.embedding(idx, t, padding_idx=pad) * keep, w)
    out = F.embedding(idx, tg.Tensor(w.data, requires_grad=True, dtype=np.float64), padding_idx=pad)
    np.testing.assert_array_equal(out.data, w.data[idx])
