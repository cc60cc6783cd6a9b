"""tg.optim: SGD and Adam against torch.optim, state dict round trips, validation."""
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim

SHAPES = [(3, 4), (4,), (2, 1, 3, 3)]
SGD_CASES = [
    {"lr": 0.1},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.3},
    {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    {"lr": 0.1, "weight_decay": 0.01},
    {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True},
]
ADAM_CASES = [{}, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}, {"lr": 0.01, "weight_decay": 0.05}]
# float64 runs agree with torch to rounding; float32 to a few ulps accumulated over the steps
TOL = {np.float64: {"rtol": 1e-12, "atol": 1e-14}, np.float32: {"rtol": 1e-5, "atol": 1e-7}}


def make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [nn.Parameter(rng.standard_normal(s), dtype=dtype) for s in SHAPES]


def gradient_sequence(steps, seed=1, skip=None):
    """Per step, one gradient per parameter (None where `skip(step, index)` is true)."""
    rng = np.random.default_rng(seed)
    return [[None if skip and skip(k, i) else rng.standard_normal(s) for i, s in enumerate(SHAPES)]
            for k in range(steps)]


def run_ours(opt, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=False):
            p.grad = None if g is None else g.astype(p.dtype)
        opt.step()


def compare_with_torch(cls_name, kwargs, dtype, grads):
    torch = pytest.importorskip("torch")
    params = make_params(dtype)
    tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    ours = getattr(optim, cls_name)(params, **kwargs)
    theirs = getattr(torch.optim, cls_name)(tparams, **kwargs)
    arrays = [p.data for p in params]
    for step_grads in grads:
        run_ours(ours, params, [step_grads])
        for tp, g in zip(tparams, step_grads, strict=False):
            tp.grad = None if g is None else torch.tensor(g.astype(dtype))
        theirs.step()
        for p, tp in zip(params, tparams, strict=False):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), **TOL[dtype])
    assert all(p.data is a and p.dtype == dtype for p, a in zip(params, arrays, strict=False))  # in place, same dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_sgd_matches_torch(kwargs, dtype):
    compare_with_torch("SGD", kwargs, dtype, gradient_sequence(6))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=str)
def test_adam_matches_torch(kwargs, dtype):
    compare_with_torch("Adam", kwargs, dtype, gradient_sequence(6))


@pytest.mark.parametrize(("cls_name", "kwargs"), [("SGD", SGD_CASES[1]), ("Adam", ADAM_CASES[1])])
def test_parameters_without_grad_are_skipped_like_torch(cls_name, kwargs):
    # parameter 1 gets no gradient on steps 0 and 3: Adam's per-parameter step count must lag
    grads = gradient_sequence(6, skip=lambda k, i: i == 1 and k in (0, 3))
    compare_with_torch(cls_name, kwargs, np.float64, grads)


@pytest.mark.parametrize(("cls_name", "kwargs"), [("SGD", SGD_CASES[5]), ("Adam", ADAM_CASES[2])])
def test_state_dict_round_trip_continues_identically(cls_name, kwargs, tmp_path):
    k, m = 3, 4
    grads = gradient_sequence(k + m, skip=lambda step, i: i == 2 and step == 0)
    cls = getattr(optim, cls_name)

    straight = make_params(np.float32)
    run_ours(cls(straight, **kwargs), straight, grads)

    first = make_params(np.float32)
    opt = cls(first, **kwargs)
    run_ours(opt, first, grads[:k])
    tg.save({"optimizer": opt.state_dict()}, tmp_path / "ckpt.npz")
    sd = tg.load(tmp_path / "ckpt.npz")["optimizer"]

    resumed = [nn.Parameter(p.data.copy()) for p in first]
    other = {k_: v for k_, v in kwargs.items() if k_ != "lr"}
    fresh = cls(resumed, lr=123.0, **other)  # lr comes back from the state dict
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["lr"] == kwargs["lr"]
    if cls_name == "Adam":
        assert fresh.state[resumed[0]]["step"] == k
    run_ours(fresh, resumed, grads[k:])
    for a, b in zip(straight, resumed, strict=False):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_contents_are_copies():
    params = make_params(np.float64)
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    run_ours(opt, params, gradient_sequence(2))
    sd = opt.state_dict()
    assert sd["param_groups"]["0"]["params"] == [0, 1, 2]
    assert sd["param_groups"]["0"]["momentum"] == 0.9
    assert sd["param_groups"]["0"]["nesterov"] is False
    assert set(sd["state"]) == {"0", "1", "2"}
    sd["state"]["0"]["momentum_buffer"][...] = 0.0
    assert opt.state[params[0]]["momentum_buffer"].any()
    adam = optim.Adam(params)
    run_ours(adam, params, gradient_sequence(1))
    assert sorted(adam.state_dict()["state"]["1"]) == ["exp_avg", "exp_avg_sq", "step"]


def test_load_state_dict_errors():
    params = make_params(np.float32)
    opt = optim.Adam(params, lr=0.01)
    run_ours(opt, params, gradient_sequence(1))
    sd = opt.state_dict()
    sd["state"]["2"]["exp_avg"] = np.zeros((2, 1, 5, 5))
    sd["state"]["1"] = {"exp_avg": np.zeros(4)}
    before = {p: {k: np.copy(v) for k, v in s.items()} for p, s in opt.state.items()}
    with pytest.raises(ValueError) as info:
        opt.load_state_dict(sd)
    msg = str(info.value)
    assert "state['2']['exp_avg']: expected shape (2, 1, 3, 3)" in msg
    assert "got (2, 1, 5, 5)" in msg
    assert "state['1']: has entries ['exp_avg'], expected ['exp_avg', 'exp_avg_sq', 'step']" in msg
    np.testing.assert_array_equal(opt.state[params[2]]["exp_avg"], before[params[2]]["exp_avg"])  # unchanged
    with pytest.raises(ValueError, match="holds 3 parameters but this optimizer's group 0 has 2"):
        optim.Adam(params[:2]).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match=r"missing keys \['momentum', 'dampening', 'nesterov'\]"):
        optim.SGD(params, lr=0.1).load_state_dict(opt.state_dict())


def test_constructor_validation():
    params = make_params(np.float32)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate must be a finite number >= 0.0, got lr=-0.1"):
        optim.SGD(params, lr=-0.1)
    with pytest.raises(ValueError, match="lr=-0.5"):
        optim.Adam(params, lr=-0.5)
    with pytest.raises(ValueError, match="nesterov needs momentum > 0"):
        optim.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD(params + params[:1], lr=0.1)
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="model.parameters"):
        optim.SGD(lin, lr=0.1)
    with pytest.raises(TypeError, match="named_parameters"):
        optim.SGD(lin.named_parameters(), lr=0.1)


def test_zero_grad_and_skipping():
    params = make_params(np.float32)
    opt = optim.SGD(params, lr=0.1)
    before = [p.data.copy() for p in params]
    params[0].grad = np.ones(SHAPES[0], dtype=np.float32)
    opt.step()
    np.testing.assert_array_equal(params[0].data, before[0] - np.float32(0.1))
    np.testing.assert_array_equal(params[1].data, before[1])
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_training_a_linear_layer_reduces_the_loss():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3
    model = nn.Linear(3, 1, rng=rng)
    opt = optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 1e-3 * losses[0]
