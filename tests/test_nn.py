"""tg.nn: registration and dotted names, state dicts, hooks, scopes, layers, initialisers."""
import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn
from tinygrad_np.autograd import name_scope
from tinygrad_np.testing import gradcheck


class Block(nn.Module):
    def __init__(self, rng):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, rng=rng)
        self.t = nn.Parameter(np.zeros(2))
        self.fc = nn.Linear(2 * 4 * 4, 3, rng=rng)

    def forward(self, x):
        h = self.conv1(x).threshold(self.t).sigmoid()
        return self.fc(h.flatten(1))


class Outer(nn.Module):
    def __init__(self, rng):
        super().__init__()
        self.net = Block(rng)
        self.head = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Tanh(), nn.Linear(4, 1, bias=False, rng=rng))

    def forward(self, x):
        return self.head(self.net(x))


def leaf_scopes(out):
    """{op name: scope} of every op recorded in out's graph."""
    return {t._ctx.op_name: t._ctx.scope for t in tg.autograd.iter_graph(out)}


# ------------------------------------------------------------ names and traversal
def test_dotted_names_nested_and_sequential():
    model = Outer(np.random.default_rng(0))
    names = [n for n, _ in model.named_parameters()]
    # PyTorch's order: modules in pre-order, each module's own parameters first ("net.t")
    assert names == ["net.t", "net.conv1.weight", "net.conv1.bias", "net.fc.weight", "net.fc.bias",
                     "head.0.weight", "head.0.bias", "head.2.weight"]
    assert [p.name for p in model.parameters()] == names  # names are full paths from the root
    assert [n for n, _ in model.net.named_parameters()][:2] == ["t", "conv1.weight"]  # relative
    assert [n for n, _ in model.named_modules()] == ["", "net", "net.conv1", "net.fc", "head", "head.0",
                                                     "head.1", "head.2"]
    assert model.children() == [model.net, model.head]
    assert model.net.conv1.path == "net.conv1"


def test_reassigning_and_deleting_members():
    rng = np.random.default_rng(0)
    model = Block(rng)
    model.t = nn.Parameter(np.ones(2))  # keeps its place in the order
    model.fc = None  # a plain value unregisters the layer
    assert [n for n, _ in model.named_parameters()] == ["t", "conv1.weight", "conv1.bias"]
    del model.conv1
    assert [n for n, _ in model.named_parameters()] == ["t"]


def test_shared_parameter_counted_once_and_cycles_rejected():
    rng = np.random.default_rng(0)
    lin = nn.Linear(2, 2, rng=rng)
    seq = nn.Sequential(lin, lin)
    assert len(seq.parameters()) == 2
    assert seq.num_parameters() == 6
    with pytest.raises(ValueError, match="cycle"):
        lin.inner = seq


def test_parameter_count():
    model = Outer(np.random.default_rng(0))
    expected = (2 * 1 * 3 * 3 + 2) + 2 + (3 * 32 + 3) + (4 * 3 + 4) + 4 * 1
    assert model.num_parameters() == expected == sum(p.numel() for p in model.parameters())


def test_parameter_dtype_and_requires_grad():
    p = nn.Parameter(np.arange(3.0))
    assert p.requires_grad
    assert p.dtype == np.float32
    assert p.is_leaf
    assert nn.Parameter(np.zeros(2), dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="floating point"):
        nn.Parameter(np.arange(3))


def test_missing_super_init_is_explained():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(RuntimeError, match=r"super\(\).__init__\(\).*'w'"):
        Broken()


# ------------------------------------------------------------------ state dicts
def test_state_dict_round_trip_in_place():
    a, b = Outer(np.random.default_rng(1)), Outer(np.random.default_rng(2))
    sd = a.state_dict()
    sd["net.t"][:] = 7.0  # a copy: the model is untouched
    assert not np.any(a.net.t.data == 7.0)
    arrays_before = [p.data for p in b.parameters()]
    b.load_state_dict(a.state_dict())
    for (name, pa), pb, arr in zip(a.named_parameters(), b.parameters(), arrays_before, strict=False):
        assert pb.data is arr, name  # same arrays, so optimizers keep working
        np.testing.assert_array_equal(pa.data, pb.data)
    x = np.random.default_rng(3).standard_normal((2, 1, 6, 6))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_casts_to_parameter_dtype():
    lin = nn.Linear(2, 2, rng=np.random.default_rng(0))
    state = {k: v.astype(np.float64) + 1.0 for k, v in lin.state_dict().items()}
    lin.load_state_dict(state)
    assert lin.weight.dtype == np.float32
    np.testing.assert_array_equal(lin.weight.data, state["weight"].astype(np.float32))


def test_load_state_dict_lists_every_problem_and_writes_nothing():
    model = Block(np.random.default_rng(0))
    before = model.state_dict()
    state = model.state_dict()
    del state["fc.bias"], state["t"]
    state["extra.weight"] = np.zeros(3)
    state["conv1.weight"] = np.zeros((2, 1, 5, 5))
    state["fc.weight"] = np.ones((3, 32))  # valid, but must not be written either
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    msg = str(info.value)
    assert "missing keys: t, fc.bias" in msg
    assert "unexpected keys: extra.weight" in msg
    assert "conv1.weight: expected (2, 1, 3, 3), got (2, 1, 5, 5)" in msg
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_non_strict():
    model = Block(np.random.default_rng(0))
    state = {"t": np.full(2, 3.0), "other": np.zeros(1)}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["conv1.weight", "conv1.bias", "fc.weight", "fc.bias"]
    assert result.unexpected_keys == ["other"]
    np.testing.assert_array_equal(model.t.data, [3.0, 3.0])
    with pytest.raises(ValueError, match=r"t: expected \(2,\), got \(3,\)"):
        model.load_state_dict({"t": np.zeros(3)}, strict=False)


# ------------------------------------------------------------ modes and hooks
def test_train_eval_recursive():
    model = Outer(np.random.default_rng(0))
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad():
    model = Block(np.random.default_rng(0))
    model(np.ones((1, 1, 6, 6))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_forward_hooks_see_inputs_replace_output_and_are_removable():
    model = Outer(np.random.default_rng(0))
    seen = []
    handle = model.net.conv1.register_forward_hook(lambda m, inp, out: seen.append((m, inp[0].shape, out.shape)))
    replace = model.head.register_forward_hook(lambda m, inp, out: out * 0.0 + 5.0)
    x = np.ones((2, 1, 6, 6))
    np.testing.assert_array_equal(model(x).data, np.full((2, 1), 5.0))
    assert seen == [(model.net.conv1, (2, 1, 6, 6), (2, 2, 4, 4))]
    handle.remove()
    replace.remove()
    handle.remove()  # idempotent
    out = model(x)
    assert len(seen) == 1
    assert not np.allclose(out.data, 5.0)
    with pytest.raises(TypeError, match="callable"):
        model.register_forward_hook("not a function")


def test_name_scope_tags_ops_with_the_module_path():
    model = Outer(np.random.default_rng(0))
    scopes = leaf_scopes(model(np.ones((1, 1, 6, 6))))
    assert scopes["conv2d"] == ("net", "conv1")
    assert scopes["threshold"] == ("net",)  # written directly in Block.forward
    assert scopes["tanh"] == ("head", "1")
    # a submodule called on its own still gets its full path; a root module adds nothing
    assert leaf_scopes(model.net.conv1(np.ones((1, 1, 6, 6))))["conv2d"] == ("net", "conv1")
    assert leaf_scopes(nn.Conv2d(1, 1, 3)(np.ones((1, 1, 6, 6))))["conv2d"] == ()
    with name_scope("step"):
        assert leaf_scopes(model.net(np.ones((1, 1, 6, 6))))["conv2d"] == ("step", "net", "conv1")


def test_repr_shows_tree_and_config():
    text = repr(Outer(np.random.default_rng(0)))
    assert "(net): Block(\n    (conv1): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))" in text
    assert "(t): Parameter(shape=(2,), dtype=float32)" in text
    assert "(2): Linear(in_features=4, out_features=1, bias=False)" in text
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2))"


# ------------------------------------------------------------------- layers
def test_conv2d_layer_passes_stride_and_padding():
    conv = nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1, rng=np.random.default_rng(0))
    assert conv.weight.shape == (3, 2, 3, 2)
    assert conv.bias.shape == (3,)
    x = np.random.default_rng(1).standard_normal((2, 2, 7, 6)).astype(np.float32)
    expected = tg.conv2d(x, conv.weight.data, conv.bias.data, stride=(2, 1), padding=1)
    np.testing.assert_array_equal(conv(x).data, expected.data)
    assert nn.Conv2d(1, 1, 3, bias=False).bias is None


def test_linear_matches_numpy_and_checks_input():
    lin = nn.Linear(5, 3, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(lin(x).data, x @ lin.weight.data.T + lin.bias.data, rtol=1e-6)
    with pytest.raises(ValueError, match=r"in_features=5.*\(4, 7\).*weight \(3, 5\)"):
        lin(np.zeros((4, 7)))


def test_small_layers():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    t = nn.Threshold(3, init=0.5)
    assert [n for n, _ in t.named_parameters()] == ["value"]
    np.testing.assert_array_equal(t(x).data, x + np.float32(0.5))
    np.testing.assert_array_equal(nn.AvgPool2d(2)(x).data, tg.avg_pool2d(x, 2).data)
    np.testing.assert_array_equal(nn.MaxPool2d(2, stride=1)(x).data, tg.max_pool2d(x, 2, 1).data)
    assert nn.Flatten()(x).shape == (2, 48)
    assert nn.Flatten(2)(x).shape == (2, 3, 16)
    with pytest.raises(ValueError, match=r"start_dim=4.*\(2, 3, 4, 4\)"):
        nn.Flatten(4)(x)
    np.testing.assert_array_equal(nn.ReLU()(x).data, np.maximum(x, 0))
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        nn.Conv2d(0, 1, 3)


def test_sequential_indexing_and_forward():
    rng = np.random.default_rng(0)
    seq = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Sigmoid(), nn.Linear(4, 2, rng=rng))
    assert len(seq) == 3
    assert seq[-1] is seq[2]
    assert list(seq) == seq.children()
    x = np.ones((2, 3))
    np.testing.assert_array_equal(seq(x).data, seq[2](seq[1](seq[0](x))).data)
    with pytest.raises(IndexError, match="index 3 is out of range for 3"):
        seq[3]
    with pytest.raises(TypeError, match="position 0"):
        nn.Sequential(lambda v: v)


def _swap_params(module, tensors):
    """Make module read its weight/bias from `tensors` (plain attribute lookup, no registration)."""
    for name, t in tensors.items():
        module.__dict__[name] = t


@pytest.mark.parametrize("kind", ["conv", "linear"])
def test_layer_gradients_float64(kind):
    rng = np.random.default_rng(0)
    if kind == "conv":
        layer = nn.Conv2d(2, 3, 3, stride=2, padding=1, rng=rng, dtype=np.float64)
        x = rng.standard_normal((2, 2, 5, 5))
    else:
        layer = nn.Linear(4, 3, rng=rng, dtype=np.float64)
        x = rng.standard_normal((2, 4))
    assert layer.weight.dtype == np.float64

    def fn(x, w, b):
        _swap_params(layer, {"weight": w, "bias": b})
        return layer(x)

    inputs = [tg.Tensor(x, dtype=np.float64, requires_grad=True), layer.weight, layer.bias]
    assert gradcheck(fn, *inputs, atol=1e-7, rtol=1e-6)


# ------------------------------------------------------------------ init
def test_seeded_init_is_reproducible():
    def weights(seed):
        return Outer(np.random.default_rng(seed)).state_dict()

    a, b, c = weights(5), weights(5), weights(6)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["net.conv1.weight"], c["net.conv1.weight"])


def test_default_init_bounds_like_pytorch():
    conv = nn.Conv2d(6, 12, 5, rng=np.random.default_rng(0))
    bound = 1 / math.sqrt(6 * 5 * 5)
    for p in (conv.weight, conv.bias):
        assert np.abs(p.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.95 * bound  # uses the whole interval


def test_init_functions_write_in_place():
    rng = np.random.default_rng(0)
    t = tg.Tensor(np.zeros((40, 30, 3, 3)))
    arr = t.data
    assert nn.init.kaiming_uniform_(t, a=0.0, rng=rng) is t
    assert t.data is arr
    assert nn.init.calculate_fan_in_and_fan_out(t.shape) == (270, 360)
    assert np.abs(arr).max() <= math.sqrt(2) * math.sqrt(3 / 270)
    w = tg.Tensor(np.zeros((200, 100)))
    nn.init.xavier_uniform_(w, gain=2.0, rng=rng)
    bound = 2.0 * math.sqrt(6 / 300)
    assert bound * 0.95 < np.abs(w.data).max() <= bound
    nn.init.normal_(w, 1.0, 0.5, rng)
    assert abs(w.data.mean() - 1.0) < 0.02
    assert abs(w.data.std() - 0.5) < 0.02
    nn.init.uniform_(w, -0.1, 0.3, rng)
    assert -0.1 <= w.data.min()
    assert w.data.max() <= 0.3
    nn.init.zeros_(w)
    assert not w.data.any()
    with pytest.raises(ValueError, match=r"at least 2 dims, got shape \(5,\)"):
        nn.init.xavier_uniform_(tg.Tensor(np.zeros(5)), rng=rng)
    with pytest.raises(TypeError, match=r"init.uniform_: rng must be None, an int seed or a np.random.Generator"):
        nn.init.uniform_(w, 0, 1, rng="42")
    nn.init.uniform_(w, 0, 1, rng=42)  # an int is a seed
    np.testing.assert_array_equal(w.data, np.random.default_rng(42).uniform(0, 1, w.shape).astype(np.float32))
