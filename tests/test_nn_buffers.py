"""Module buffers and traversal: register_buffer, state dicts with PyTorch's keys and order, weights
copied from torch.nn into the same model built here and back, apply / requires_grad_ / to."""
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim

torch = pytest.importorskip("torch")


class Stats(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2, rng=np.random.default_rng(0))
        self.register_buffer("count", np.array(0, dtype=np.int64))
        self.register_buffer("scratch", np.zeros(3), persistent=False)
        self.register_buffer("unset", None)
        self.w = nn.Parameter(np.ones(2))


def test_register_buffer_and_traversal():
    m = Stats()
    assert isinstance(m.count, tg.Tensor) and m.count.dtype == np.int64 and not m.count.requires_grad
    assert m.scratch.dtype == np.float64  # an ndarray keeps its dtype
    assert [n for n, _ in m.named_buffers()] == ["count", "scratch"]  # None is skipped
    assert [n for n, _ in m.named_parameters()] == ["w", "lin.weight", "lin.bias"]  # own parameters first
    assert list(m.state_dict()) == ["w", "count", "lin.weight", "lin.bias"]  # no non-persistent buffer
    assert m.count.name == "count"
    m.count = np.array(5)  # assigning a registered buffer replaces it
    assert m.count.item() == 5 and m.buffers()[0].item() == 5
    m.unset = tg.Tensor([1.0, 2.0])
    assert "unset" in m.state_dict()
    outer = nn.Sequential(m)
    assert [n for n, _ in outer.named_buffers()] == ["0.count", "0.scratch", "0.unset"]
    assert outer[0].count.name == "0.count"
    assert [n for n, _ in outer.named_buffers(prefix="net", recurse=True)][0] == "net.0.count"
    assert outer.named_buffers(recurse=False) == [] and m.parameters(recurse=False) == [m.w]
    del m.count
    assert "count" not in m.state_dict()


def test_buffer_errors():
    m = Stats()
    with pytest.raises(ValueError, match="'w': the attribute already exists"):
        m.register_buffer("w", np.zeros(1))
    with pytest.raises(ValueError, match="contain no '.'"):
        m.register_buffer("a.b", np.zeros(1))
    with pytest.raises(TypeError, match="a buffer must be a Tensor, an ndarray or None, got list"):
        m.register_buffer("b", [1.0])
    with pytest.raises(TypeError, match="a Parameter cannot be a buffer"):
        m.register_buffer("c", nn.Parameter(np.zeros(1)))
    with pytest.raises(TypeError, match="buffer 'count'"):
        m.count = "three"
    with pytest.raises(ValueError, match=r"count: expected \(\), got \(2,\)"):
        m.load_state_dict({**m.state_dict(), "count": np.zeros(2)})


def test_load_state_dict_writes_buffers_in_place_and_casts():
    m = Stats()
    count = m.count
    sd = m.state_dict()
    sd["count"] = np.array(7.0)
    result = m.load_state_dict(sd)
    assert m.count is count and m.count.item() == 7 and m.count.dtype == np.int64
    assert result.missing_keys == [] and result.unexpected_keys == []


class Block:
    """The same block written against torch.nn or tg.nn (`lib`)."""

    @staticmethod
    def build(lib):
        class Block(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = lib.nn.Conv2d(2, 4, 3, padding=1)
                self.scale = lib.nn.Parameter(np.ones(4) if lib is tg else torch.ones(4))
                self.bn = lib.nn.BatchNorm2d(4)

            def forward(self, x):
                return (self.bn(self.conv(x)) * self.scale.reshape(1, 4, 1, 1)).relu()

        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.features = lib.nn.Sequential(Block(), lib.nn.MaxPool2d(2, padding=1), lib.nn.Dropout(0.0))
                self.norms = lib.nn.ModuleList([lib.nn.GroupNorm(2, 4), lib.nn.LayerNorm([4, 3, 3])])
                self.heads = lib.nn.ModuleDict({"cls": lib.nn.Linear(36, 3),
                                                "aux": lib.nn.Sequential(lib.nn.Flatten(), lib.nn.Linear(36, 2))})
                self.bn1d = lib.nn.BatchNorm1d(3, momentum=None)

            def forward(self, x):
                h = self.features(x)
                for norm in self.norms:
                    h = norm(h)
                return self.bn1d(self.heads["cls"](h.reshape(h.shape[0], -1))), self.heads["aux"](h)

        return Net().double()


def _numpy_state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def test_state_dict_keys_order_and_weights_match_torch_both_ways():
    theirs = Block.build(torch)
    ours = Block.build(tg)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    ours.load_state_dict(_numpy_state(theirs))
    t_opt = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)
    o_opt = optim.SGD(ours.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(4):  # training steps: values, gradients, running statistics, parameters
        x = rng.standard_normal((5, 2, 5, 5))
        t_out = theirs(torch.tensor(x))
        o_out = ours(tg.Tensor(x, dtype=np.float64))
        for a, b in zip(o_out, t_out, strict=True):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-9, atol=1e-12)
        t_opt.zero_grad()
        o_opt.zero_grad()
        (t_out[0].square().sum() + t_out[1].sum()).backward()
        (o_out[0] * o_out[0]).sum().__add__(o_out[1].sum()).backward()
        for (name, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
            np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)
        t_opt.step()
        o_opt.step()
        for name, value in _numpy_state(theirs).items():
            np.testing.assert_allclose(ours.state_dict()[name], value, rtol=1e-8, atol=1e-10, err_msg=name)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((3, 2, 5, 5))
    np.testing.assert_allclose(ours(tg.Tensor(x, dtype=np.float64))[0].data,
                               theirs(torch.tensor(x))[0].detach().numpy(), rtol=1e-9, atol=1e-12)
    # and back: a fresh torch model loads our weights and buffers
    back = Block.build(torch).eval()
    back.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(back(torch.tensor(x))[1].detach().numpy(),
                               ours(tg.Tensor(x, dtype=np.float64))[1].data, rtol=1e-9, atol=1e-12)


def test_tied_weights_appear_under_both_names_like_torch():
    def tied(lib):
        emb, head = lib.nn.Embedding(5, 3), lib.nn.Linear(3, 5, bias=False)
        head.weight = emb.weight
        return lib.nn.Sequential(emb, head)

    ours, theirs = tied(tg), tied(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0.weight", "1.weight"]
    assert len(ours.parameters()) == 1
    ours.load_state_dict(_numpy_state(theirs))
    np.testing.assert_array_equal(ours[1].weight.data, theirs[1].weight.detach().numpy())


def test_apply_requires_grad_zero_grad_and_to():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "BatchNorm1d", "Linear", "Sequential"]  # children first, like torch
    model(np.ones((4, 2))).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.requires_grad_(False) is model and not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    weight = model[0].weight
    model.double()
    assert model[0].weight is weight and weight.dtype == np.float64
    assert model[1].running_mean.dtype == np.float64 and model[1].num_batches_tracked.dtype == np.int64
    assert model.to("cpu") is model and model.float()[0].weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        model.to(np.int32)
    model.eval()
    assert not model[1].training
    with pytest.raises(ValueError, match="mode must be a bool"):
        model.train("yes")


def test_register_parameter_and_add_module():
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(np.zeros(2)))
    m.add_module("lin", nn.Linear(2, 2))
    m.register_parameter("b", None)
    assert [n for n, _ in m.named_parameters()] == ["w", "lin.weight", "lin.bias"] and m.b is None
    with pytest.raises(TypeError, match="must be a Parameter or None"):
        m.register_parameter("x", np.zeros(2))
    with pytest.raises(TypeError, match="must be a Module or None"):
        m.add_module("y", 3)
    with pytest.raises(ValueError, match="'forward': the attribute already exists"):
        m.add_module("forward", nn.Identity())
