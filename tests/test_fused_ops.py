"""The primitives that fuse a model's common layers: batch_norm with batch statistics,
cross_entropy of class indices, relu, and max pooling over tiling windows. Values against loops
or PyTorch, gradients against finite differences (first and second order), and the split over
threads against one thread."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracles import pool2d_loops

import tinygrad_np as tg
from tinygrad_np import functional as F
from tinygrad_np.ops import normalization, parallel
from tinygrad_np.testing import gradcheck, gradgradcheck
from tinygrad_np.testing import strategies as tst

ATOL, RTOL = 1e-6, 1e-5


def t64(a, requires_grad=True):
    return tg.Tensor(np.asarray(a, dtype=np.float64), dtype=np.float64, requires_grad=requires_grad)


# ------------------------------------------------------------------------ max pooling
def max_pool_grad_loops(x, g, k):
    """Each k x k tile's gradient shared evenly by its tied maxima, by loops."""
    gx = np.zeros_like(x)
    for n, c, r, s in np.ndindex(g.shape):
        window = x[n, c, r * k:(r + 1) * k, s * k:(s + 1) * k]
        winners = window == window.max()
        gx[n, c, r * k:(r + 1) * k, s * k:(s + 1) * k] += winners * g[n, c, r, s] / winners.sum()
    return gx


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("shape", "k"), [((3, 2, 8, 6), 2), ((2, 3, 7, 9), 2), ((2, 2, 9, 7), 3)])
def test_max_pool_tiling_windows_match_loops_with_ties(shape, k, threads):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, shape).astype(np.float64)  # many ties
    g = rng.standard_normal(pool2d_loops(x, (k, k), (k, k), np.max).shape)
    with parallel.forced_split(threads):
        xt = t64(x)
        y = tg.max_pool2d(xt, k)
        y.backward(g)
    np.testing.assert_array_equal(y.data, pool2d_loops(x, (k, k), (k, k), np.max))
    np.testing.assert_allclose(xt.grad, max_pool_grad_loops(x, g, k), rtol=1e-13, atol=1e-15)


@given(data=st.data())
def test_max_pool_tiling_gradients_first_and_second_order(data):
    seed = data.draw(st.integers(0, 2**16), label="seed")
    x = t64(np.random.default_rng(seed).permutation(96).reshape(2, 2, 4, 6) * 0.01)  # distinct: no ties
    assert gradcheck(lambda t: tg.max_pool2d(t, 2), x, atol=ATOL, rtol=RTOL, seed=seed)
    assert gradgradcheck(lambda t: tg.max_pool2d(t, 2) ** 2, x, atol=ATOL, rtol=RTOL, seed=seed)


# ------------------------------------------------------------------------------- relu
def test_relu_split_over_threads_equals_one_thread_and_keeps_special_values():
    x = np.random.default_rng(1).standard_normal((4, 3, 5, 5)).astype(np.float32)
    x.flat[:4] = [-np.inf, np.inf, -0.0, np.nan]
    g = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    results = []
    for threads in (1, 2):
        with parallel.forced_split(threads):
            xt = tg.Tensor(x, requires_grad=True)
            y = xt.relu()
            y.backward(g)
            results.append((y.data, xt.grad))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    y, gx = results[0]
    assert y.flat[0] == 0 and np.isinf(y.flat[1]) and not np.signbit(y.flat[2]) and np.isnan(y.flat[3])
    np.testing.assert_array_equal(gx, g * (x > 0))


# ------------------------------------------------------------------------- batch norm
def test_batch_norm_blocks_and_threads_give_the_same_values_and_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 6, 40, 30)) * 3 + 5  # a mean far from 0; two blocks of images
    w, b, g = rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal(x.shape)
    outputs = []
    for threads in (1, 2):
        with parallel.forced_split(threads):
            xt, wt, bt = t64(x), t64(w), t64(b)
            rm, rv = np.zeros(6), np.ones(6)
            y = F.batch_norm(xt, rm, rv, wt, bt, training=True, momentum=0.3, eps=1e-3)
            y.backward(g)
            outputs.append([y.data, xt.grad, wt.grad, bt.grad, rm, rv])
    for a, b_ in zip(*outputs, strict=True):
        np.testing.assert_array_equal(a, b_)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    trm, trv = torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.3, eps=1e-3)
    ty.backward(torch.tensor(g))
    for ours, theirs in zip(outputs[0], [ty, tx.grad, tw.grad, tb.grad, trm, trv], strict=True):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_float32_statistics_are_centred():
    """A large mean and a small spread: the variance is computed about the mean, not as
    E[x^2] - E[x]^2, which would lose every digit in float32."""
    rng = np.random.default_rng(4)
    x = (1000.0 + rng.standard_normal((8, 3, 16, 16)) * 0.01).astype(np.float32)
    mean, var = normalization.batch_statistics(x.reshape(8, 3, -1))
    exact = x.astype(np.float64).reshape(8, 3, -1)
    np.testing.assert_allclose(mean, exact.mean(axis=(0, 2)), rtol=1e-10)
    np.testing.assert_allclose(var, exact.var(axis=(0, 2)), rtol=1e-6)


@given(data=st.data())
def test_batch_norm_gradients_first_and_second_order_without_affine(data):
    x = data.draw(tst.tensors((3, 2, 2, 2)), label="x")
    seed = data.draw(st.integers(0, 2**16), label="cotangent seed")
    assert gradcheck(lambda t: F.batch_norm(t, None, None, training=True, eps=0.1), x, atol=ATOL, rtol=RTOL,
                     seed=seed)
    assert gradgradcheck(lambda t: F.batch_norm(t, None, None, training=True, eps=0.1), x, atol=ATOL, rtol=RTOL,
                         seed=seed)


def test_batch_norm_eval_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, w, b, rm = rng.standard_normal((4, 3, 5, 5)), rng.standard_normal(3), rng.standard_normal(3), rng.random(3)
    rv = rng.random(3) + 0.5
    xt, wt, bt = t64(x), t64(w), t64(b)
    y = F.batch_norm(xt, rm, rv, wt, bt, training=False)
    g = rng.standard_normal(x.shape)
    y.backward(g)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.batch_norm(tx, torch.tensor(rm), torch.tensor(rv), tw, tb, training=False)
    ty.backward(torch.tensor(g))
    for ours, theirs in zip([y.data, xt.grad, wt.grad, bt.grad], [ty, tx.grad, tw.grad, tb.grad], strict=True):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- cross entropy
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 2), (4,)])
def test_cross_entropy_matches_torch(shape, weighted, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape) * 3
    target_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    y = rng.integers(0, 4, target_shape)
    if y.ndim:
        y.flat[0] = -1  # ignored
    w = rng.random(4) + 0.5 if weighted else None
    xt = t64(x)
    loss = F.cross_entropy(xt, y, w, ignore_index=-1, reduction=reduction)
    g = rng.standard_normal(loss.shape)
    loss.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(y), None if w is None else torch.tensor(w),
                                           ignore_index=-1, reduction=reduction)
    tl.backward(torch.tensor(g))
    np.testing.assert_allclose(loss.data, tl.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_cross_entropy_with_every_target_ignored_is_nan_like_torch():
    x = t64(np.ones((2, 3)))
    loss = F.cross_entropy(x, np.array([-100, -100]))
    assert np.isnan(loss.item())


@given(data=st.data())
def test_cross_entropy_gradients_first_and_second_order(data):
    logits = data.draw(tst.tensors((3, 4)), label="logits")
    labels = np.array(data.draw(st.lists(st.integers(-1, 3), min_size=3, max_size=3), label="labels"))
    labels[0] = max(labels[0], 0)  # at least one target counts
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    seed = data.draw(st.integers(0, 2**16), label="cotangent seed")

    def fn(z):
        return F.cross_entropy(z, labels, np.array([1.0, 2.0, 0.5, 1.5]), ignore_index=-1, reduction=reduction)

    assert gradcheck(fn, logits, atol=ATOL, rtol=RTOL, seed=seed)
    assert gradgradcheck(fn, logits, atol=ATOL, rtol=RTOL, seed=seed)


# ------------------------------------------------------- conv2d: flipped kernel, 1x1
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding"), [
    ((3, 20, 6, 7), (24, 20, 3, 3), 1, 1),    # wide: the input gradient by the flipped kernel
    ((2, 18, 7, 5), (20, 18, 3, 2), 1, (2, 0)),
    ((3, 5, 6, 7), (7, 5, 1, 1), 1, 0),       # 1x1: matrix products
    ((3, 5, 7, 6), (7, 5, 1, 1), 2, 0),
    ((2, 4, 5, 5), (3, 4, 1, 1), (2, 1), 1),  # 1x1 with padding: the padded border reads zeros
])
def test_conv_shortcuts_match_loops_and_torch(x_shape, w_shape, stride, padding, threads):
    from oracles import conv2d_loops

    from tinygrad_np.ops import conv_shortcuts
    from tinygrad_np.ops.shape_checks import pair
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    st_, pad = pair(stride, "stride", "t", 1), pair(padding, "padding", "t", 0)
    with parallel.forced_split(threads):
        xt, wt, bt = t64(x), t64(w), t64(b)
        y = tg.conv2d(xt, wt, bt, stride=stride, padding=padding)
        g = rng.standard_normal(y.shape)
        y.backward(g)
    np.testing.assert_allclose(y.data, conv2d_loops(x, w, b, st_, pad), rtol=1e-12, atol=1e-12)
    if w_shape[2] > 1:
        padded = (x_shape[0], x_shape[1], x_shape[2] + 2 * pad[0], x_shape[3] + 2 * pad[1])
        assert conv_shortcuts.use_flipped(g.shape, w_shape, padded, st_, pad, (1, 1), 1)
    torch = pytest.importorskip("torch")
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding).backward(torch.tensor(g))
    for ours, theirs in ((xt.grad, tx.grad), (wt.grad, tw.grad), (bt.grad, tb.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-11, atol=1e-11)


@given(data=st.data())
def test_conv_shortcut_gradients_first_and_second_order(data):
    from unittest import mock

    from tinygrad_np.ops import conv_shortcuts
    one_by_one = data.draw(st.booleans(), label="1x1")
    k = 1 if one_by_one else 3
    x = data.draw(tst.tensors((1, 2, 4, 3)), label="x")
    w = data.draw(tst.tensors((3, 2, k, k), min_value=-0.5, max_value=0.5), label="w")
    seed = data.draw(st.integers(0, 2**16), label="cotangent seed")
    stride = 1 if not one_by_one else data.draw(st.sampled_from([1, 2]), label="stride")

    def fn(x, w):
        return tg.conv2d(x, w, stride=stride, padding=1 - one_by_one)

    # small layers take the flipped kernel only when the cost model is told it is free
    with mock.patch.object(conv_shortcuts, "flipped_costs", return_value=-1.0):
        if not one_by_one:
            assert conv_shortcuts.use_flipped((1, 3, 4, 3), w.shape, (1, 2, 6, 5), (1, 1), (1, 1), (1, 1), 1)
        assert gradcheck(fn, x, w, atol=ATOL, rtol=RTOL, seed=seed)
        assert gradgradcheck(fn, x, w, atol=ATOL, rtol=RTOL, seed=seed)


def test_matmul_split_in_pieces_matches_one_product():
    rng = np.random.default_rng(8)
    for a_shape, b_shape in (((600, 300), (300, 200)), ((10, 3000), (3000, 900))):  # split by rows, by columns
        a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
        g = rng.standard_normal((a_shape[0], b_shape[1]))
        results = []
        for threads in (1, 2):
            with parallel.forced_split(threads):
                at, bt = t64(a), t64(b)
                y = at @ bt
                y.backward(g)
            results.append((y.data, at.grad, bt.grad))
        for one, two in zip(*results, strict=True):
            np.testing.assert_array_equal(one, two)  # the same pieces whatever the thread count
        np.testing.assert_allclose(results[0][0], a @ b, rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(results[0][1], g @ b.T, rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(results[0][2], a.T @ g, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("x_shape", "w_shape", "padding"), [
    ((2, 8, 14, 13), (8, 8, 3, 3), (1, 1)),
    ((3, 10, 16, 12), (6, 10, 2, 3), (0, 1)),
    ((2, 12, 12, 12), (5, 12, 3, 1), (1, 0)),
])
def test_conv_rows_lowering_matches_loops(x_shape, w_shape, padding, threads):
    from oracles import conv2d_loops

    from tinygrad_np.ops import conv_rows
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    out_hw = (x_shape[2] + 2 * padding[0] - w_shape[2] + 1, x_shape[3] + 2 * padding[1] - w_shape[3] + 1)
    padded = x_shape[:2] + (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
    assert conv_rows.use_rows(padded, w_shape, (1, 1), (1, 1), out_hw)
    with parallel.forced_split(threads):
        xt, wt = t64(x), t64(w)
        y = tg.conv2d(xt, wt, padding=padding)
        g = rng.standard_normal(y.shape)
        y.backward(g)
    np.testing.assert_allclose(y.data, conv2d_loops(x, w, None, (1, 1), padding), rtol=1e-12, atol=1e-12)
    torch = pytest.importorskip("torch")
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv2d(tx, tw, padding=padding).backward(torch.tensor(g))
    np.testing.assert_allclose(wt.grad, tw.grad.numpy(), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-11, atol=1e-11)


@given(data=st.data())
def test_conv_rows_lowering_gradients_first_and_second_order(data):
    """The shifted-rows lowering on small layers (its channel and useful-share floors lowered so
    that it is chosen), under finite differences with a random cotangent."""
    from unittest import mock

    from tinygrad_np.ops import conv_rows
    c = data.draw(st.integers(1, 3), label="channels")
    f = data.draw(st.integers(1, c), label="filters")
    kh, kw = data.draw(st.integers(1, 3), label="kh"), data.draw(st.integers(2, 3), label="kw")
    ph, pw = data.draw(st.integers(0, kh - 1), label="pad h"), data.draw(st.integers(0, kw - 1), label="pad w")
    h, w = data.draw(st.integers(kh, kh + 3), label="h"), data.draw(st.integers(kw, kw + 3), label="w")
    x = data.draw(tst.tensors((2, c, h, w)), label="x")
    weight = data.draw(tst.tensors((f, c, kh, kw), min_value=-0.5, max_value=0.5), label="weight")
    seed = data.draw(st.integers(0, 2**16), label="cotangent seed")

    def fn(x, weight):
        return tg.conv2d(x, weight, padding=(ph, pw))

    forward = mock.Mock(wraps=conv_rows.rows_forward)
    with mock.patch.multiple(conv_rows, MIN_CHANNELS=1, MIN_USEFUL=0.0, rows_forward=forward):
        assert gradcheck(fn, x, weight, atol=ATOL, rtol=RTOL, seed=seed)
        assert gradgradcheck(fn, x, weight, atol=ATOL, rtol=RTOL, seed=seed)
    assert forward.called
