"""Second and third derivatives against PyTorch: Hessians and Hessian-vector products of an MLP
and of the seed CNN, a gradient penalty through conv, tanh/sigmoid and pooling, float64."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import tinygrad_np as tg  # noqa: E402
from models.zhang_cnn import ZhangCNN  # noqa: E402

RTOL = 1e-9


def _close(ours, theirs, what, rtol=RTOL):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    scale = max(np.abs(theirs).max(), 1e-300)
    err = np.abs(np.asarray(ours) - theirs).max() / scale
    assert err <= rtol, f"{what}: max relative error {err:.3e} > {rtol}"


def _mlp_params(rng):
    return [rng.standard_normal((4, 5)) * 0.5, rng.standard_normal(5) * 0.1,
            rng.standard_normal((5, 3)) * 0.5, rng.standard_normal(3) * 0.1]


def _mlp_loss_ours(flat, x, labels, shapes):
    params, k = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        params.append(flat[k:k + n].reshape(shape))
        k += n
    w1, b1, w2, b2 = params
    h = (x @ w1 + b1).tanh()
    return tg.functional.cross_entropy(h @ w2 + b2, labels)


def _mlp_loss_torch(flat, x, labels, shapes):
    params, k = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        params.append(flat[k:k + n].reshape(shape))
        k += n
    w1, b1, w2, b2 = params
    return TF.cross_entropy(torch.tanh(x @ w1 + b1) @ w2 + b2, labels)


def _full_hessian(loss_fn, flat):
    """Every row of the Hessian by a gradient of each entry of the recorded gradient."""
    (g,) = tg.grad(loss_fn(flat), flat, create_graph=True)
    rows = [tg.grad(g[i], flat, retain_graph=True)[0].data for i in range(flat.shape[0])]
    return np.stack(rows)


def test_full_hessian_of_an_mlp_equals_torch():
    rng = np.random.default_rng(0)
    params = _mlp_params(rng)
    shapes = [p.shape for p in params]
    flat0 = np.concatenate([p.reshape(-1) for p in params])
    x, labels = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    flat = tg.Tensor(flat0, dtype=np.float64, requires_grad=True)
    ours = _full_hessian(lambda f: _mlp_loss_ours(f, tg.Tensor(x, dtype=np.float64), labels, shapes), flat)
    theirs = torch.autograd.functional.hessian(
        lambda f: _mlp_loss_torch(f, torch.tensor(x), torch.tensor(labels), shapes), torch.tensor(flat0))
    _close(ours, theirs, "Hessian")
    np.testing.assert_allclose(ours, ours.T, rtol=1e-12, atol=1e-14)


def _cnn_setup(seed=0, n=2):
    rng = np.random.default_rng(seed)
    model = ZhangCNN(rng=seed, dtype=np.float64)
    model.thr1.value.data[...] = rng.normal(0, 0.5, 6)
    model.thr2.value.data[...] = rng.normal(0, 0.5, 12)
    x = ZhangCNN.preprocess(rng.random((n, 1, 50, 50)))
    labels = rng.integers(0, 2, n)
    params = [p for _, p in model.named_parameters()]
    return model, x, labels, params, rng


def _torch_cnn_loss(tparams, x, labels):
    w1, t1, w2, t2, wf, bf = tparams
    h = TF.avg_pool2d(torch.sigmoid(TF.conv2d(x, w1) + t1.view(1, -1, 1, 1)), 2)
    h = TF.avg_pool2d(torch.sigmoid(TF.conv2d(h, w2) + t2.view(1, -1, 1, 1)), 2)
    v = h.transpose(2, 3).reshape(h.shape[0], -1)
    out = torch.sigmoid(TF.linear(v, wf, bf))
    target = TF.one_hot(labels, 2).to(torch.float64)
    return 0.5 * ((out - target) ** 2).sum() / x.shape[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_hessian_vector_product_of_the_seed_cnn_equals_torch(seed):
    model, x, labels, params, rng = _cnn_setup(seed)
    vectors = [rng.standard_normal(p.shape) for p in params]
    loss, _ = model.loss(x, labels, "mse")
    grads = tg.grad(loss, params, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(grads, vectors, strict=True))
    ours = tg.grad(dot, params)

    tparams = tuple(torch.tensor(p.data.copy()) for p in params)
    _, theirs = torch.autograd.functional.hvp(
        lambda *ps: _torch_cnn_loss(ps, torch.tensor(x), torch.tensor(labels)), tparams,
        tuple(torch.tensor(v) for v in vectors))
    for name, o, t in zip([n for n, _ in model.named_parameters()], ours, theirs, strict=True):
        _close(o.data, t, f"Hessian-vector product, {name}")


def test_hessian_block_of_the_seed_cnn_thresholds_equals_torch():
    model, x, labels, params, _ = _cnn_setup(2, n=3)
    t2 = model.thr2.value
    loss, _ = model.loss(x, labels, "mse")
    (g,) = tg.grad(loss, [t2], create_graph=True)
    ours = np.stack([tg.grad(g[i], t2, retain_graph=True)[0].data for i in range(12)])

    tparams = [torch.tensor(p.data.copy()) for p in params]

    def loss_of_t2(t):
        return _torch_cnn_loss(tparams[:3] + [t] + tparams[4:], torch.tensor(x), torch.tensor(labels))

    _close(ours, torch.autograd.functional.hessian(loss_of_t2, tparams[3]), "Hessian of thr2")


def test_gradient_penalty_through_conv_tanh_sigmoid_and_pooling_equals_torch():
    """WGAN-GP style: penalty (||d critic / d x||_2 - 1)^2 averaged over the batch, backpropagated
    to the critic's parameters."""
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal((3, 2, 8, 8))
    w1, b1 = rng.standard_normal((4, 2, 3, 3)) * 0.4, rng.standard_normal(4) * 0.1
    w2 = rng.standard_normal((1, 4, 3, 3)) * 0.4
    t = rng.standard_normal(1) * 0.1

    x = tg.Tensor(x0, dtype=np.float64, requires_grad=True)
    params = [tg.Tensor(a, dtype=np.float64, requires_grad=True) for a in (w1, b1, w2, t)]
    h = tg.max_pool2d(tg.conv2d(x, params[0], params[1], padding=1).tanh(), 2)      # (3, 4, 4, 4)
    score = tg.avg_pool2d(tg.conv2d(h, params[2], stride=1).threshold(params[3]).sigmoid(), 2).sum()
    (gx,) = tg.grad(score, x, create_graph=True)
    norms = (gx * gx).sum((1, 2, 3)).sqrt()
    penalty = ((norms - 1) ** 2).mean()
    ours = tg.grad(penalty, params)

    tx = torch.tensor(x0, requires_grad=True)
    tp = [torch.tensor(a, requires_grad=True) for a in (w1, b1, w2, t)]
    th = TF.max_pool2d(torch.tanh(TF.conv2d(tx, tp[0], tp[1], padding=1)), 2)
    tscore = TF.avg_pool2d(torch.sigmoid(TF.conv2d(th, tp[2]) + tp[3].view(1, -1, 1, 1)), 2).sum()
    (tgx,) = torch.autograd.grad(tscore, tx, create_graph=True)
    tpenalty = ((tgx.pow(2).sum((1, 2, 3)).sqrt() - 1) ** 2).mean()
    theirs = torch.autograd.grad(tpenalty, tp)
    _close(penalty.item(), tpenalty.item(), "penalty")
    for name, o, th_ in zip(["w1", "b1", "w2", "t"], ours, theirs, strict=True):
        _close(o.data, th_, f"gradient of the penalty, {name}")


def test_third_derivatives_equal_torch():
    x0 = np.array([0.3, -1.1, 2.0])
    x = tg.Tensor(x0, dtype=np.float64, requires_grad=True)
    y = ((x * x).sigmoid() * x.exp() + (x ** 3).tanh()).sum()
    g1 = tg.grad(y, x, create_graph=True)[0]
    g2 = tg.grad(g1.sum(), x, create_graph=True)[0]
    g3 = tg.grad(g2.sum(), x)[0]

    tx = torch.tensor(x0, requires_grad=True)
    ty = (torch.sigmoid(tx * tx) * torch.exp(tx) + torch.tanh(tx ** 3)).sum()
    t1 = torch.autograd.grad(ty, tx, create_graph=True)[0]
    t2 = torch.autograd.grad(t1.sum(), tx, create_graph=True)[0]
    t3 = torch.autograd.grad(t2.sum(), tx)[0]
    for order, o, t in [(1, g1, t1), (2, g2, t2), (3, g3, t3)]:
        _close(o.data, t, f"derivative of order {order}")
