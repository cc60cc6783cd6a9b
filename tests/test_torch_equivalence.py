"""ZhangCNN against an independent PyTorch implementation of the same network, in float64."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

from models.zhang_cnn import ZhangCNN  # noqa: E402

RTOL = 1e-10


def torch_network(x, w1, t1, w2, t2, wf, bf):
    """The specified network written directly with torch ops: returns (logits, output)."""
    h = torch.sigmoid(TF.conv2d(x, w1) + t1.view(1, -1, 1, 1))        # (N, 6, 40, 40)
    h = TF.avg_pool2d(h, 2)                                            # (N, 6, 20, 20)
    h = torch.sigmoid(TF.conv2d(h, w2) + t2.view(1, -1, 1, 1))        # (N, 12, 16, 16)
    h = TF.avg_pool2d(h, 2)                                            # (N, 12, 8, 8)
    # column-major order of each 8x8 map: element (row r, col c) goes to position c * 8 + r
    v = torch.cat([h[:, k].transpose(1, 2).reshape(h.shape[0], 64) for k in range(12)], dim=1)
    logits = TF.linear(v, wf, bf)                                      # (N, 2)
    return logits, torch.sigmoid(logits)


def _setup(seed, n):
    rng = np.random.default_rng(seed)
    model = ZhangCNN(rng=seed, dtype=np.float64)
    # non-zero thresholds so their gradients are not trivially symmetric
    model.thr1.value.data[...] = rng.normal(0, 0.5, 6)
    model.thr2.value.data[...] = rng.normal(0, 0.5, 12)
    x = ZhangCNN.preprocess(rng.random((n, 1, 50, 50)))
    labels = rng.integers(0, 2, n)
    names = ["conv1.weight", "thr1.value", "conv2.weight", "thr2.value", "fc.weight", "fc.bias"]
    state = dict(model.named_parameters())
    assert list(state) == names
    tparams = [torch.tensor(state[k].data.copy(), dtype=torch.float64, requires_grad=True) for k in names]
    return model, x, labels, names, tparams


def _close(a, b, what):
    scale = max(np.abs(b).max(), 1e-300)
    err = np.abs(a - b).max() / scale
    assert err <= RTOL, f"{what}: max relative error {err:.3e} > {RTOL}"


@pytest.mark.parametrize("loss_kind", ["mse", "ce"])
@pytest.mark.parametrize(("seed", "n"), [(0, 5), (3, 2)])
def test_forward_and_every_gradient_match_torch(seed, n, loss_kind):
    model, x, labels, names, tparams = _setup(seed, n)
    loss, out = model.loss(x, labels, loss_kind)
    loss.backward()

    tx = torch.tensor(x, dtype=torch.float64)
    logits, tout = torch_network(tx, *tparams)
    if loss_kind == "mse":
        target = TF.one_hot(torch.tensor(labels), 2).to(torch.float64)
        tloss = 0.5 * ((tout - target) ** 2).sum() / n
    else:
        tloss = TF.cross_entropy(logits, torch.tensor(labels))
    tloss.backward()

    assert out.dtype == np.float64
    _close(out.data, tout.detach().numpy(), "output")
    _close(np.array(loss.item()), np.array(tloss.item()), "loss")
    params = dict(model.named_parameters())
    for name, tp in zip(names, tparams, strict=False):
        assert params[name].grad is not None, f"{name} got no gradient"
        assert params[name].grad.dtype == np.float64
        _close(params[name].grad, tp.grad.numpy(), f"gradient of {name}")


def test_vectorisation_is_column_major_per_map():
    """The 768-vector lists map 0 column by column, then map 1, ...: checked against plain loops."""
    model, x, _, _, _ = _setup(1, 2)
    f = model.forward_features(x)
    pool2 = f["pool2"].data                                            # (2, 12, 8, 8)
    expected = np.array([[pool2[i, k, r, c] for k in range(12) for c in range(8) for r in range(8)]
                         for i in range(2)])
    np.testing.assert_array_equal(f["vector"].data, expected)
