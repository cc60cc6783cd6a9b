"""Second derivatives of the new functional ops and the erf primitive: gradgradcheck (float64,
random cotangents) under Hypothesis. The composites need no code for this; the test pins it."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_np import functional as F
from tinygrad_np.ops.special import erf
from tinygrad_np.testing import gradgradcheck
from tinygrad_np.testing import strategies as tst

ATOL, RTOL = 1e-6, 1e-5


def check(data, fn, *inputs):
    seed = data.draw(st.integers(0, 2**16), label="cotangent seed")
    assert gradgradcheck(fn, *inputs, atol=ATOL, rtol=RTOL, seed=seed)


UNARY = {
    "erf": (erf, ()),
    "gelu": (F.gelu, ()),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), ()),
    "elu": (lambda t: F.elu(t, 0.7), (0.0,)),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.1) ** 2, (0.0,)),
    "softplus": (lambda t: F.softplus(t, 2.0, 3.0), (1.5,)),
    "silu": (F.silu, ()),
    "mish": (F.mish, ()),
    "hardswish": (F.hardswish, (-3.0, 3.0)),
    "smooth_l1": (lambda t: F.smooth_l1_loss(t, np.zeros(t.shape), beta=0.8, reduction="none"), (-0.8, 0.8)),
}


@given(name=st.sampled_from(sorted(UNARY)), data=st.data())
def test_elementwise(name, data):
    fn, kinks = UNARY[name]
    x = data.draw(tst.tensors(tst.shapes(max_dims=2), min_value=-4.0, max_value=4.0, away_from=kinks, margin=1e-3),
                  label="x")
    check(data, fn, x)


@given(data=st.data())
def test_normalization(data):
    n, c, length = 2, 2 * data.draw(st.integers(1, 2), label="c/2"), 2
    x = data.draw(tst.tensors((n, c, length)), label="x")
    w, b = data.draw(tst.tensors((c,)), label="weight"), data.draw(tst.tensors((c,)), label="bias")
    check(data, lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=0.1), x, w, b)
    check(data, lambda x: F.layer_norm(x, (length,), eps=0.1), x)
    check(data, lambda x, w: F.group_norm(x, 2, w, None, eps=0.1), x, w)


@given(data=st.data())
def test_classification_losses(data):
    logits = data.draw(tst.tensors((3, 4)), label="logits")
    labels = np.array(data.draw(st.lists(st.integers(-1, 3), min_size=3, max_size=3), label="labels"))
    labels[0] = max(labels[0], 0)  # at least one target counts
    probs = data.draw(tst.tensors((3, 4), min_value=0.0, max_value=1.0), label="probabilities")
    check(data, lambda z: F.cross_entropy(z, labels, np.array([1.0, 2.0, 0.5, 1.5]), ignore_index=-1,
                                          label_smoothing=0.2), logits)
    check(data, lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1), logits, probs)
    check(data, lambda z, y: F.kl_div(z.log_softmax(1), y + 0.1, reduction="batchmean"), logits, probs)


@given(data=st.data())
def test_resampling_pooling_and_transposed_conv(data):
    x = data.draw(tst.tensors((1, 2, data.draw(st.integers(2, 3), label="h"), data.draw(st.integers(2, 3), label="w")),
                              distinct=True, margin=1e-2), label="x")
    size = (data.draw(st.integers(1, 4), label="out h"), data.draw(st.integers(1, 4), label="out w"))
    check(data, lambda t: F.interpolate(t, size=size, mode="bilinear") ** 2, x)
    check(data, lambda t: F.adaptive_avg_pool2d(t, (1, 2)).tanh(), x)
    check(data, lambda t: F.avg_pool2d(t, 2, 1, 1, True, False).tanh(), x)
    check(data, lambda t: F.max_pool2d(t, 2, 1, 1).tanh(), x)
    w = data.draw(tst.tensors((2, 1, 2, 2)), label="weight")
    check(data, lambda t, w: F.conv_transpose2d(t, w, None, 2, 1, 1), x, w)
