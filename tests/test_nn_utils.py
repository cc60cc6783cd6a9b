"""tg.nn.utils (gradient clipping, parameters as one vector) against torch.nn.utils, and the
initialisers of tg.nn.init with PyTorch's names, bounds and gains."""
import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn

torch = pytest.importorskip("torch")
SHAPES = [(3, 4), (5,), (2, 2, 3)]


def pairs(dtype, scale=1.0, skip=None):
    rng = np.random.default_rng(0)
    ours, theirs = [], []
    for i, s in enumerate(SHAPES):
        w, g = rng.standard_normal(s), rng.standard_normal(s) * scale
        p, tp = nn.Parameter(w, dtype=dtype), torch.tensor(w.astype(dtype), requires_grad=True)
        if i != skip:
            p.grad, tp.grad = g.astype(dtype), torch.tensor(g.astype(dtype))
        ours.append(p)
        theirs.append(tp)
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    ours, theirs = pairs(dtype, skip=1)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    assert isinstance(total, tg.Tensor) and total.dtype == dtype
    np.testing.assert_allclose(total.item(), expected.item(), rtol=rtol)
    for p, tp in zip(ours, theirs, strict=True):
        if tp.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=rtol, atol=1e-7 * (dtype == np.float32))


def test_clip_grad_norm_details():
    ours, _ = pairs(np.float64)
    grad = ours[0].grad
    assert nn.utils.clip_grad_norm_(ours[0], 0.1).shape == ()  # a single tensor is fine; grads change in place
    assert ours[0].grad is grad
    assert nn.utils.clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0).item() == 0.0  # no gradients
    ours[1].grad[0] = np.inf
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(TypeError, match=r"parameters\[0\] is a ndarray, not a Tensor"):
        nn.utils.clip_grad_norm_([np.zeros(2)], 1.0)


def test_clip_grad_value_matches_torch():
    ours, theirs = pairs(np.float64, scale=3.0, skip=2)
    nn.utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, tp in zip(ours[:2], theirs[:2], strict=True):
        np.testing.assert_array_equal(p.grad, tp.grad.numpy())
    assert ours[2].grad is None


def test_parameters_to_vector_and_back():
    ours, theirs = pairs(np.float64)
    vec = nn.utils.parameters_to_vector(ours)
    np.testing.assert_array_equal(vec.data, torch.nn.utils.parameters_to_vector(theirs).detach().numpy())
    for p in ours:
        p.grad = None
    (vec * tg.Tensor(np.arange(vec.numel()), dtype=np.float64)).sum().backward()  # differentiable, like a cat
    np.testing.assert_array_equal(np.concatenate([p.grad.reshape(-1) for p in ours]), np.arange(vec.numel()))
    arrays = [p.data for p in ours]
    nn.utils.vector_to_parameters(np.arange(vec.numel(), dtype=np.float64) * 0.5, ours)
    torch.nn.utils.vector_to_parameters(torch.arange(vec.numel(), dtype=torch.float64) * 0.5, theirs)
    for p, tp, arr in zip(ours, theirs, arrays, strict=True):
        assert p.data is arr  # written in place, so optimizers keep their references
        np.testing.assert_array_equal(p.data, tp.detach().numpy())
    with pytest.raises(ValueError, match=r"expected a 1-D vector of 29 values.*got shape \(3,\)"):
        nn.utils.vector_to_parameters(np.zeros(3), ours)


def test_init_functions_with_pytorch_names():
    rng = np.random.default_rng(0)
    w = tg.Tensor(np.zeros((300, 200)))
    nn.init.xavier_normal_(w, gain=2.0, rng=rng)
    assert abs(w.data.std() - 2.0 * math.sqrt(2 / 500)) < 0.003
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", rng=rng)
    assert abs(w.data.std() - math.sqrt(2) / math.sqrt(300)) < 0.002
    nn.init.kaiming_uniform_(w, a=math.sqrt(5), rng=rng)
    assert 0.95 / math.sqrt(200) < np.abs(w.data).max() <= 1 / math.sqrt(200)
    nn.init.trunc_normal_(w, mean=0.5, std=1.0, a=0.0, b=1.0, rng=rng)
    assert w.data.min() >= 0.0 and w.data.max() <= 1.0
    q = tg.Tensor(np.zeros((3, 5, 2)), dtype=np.float64)
    nn.init.orthogonal_(q, gain=1.5, rng=rng)
    flat = q.data.reshape(3, -1)
    np.testing.assert_allclose(flat @ flat.T, 2.25 * np.eye(3), atol=1e-12)  # orthogonal rows
    nn.init.eye_(w)
    np.testing.assert_array_equal(w.data, np.eye(300, 200))
    nn.init.constant_(w, val=0.25)
    assert (w.data == 0.25).all()
    for name, param in [("linear", None), ("conv_transpose2d", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert nn.init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    with pytest.raises(TypeError, match=r"a must be a number, got Generator \(pass a generator as rng=...\)"):
        nn.init.kaiming_uniform_(w, rng)
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        nn.init.kaiming_normal_(w, mode="fan_avg")
    with pytest.raises(ValueError, match="eye_: needs a 2-D tensor"):
        nn.init.eye_(q)
