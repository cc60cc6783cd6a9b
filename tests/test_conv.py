"""conv2d, threshold and pooling against plain-loop oracles; gradients against finite differences."""
import contextlib

import numpy as np
import pytest
from helpers import check_gradients, t64
from hypothesis import given
from hypothesis import strategies as st
from oracles import conv2d_loops, pool2d_loops

import tinygrad_np as tg
from tinygrad_np.ops.conv_lowerings import forced_algorithm
from tinygrad_np.ops.parallel import forced_split
from tinygrad_np.testing import strategies as tst

ALGORITHMS = [("auto", 0), ("im2col", 0), ("band", 0), ("band", 1), ("band", 2), ("band", 3)]
# 1: on the calling thread; 3: the batch split over three threads, however small (parallel.py)
THREADS = [1, 3]


def forced(algorithm, block, threads):
    stack = contextlib.ExitStack()
    if algorithm != "auto":
        stack.enter_context(forced_algorithm(algorithm, block))
    if threads > 1:
        stack.enter_context(forced_split(threads))
    return stack


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize(("algorithm", "block"), ALGORITHMS)
@given(geo=tst.conv2d_geometries(max_batch=4), with_bias=st.booleans(), data=st.data())
def test_conv2d(algorithm, block, threads, geo, with_bias, data):
    """Every lowering (and band block width, which decides how patches overlap) is checked, on
    one thread and with the batch split over threads."""
    with forced(algorithm, block, threads):
        check_conv2d(geo, with_bias, data)


def check_conv2d(geo, with_bias, data):
    x = data.draw(tst.tensors(geo.input_shape), label="x")
    w = data.draw(tst.tensors(geo.weight_shape), label="w")
    b = data.draw(tst.tensors((geo.out_channels,)), label="bias") if with_bias else None
    out = tg.conv2d(x, w, b, stride=geo.stride, padding=geo.padding)
    assert out.shape == geo.output_shape
    expected = conv2d_loops(x.data, w.data, None if b is None else b.data, geo.stride, geo.padding)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    inputs = (x, w) + ((b,) if with_bias else ())
    check_gradients(data, lambda *t: tg.conv2d(*t, stride=geo.stride, padding=geo.padding), *inputs)


def test_conv2d_flipped_kernel_gives_true_convolution():
    """The original project convolved with flipped kernels: pass weight[:, :, ::-1, ::-1]."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 1, 6, 6)), rng.standard_normal((1, 1, 3, 3))
    true_conv = np.zeros((4, 4))
    for r in range(4):
        for s in range(4):  # sum_ij x[r + 2 - i, s + 2 - j] w[i, j]: a convolution in the strict sense
            true_conv[r, s] = sum(x[0, 0, r + 2 - i, s + 2 - j] * w[0, 0, i, j] for i in range(3) for j in range(3))
    out = tg.conv2d(t64(x), t64(w[:, :, ::-1, ::-1]))
    np.testing.assert_allclose(out.data[0, 0], true_conv, rtol=1e-12)


@pytest.mark.parametrize("threads", THREADS)
@given(data=st.data(), transposed=st.booleans())
def test_threshold(threads, data, transposed):
    """Contiguous input (one add per image row) and, transposed, a strided view (broadcast add)."""
    x = data.draw(tst.tensors(tst.shapes(min_dims=4 if transposed else 2, max_dims=4)), label="x")
    t = data.draw(tst.tensors((x.shape[1],)), label="t")
    layout = (lambda a: a.transpose(-1, -2)) if transposed else (lambda a: a)
    expected = layout(x).data + t.data.reshape((1, -1) + (1,) * (x.ndim - 2))
    with forced("auto", 0, threads):
        np.testing.assert_array_equal(layout(x).threshold(t).data, expected)
        check_gradients(data, lambda a, b: layout(a).threshold(b), x, t)


@pytest.mark.parametrize("threads", THREADS)
@given(geo=tst.pool_geometries(), data=st.data())
def test_avg_pool2d(threads, geo, data):
    x = data.draw(tst.tensors(geo.input_shape), label="x")
    with forced("auto", 0, threads):
        out = tg.avg_pool2d(x, geo.kernel, geo.stride)
        assert out.shape == geo.output_shape
        np.testing.assert_allclose(out.data, pool2d_loops(x.data, geo.kernel, geo.stride, np.mean), rtol=1e-12)
        check_gradients(data, lambda t: tg.avg_pool2d(t, geo.kernel, geo.stride), x)


@given(geo=tst.pool_geometries(), data=st.data())
def test_max_pool2d(geo, data):
    # distinct values: the max of each window is unique, so finite differences are valid
    x = data.draw(tst.tensors(geo.input_shape, distinct=True, margin=1e-3), label="x")
    out = tg.max_pool2d(x, geo.kernel, geo.stride)
    assert out.shape == geo.output_shape
    np.testing.assert_array_equal(out.data, pool2d_loops(x.data, geo.kernel, geo.stride, np.max))
    check_gradients(data, lambda t: tg.max_pool2d(t, geo.kernel, geo.stride), x)


def test_max_pool_ties_split_evenly():
    x = t64(np.array([[[[1.0, 1.0], [0.0, 1.0]]]]))
    tg.max_pool2d(x, 2).sum().backward()
    np.testing.assert_allclose(x.grad, [[[[1 / 3, 1 / 3], [0.0, 1 / 3]]]])


def test_pooling_floors_the_output_size():
    x = t64(np.arange(25.0).reshape(1, 1, 5, 5))
    out = tg.avg_pool2d(x, 2)  # rows/columns 4 are dropped, like PyTorch
    assert out.shape == (1, 1, 2, 2)
    np.testing.assert_allclose(out.data[0, 0], [[3.0, 5.0], [13.0, 15.0]])


def test_default_pipeline_from_the_readme():
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.random((2, 1, 50, 50)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((6, 1, 11, 11)) * 0.1, requires_grad=True)
    t = tg.Tensor(np.zeros(6), requires_grad=True)
    y = x.conv2d(w).threshold(t).sigmoid().avg_pool2d(2)
    assert y.shape == (2, 6, 20, 20)
    assert y.dtype == np.float32
    (y ** 2).mean().backward()
    assert x.grad.shape == x.shape
    assert w.grad.shape == w.shape
    assert t.grad.shape == (6,)
    assert w.grad.dtype == np.float32


@pytest.mark.parametrize(("call", "message"), [
    (lambda: tg.conv2d(np.zeros((8, 3, 50, 50)), np.zeros((6, 1, 11, 11))),
     r"conv2d: input has 3 channels but weight expects 1 \(input \(8, 3, 50, 50\), weight \(6, 1, 11, 11\)\)"),
    (lambda: tg.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 7, 7)), padding=1),
     r"conv2d: kernel 7x7 is larger than the padded input 6x6"),
    (lambda: tg.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), stride=0),
     r"conv2d: stride must be >= 1, got 0"),
    (lambda: tg.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), padding=-1),
     r"conv2d: padding must be >= 0, got -1"),
    (lambda: tg.conv2d(np.zeros((1, 4, 4)), np.zeros((1, 1, 3, 3))),
     r"conv2d: input must be 4-D \(N, C, H, W\), got shape \(1, 4, 4\)"),
    (lambda: tg.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), bias=np.zeros(3)),
     r"conv2d: bias must have shape \(2,\)"),
    (lambda: tg.threshold(np.zeros((2, 6, 4, 4)), np.zeros(5)),
     r"threshold: expected 6 thresholds, shape \(6,\), for input \(2, 6, 4, 4\), got shape \(5,\)"),
    (lambda: tg.avg_pool2d(np.zeros((1, 1, 3, 3)), 4), r"avg_pool2d: kernel 4x4 is larger than the input 3x3"),
    (lambda: tg.max_pool2d(np.zeros((1, 1, 3, 3)), 2, stride=0), r"max_pool2d: stride must be >= 1, got 0"),
    (lambda: tg.avg_pool2d(np.zeros((1, 1, 3, 3)), (2, 2.5)), r"avg_pool2d: kernel_size must be an int or a pair"),
])
def test_conv_and_pool_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
