"""Every layer against torch.nn in float64: outputs, input and parameter gradients, running
statistics over several training steps and eval mode; dropout, containers and layer errors."""
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn

torch = pytest.importorskip("torch")
TNN = torch.nn


def compare(ours, theirs, x, steps=1, rtol=1e-10, atol=1e-12, eval_after=False):
    """Load theirs' (randomised) weights into ours; forward and backward both `steps` times (train
    mode) with a random cotangent; compare outputs, gradients and the state dicts; then eval mode."""
    rng = np.random.default_rng(0)
    theirs = theirs.double()
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.uniform(0.5, 1.5, p.shape)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    is_float = np.asarray(x).dtype.kind == "f"
    for _ in range(steps):
        xo = tg.Tensor(x, dtype=np.float64, requires_grad=True) if is_float else x
        xt = torch.tensor(x, requires_grad=is_float)
        yo, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=rtol, atol=atol)
        cot = rng.standard_normal(yo.shape)
        (yo * tg.Tensor(cot, dtype=np.float64)).sum().backward()
        (yt * torch.tensor(cot)).sum().backward()
        if is_float:
            np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=rtol, atol=atol)
        for (name, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
            np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)
            p.grad, tp.grad = None, None
        for name, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=rtol, atol=atol, err_msg=name)
    if eval_after:
        ours.eval()
        theirs.eval()
        xe = np.asarray(x) * 1.5 + 0.25
        np.testing.assert_allclose(ours(tg.Tensor(xe, dtype=np.float64)).data,
                                   theirs(torch.tensor(xe)).detach().numpy(), rtol=rtol, atol=atol)


R = np.random.default_rng(1)
LAYERS = {
    "BatchNorm1d-2d-input": (lambda m: m.BatchNorm1d(3), R.standard_normal((6, 3)), {"steps": 3, "eval_after": True}),
    "BatchNorm1d-cumulative": (lambda m: m.BatchNorm1d(3, momentum=None), R.standard_normal((4, 3, 5)),
                               {"steps": 3, "eval_after": True}),
    "BatchNorm1d-no-affine": (lambda m: m.BatchNorm1d(3, affine=False), R.standard_normal((4, 3, 2)), {"steps": 2}),
    "BatchNorm2d": (lambda m: m.BatchNorm2d(4, momentum=0.3, eps=1e-3), R.standard_normal((2, 4, 3, 3)),
                    {"steps": 3, "eval_after": True}),
    "BatchNorm2d-untracked": (lambda m: m.BatchNorm2d(4, track_running_stats=False),
                              R.standard_normal((2, 4, 3, 3)), {"steps": 2, "eval_after": True}),
    "LayerNorm": (lambda m: m.LayerNorm(5), R.standard_normal((2, 3, 5)), {}),
    "LayerNorm-2d-no-affine": (lambda m: m.LayerNorm([3, 5], elementwise_affine=False), R.standard_normal((2, 3, 5)),
                               {}),
    "LayerNorm-no-bias": (lambda m: m.LayerNorm(5, bias=False, eps=1e-3), R.standard_normal((4, 5)), {}),
    "GroupNorm": (lambda m: m.GroupNorm(2, 6), R.standard_normal((2, 6, 3, 2)), {}),
    "GroupNorm-no-affine": (lambda m: m.GroupNorm(3, 3, affine=False), R.standard_normal((2, 3, 4)), {}),
    "Embedding-padding": (lambda m: m.Embedding(10, 4, padding_idx=2), np.array([[1, 2, 9], [2, 2, 0]]), {}),
    "Embedding-negative-padding": (lambda m: m.Embedding(5, 3, padding_idx=-1), np.array([4, 0, 4, 1]), {}),
    "LeakyReLU": (lambda m: m.LeakyReLU(0.2), np.r_[R.standard_normal(7), 0.0], {}),
    "ELU": (lambda m: m.ELU(0.7), np.r_[R.standard_normal(7), 0.0], {}),
    "GELU": (lambda m: m.GELU(), R.standard_normal((3, 4)) * 2, {}),
    "GELU-tanh": (lambda m: m.GELU(approximate="tanh"), R.standard_normal((3, 4)) * 2, {}),
    "SiLU": (lambda m: m.SiLU(), R.standard_normal((3, 4)), {}),
    "Softplus": (lambda m: m.Softplus(beta=2.0, threshold=4.0), R.standard_normal(20) * 4, {}),
    "Hardswish": (lambda m: m.Hardswish(), np.r_[R.standard_normal(8) * 4, -3.0, 3.0], {}),
    "Mish": (lambda m: m.Mish(), R.standard_normal((3, 4)) * 2, {}),
    "ReLU6": (lambda m: m.ReLU6(), np.r_[R.standard_normal(8) * 5, 0.0, 6.0], {}),
    "Hardtanh": (lambda m: m.Hardtanh(-2.0, 1.5), np.r_[R.standard_normal(8) * 3, -2.0, 1.5], {}),
    "Softmax": (lambda m: m.Softmax(dim=1), R.standard_normal((2, 3, 4)), {}),
    "LogSoftmax": (lambda m: m.LogSoftmax(dim=0), R.standard_normal((3, 4)), {}),
    "Upsample-nearest": (lambda m: m.Upsample(scale_factor=2), R.standard_normal((1, 2, 3, 4)), {}),
    "Upsample-nearest-size": (lambda m: m.Upsample(size=(5, 7)), R.standard_normal((1, 2, 3, 4)), {}),
    "Upsample-bilinear": (lambda m: m.Upsample(scale_factor=(1.5, 2.5), mode="bilinear"),
                          R.standard_normal((2, 2, 3, 4)), {"rtol": 1e-9, "atol": 1e-12}),
    "Upsample-bilinear-corners": (lambda m: m.Upsample(size=(6, 3), mode="bilinear", align_corners=True),
                                  R.standard_normal((2, 2, 3, 4)), {"rtol": 1e-9, "atol": 1e-12}),
    "AdaptiveAvgPool2d-1": (lambda m: m.AdaptiveAvgPool2d(1), R.standard_normal((2, 3, 5, 4)), {}),
    "AdaptiveAvgPool2d-uneven": (lambda m: m.AdaptiveAvgPool2d((3, 3)), R.standard_normal((2, 3, 5, 4)), {}),
    "AdaptiveAvgPool2d-dividing": (lambda m: m.AdaptiveAvgPool2d((5, 2)), R.standard_normal((2, 3, 5, 4)), {}),
    "ConvTranspose2d": (lambda m: m.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                        R.standard_normal((2, 3, 4, 3)), {"rtol": 1e-9, "atol": 1e-11}),
    "ConvTranspose2d-groups": (lambda m: m.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), groups=2, dilation=(2, 1)),
                               R.standard_normal((1, 4, 3, 3)), {"rtol": 1e-9, "atol": 1e-11}),
    "ConvTranspose2d-no-bias": (lambda m: m.ConvTranspose2d(2, 2, 4, stride=3, padding=2, bias=False),
                                R.standard_normal((2, 2, 3, 3)), {"rtol": 1e-9, "atol": 1e-11}),
    "MaxPool2d-padded": (lambda m: m.MaxPool2d(3, stride=2, padding=1), R.standard_normal((2, 2, 7, 6)), {}),
    "MaxPool2d-ceil-dilated": (lambda m: m.MaxPool2d(2, stride=2, dilation=2, ceil_mode=True),
                               R.standard_normal((1, 2, 7, 8)), {}),
    "AvgPool2d-padded": (lambda m: m.AvgPool2d(3, stride=2, padding=1), R.standard_normal((2, 2, 7, 6)), {}),
    "AvgPool2d-exclude-pad-ceil": (lambda m: m.AvgPool2d((3, 2), stride=2, padding=1, ceil_mode=True,
                                                         count_include_pad=False), R.standard_normal((2, 2, 6, 5)), {}),
    "Flatten-range": (lambda m: m.Flatten(1, 2), R.standard_normal((2, 3, 4, 5)), {}),
    "Unflatten": (lambda m: m.Unflatten(1, (2, 3)), R.standard_normal((4, 6, 2)), {}),
    "Identity": (lambda m: m.Identity(7, key="ignored"), R.standard_normal((2, 3)), {}),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_torch(name):
    build, x, options = LAYERS[name]
    ours = build(nn).double()
    compare(ours, build(TNN), x, **options)


def test_embedding_max_norm_renormalises_rows_like_torch():
    ours, theirs = nn.Embedding(6, 3, max_norm=1.0).double(), TNN.Embedding(6, 3, max_norm=1.0).double()
    with torch.no_grad():
        theirs.weight.mul_(3.0)
    ours.load_state_dict({"weight": theirs.weight.detach().numpy()})
    idx = np.array([[0, 5], [5, 2]])
    np.testing.assert_allclose(ours(idx).data, theirs(torch.tensor(idx)).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-12)  # rows 0, 2, 5 cut


def test_embedding_from_pretrained_and_init():
    weights = np.arange(12.0).reshape(4, 3)
    frozen = nn.Embedding.from_pretrained(weights)
    assert not frozen.weight.requires_grad and frozen.weight.dtype == np.float64
    np.testing.assert_array_equal(frozen(np.array([3, 0])).data, weights[[3, 0]])
    trainable = nn.Embedding.from_pretrained(weights, freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad
    emb = nn.Embedding(1000, 8, padding_idx=3, rng=np.random.default_rng(0))
    assert not emb.weight.data[3].any() and abs(emb.weight.data.std() - 1.0) < 0.05  # N(0, 1) like PyTorch


def test_dropout_masks_scaling_and_modes():
    x = tg.Tensor(np.ones((200, 50)), dtype=np.float64, requires_grad=True)
    drop = nn.Dropout(0.3, rng=0)
    y = drop(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # the gradient is the same mask and scale
    assert not np.array_equal(drop(x).data, y.data)  # a new mask each call
    np.testing.assert_array_equal(nn.Dropout(0.3, rng=0)(x).data, y.data)  # seeded: reproducible
    assert drop.eval()(x) is x
    assert not nn.Dropout(1.0)(x).data.any() and nn.Dropout(0.0)(x) is x
    images = tg.Tensor(np.ones((8, 16, 3, 3)))
    out = nn.Dropout2d(0.5, rng=np.random.default_rng(1))(images).data
    per_channel = out.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))  # whole channels
    assert 0.3 < (per_channel == 0).all(-1).mean() < 0.7
    assert tg.functional.dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match=r"dropout probability p must be a number in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(TypeError, match="Dropout: rng must be None, an int seed or a np.random.Generator"):
        nn.Dropout(0.5, rng="seed")
    tg.manual_seed(3)  # rng=None draws from the default generator, at each call
    first = nn.Dropout(0.5)(x).data
    tg.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).data, first)
    with pytest.raises(ValueError, match="dropout2d: input must be 4-D"):
        nn.Dropout2d()(np.ones((2, 3)))


def test_containers():
    rng = np.random.default_rng(0)
    layers = nn.ModuleList([nn.Linear(2, 2, rng=rng) for _ in range(3)])
    layers.append(nn.ReLU())
    layers.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in layers] == ["Linear", "Tanh", "Linear", "Linear", "ReLU"]
    assert [n for n, _ in layers.named_parameters()][:3] == ["0.weight", "0.bias", "2.weight"]
    del layers[1]
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    layers += [nn.Sigmoid()]
    assert len(layers) == 5 and layers[-1].path == "4"
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Identity()})
    heads["c"] = nn.Tanh()
    assert heads.keys() == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias"]
    assert isinstance(heads.pop("b"), nn.Identity) and list(heads) == ["a", "c"]
    with pytest.raises(KeyError, match="no module 'z'"):
        heads["z"]
    with pytest.raises(ValueError, match="'keys': the attribute already exists"):
        heads["keys"] = nn.Tanh()
    seq = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU())]))
    assert [n for n, _ in seq.named_parameters()] == ["conv.weight", "conv.bias"]
    assert isinstance(seq[1:], nn.Sequential) and isinstance(seq[0], nn.Conv2d)
    with pytest.raises(TypeError, match="expected Module instances, got int at position 0"):
        nn.ModuleList([3])


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: nn.BatchNorm2d(3)(np.ones((2, 4, 5, 5))), ValueError,
     r"BatchNorm2d: input has 4 channels but num_features is 3 \(input \(2, 4, 5, 5\)\)"),
    (lambda: nn.BatchNorm1d(3)(np.ones((2, 3, 4, 4))), ValueError, "BatchNorm1d: expected 2-D or 3-D input"),
    (lambda: nn.BatchNorm1d(3)(np.ones((1, 3))), ValueError, "expected more than 1 value per channel"),
    (lambda: nn.BatchNorm2d(0), ValueError, "num_features must be a positive int"),
    (lambda: nn.BatchNorm2d(3, momentum=1.5), ValueError, "momentum must be in"),
    (lambda: nn.GroupNorm(4, 6), ValueError, "num_channels=6 must be divisible by num_groups=4"),
    (lambda: nn.GroupNorm(2, 6)(np.ones((2, 4, 3))), ValueError, r"expected an input \(N, 6, ...\)"),
    (lambda: tg.functional.group_norm(tg.Tensor(np.ones((2, 6, 3))), 4), ValueError, "equal groups"),
    (lambda: nn.LayerNorm(4)(np.ones((2, 5))), ValueError, r"normalized_shape=\(4,\) must equal the last dims"),
    (lambda: nn.Embedding(5, 2)(np.array([1, 5])), ValueError, "index 5 is out of range for 5 embeddings"),
    (lambda: nn.Embedding(5, 2)(np.array([1.0])), TypeError, "embedding: indices must be integers"),
    (lambda: nn.Embedding(5, 2, padding_idx=5), ValueError, "padding_idx=5 must be within num_embeddings=5"),
    (lambda: nn.ConvTranspose2d(3, 2, 3)(np.ones((1, 2, 4, 4))), ValueError,
     "conv_transpose2d: input has 2 channels but weight expects 3"),
    (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, output_padding=2), ValueError, "output_padding"),
    (lambda: nn.ConvTranspose2d(3, 2, 3, groups=2), ValueError, "divisible by groups=2"),
    (lambda: nn.MaxPool2d(2, padding=2)(np.ones((1, 1, 4, 4))), ValueError, "padding 2 must be at most half"),
    (lambda: nn.AvgPool2d(5)(np.ones((1, 1, 4, 4))), ValueError, "avg_pool2d: kernel extent 5 is larger than"),
    (lambda: nn.AdaptiveAvgPool2d((0, 2))(np.ones((1, 1, 4, 4))), ValueError, "output_size must be >= 1"),
    (lambda: nn.Upsample()(np.ones((1, 1, 2, 2))), ValueError, "exactly one of size and scale_factor"),
    (lambda: nn.Upsample(scale_factor=2, mode="bilinear")(np.ones((1, 1, 2))), ValueError, "needs a 4-D input"),
    (lambda: nn.Upsample(scale_factor=2, align_corners=True)(np.ones((1, 1, 2, 2))), ValueError,
     "align_corners can only be set with the linear modes"),
    (lambda: nn.Upsample(scale_factor=2, mode="bicubic")(np.ones((1, 1, 2, 2))), ValueError, "mode must be one of"),
    (lambda: nn.Unflatten(1, (4, 2))(np.ones((2, 6))), ValueError, r"cannot split dim 1 of size 6 into \(4, 2\)"),
    (lambda: nn.Flatten(2, 1)(np.ones((2, 3, 4))), ValueError, "start_dim=2 comes after end_dim=1"),
    (lambda: nn.GELU("fast"), ValueError, "approximate must be 'none' or 'tanh'"),
    (lambda: nn.Hardtanh(1.0, -1.0), ValueError, "min_val must be less than max_val"),
])
def test_layer_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
