"""Every optimizer step for step against torch.optim (parameters and state), parameter groups,
state dicts across tg.save and across PyTorch in both directions, and errors."""
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (2, 3, 2, 2)]
STEPS = 12
CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.3, 0.9), "eps": 1e-6, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.02, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "maximize": True, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"lr": 0.02, "betas": (0.6, 0.95), "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-5}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("RMSprop", {"lr": 0.005, "weight_decay": 0.1, "centered": True, "maximize": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"lr": 0.05, "weight_decay": 0.1, "eps": 1e-6, "maximize": True}),
]
# float64 agrees to rounding; float32 to a few ulps (PyTorch's vectorised lerp fuses a multiply-add),
# relative to each array's largest value (centered RMSprop subtracts nearly equal numbers)
TOL = {np.float64: 1e-12, np.float32: 2e-6}


def make_params(dtype, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [nn.Parameter(rng.standard_normal(s), dtype=dtype) for s in shapes]


def gradients(steps, seed=1, skip=lambda k, i: False, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [[None if skip(k, i) else rng.standard_normal(s) for i, s in enumerate(shapes)] for k in range(steps)]


def to_torch(params):
    return [torch.tensor(p.data.copy(), requires_grad=True) for p in params]


def set_grads(params, tparams, step_grads):
    for p, tp, g in zip(params, tparams, step_grads, strict=True):
        p.grad = None if g is None else g.astype(p.dtype)
        tp.grad = None if g is None else torch.tensor(g.astype(p.dtype))


def close(actual, desired, tol, what=""):
    desired = np.asarray(desired)
    np.testing.assert_allclose(actual, desired, rtol=tol, atol=tol * np.abs(desired).max(initial=0), err_msg=what)


def assert_same(ours, theirs, params, tparams, tol):
    for p, tp in zip(params, tparams, strict=True):
        close(p.data, tp.detach().numpy(), tol)
        mine, other = ours.state.get(p, {}), theirs.state.get(tp, {})
        assert set(mine) == set(other)
        for key, value in other.items():
            if key == "step":
                assert mine[key] == int(value)
            else:
                close(mine[key], value.numpy(), tol, key)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_each_step_matches_torch(name, kwargs, dtype):
    params = make_params(dtype)
    tparams = to_torch(params)
    ours, theirs = getattr(optim, name)(params, **kwargs), getattr(torch.optim, name)(tparams, **kwargs)
    arrays = [p.data for p in params]
    # parameter 1 has no gradient on steps 0 and 5: its state (and Adam's step count) must lag
    for step_grads in gradients(STEPS, skip=lambda k, i: i == 1 and k in (0, 5)):
        set_grads(params, tparams, step_grads)
        ours.step()
        theirs.step()
        assert_same(ours, theirs, params, tparams, TOL[dtype])
    assert all(p.data is a and p.dtype == dtype for p, a in zip(params, arrays, strict=True))  # in place


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_and_add_param_group_match_torch(name):
    params = make_params(np.float64, shapes=SHAPES + [(3,)])
    tparams = to_torch(params)
    extra = {"SGD": {"momentum": 0.5}, "Adam": {"betas": (0.8, 0.9)}, "RMSprop": {"alpha": 0.7}}[name]
    defaults = {"lr": 0.01, **({"momentum": 0.9} if name == "SGD" else {})}

    def groups(ps):
        return [{"params": ps[:1]}, {"params": ps[1:3], "lr": 0.1, **extra}]

    ours = getattr(optim, name)(groups(params), **defaults)
    theirs = getattr(torch.optim, name)(groups(tparams), **defaults)
    assert ours.param_groups[1]["lr"] == 0.1 and ours.param_groups[0]["lr"] == 0.01
    grads = gradients(8, shapes=SHAPES + [(3,)])
    for k, step_grads in enumerate(grads):
        if k == 3:  # a new group in the middle of training
            ours.add_param_group({"params": [params[3]], "lr": 0.02})
            theirs.add_param_group({"params": [tparams[3]], "lr": 0.02})
        if k < 3:
            step_grads = step_grads[:3] + [None]
        set_grads(params, tparams, step_grads)
        ours.step()
        theirs.step()
        assert_same(ours, theirs, params, tparams, TOL[np.float64])
    assert [sorted(g) for g in ours.param_groups] == [sorted(k for k in g if k not in (
        "foreach", "differentiable", "fused", "capturable", "decoupled_weight_decay")) for g in theirs.param_groups]


def run(opt, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = None if g is None else g.astype(p.dtype)
        opt.step()


@pytest.mark.parametrize(("name", "kwargs"), [CASES[1], CASES[5], CASES[8], CASES[12], CASES[16]],
                         ids=lambda v: str(v))
def test_state_dict_through_tg_save_continues_identically(name, kwargs, tmp_path):
    cls = getattr(optim, name)
    grads = gradients(9, skip=lambda k, i: i == 2 and k == 0)

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.003}]

    straight = make_params(np.float32)
    run(cls(groups(straight), **kwargs), straight, grads)
    first = make_params(np.float32)
    opt = cls(groups(first), **kwargs)
    run(opt, first, grads[:4])
    tg.save({"optimizer": opt.state_dict()}, tmp_path / "ckpt.npz")
    resumed = [nn.Parameter(p.data.copy()) for p in first]
    fresh = cls(groups(resumed), lr=123.0)  # every hyperparameter comes back from the state dict
    fresh.load_state_dict(tg.load(tmp_path / "ckpt.npz")["optimizer"])
    assert [g["lr"] for g in fresh.param_groups] == [g["lr"] for g in opt.param_groups]
    run(fresh, resumed, grads[4:])
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_learning_rate_zero_is_allowed_and_its_state_dict_loads(tmp_path):
    params = make_params(np.float32)
    before = [p.data.copy() for p in params]
    opt = optim.SGD(params, lr=0.0, momentum=0.9)
    run(opt, params, gradients(2))
    for p, b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.data, b)
    tg.save(opt.state_dict(), tmp_path / "opt.npz")
    other = optim.SGD(params, lr=0.5, momentum=0.9)
    other.load_state_dict(tg.load(tmp_path / "opt.npz"))
    assert other.param_groups[0]["lr"] == 0.0
    np.testing.assert_array_equal(other.state[params[0]]["momentum_buffer"], opt.state[params[0]]["momentum_buffer"])


def _torch_state_as_numpy(sd):
    return {"state": {k: {kk: vv.numpy() if torch.is_tensor(vv) else vv for kk, vv in v.items()}
                      for k, v in sd["state"].items()},
            "param_groups": [dict(g) for g in sd["param_groups"]]}


def _ours_as_torch_state(sd):
    return {"state": {int(k): {kk: torch.tensor(vv) if isinstance(vv, np.ndarray) else vv for kk, vv in v.items()}
                      for k, v in sd["state"].items()},
            "param_groups": [sd["param_groups"][k] for k in sorted(sd["param_groups"], key=int)]}


@pytest.mark.parametrize(("name", "kwargs"), [CASES[2], CASES[6], CASES[9], CASES[13], CASES[16]],
                         ids=lambda v: str(v))
def test_state_dicts_move_between_torch_and_us(name, kwargs):
    grads = gradients(8)
    # torch trains 4 steps; we load its state and both continue
    params, tparams = make_params(np.float64), to_torch(make_params(np.float64))
    theirs = getattr(torch.optim, name)(tparams, **kwargs)
    for step_grads in grads[:4]:
        for tp, g in zip(tparams, step_grads, strict=True):
            tp.grad = torch.tensor(g)
        theirs.step()
    for p, tp in zip(params, tparams, strict=True):
        p.data[...] = tp.detach().numpy()
    ours = getattr(optim, name)(params, lr=1.0)
    ours.load_state_dict(_torch_state_as_numpy(theirs.state_dict()))
    for step_grads in grads[4:]:
        set_grads(params, tparams, step_grads)
        ours.step()
        theirs.step()
        assert_same(ours, theirs, params, tparams, TOL[np.float64])
    # and back: torch loads our state dict and continues like us
    tparams2 = to_torch(params)
    theirs2 = getattr(torch.optim, name)(tparams2, lr=1.0)
    theirs2.load_state_dict(_ours_as_torch_state(ours.state_dict()))
    for step_grads in grads[:3]:
        set_grads(params, tparams2, step_grads)
        ours.step()
        theirs2.step()
        assert_same(ours, theirs2, params, tparams2, TOL[np.float64])


def test_zero_grad_closure_and_frozen_parameters():
    params = make_params(np.float32)
    params[2].requires_grad_(False)  # frozen parameters are accepted and skipped (no grad)
    opt = optim.Adam(params, lr=0.1)
    params[0].grad = np.ones(SHAPES[0], np.float32)
    opt.zero_grad(set_to_none=False)
    assert params[0].grad is not None and not params[0].grad.any() and params[1].grad is None
    calls = []

    def closure():
        calls.append(1)
        return 3.5

    assert opt.step(closure) == 3.5 and calls == [1]
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    assert "Adam (\nParameter Group 0\n    amsgrad: False" in repr(opt)


def test_construction_errors():
    params = make_params(np.float32)
    with pytest.raises(ValueError, match="SGD: learning rate must be a finite number >= 0.0, got lr=-1"):
        optim.SGD(params, lr=-1)
    with pytest.raises(ValueError, match=r"SGD \(param_groups\[1\]\): momentum must be a finite number >= 0.0"):
        optim.SGD([{"params": params[:1]}, {"params": params[1:], "momentum": -0.5}], lr=0.1)
    with pytest.raises(ValueError, match="appears more than once"):
        optim.SGD([{"params": params[:2]}, {"params": params[1:]}], lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        optim.Adam(set(params))
    with pytest.raises(ValueError, match="leaf"):
        optim.Adam([params[0] * 2.0])
    with pytest.raises(ValueError, match=r"betas\[1\] must be a finite number in \[0.0, 1.0\)"):
        optim.AdamW(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="alpha must be"):
        optim.RMSprop(params, alpha=-0.1)
    with pytest.raises(ValueError, match="lr_decay must be"):
        optim.Adagrad(params, lr_decay=-1)
    with pytest.raises(TypeError, match="'params' entry"):
        optim.SGD(params, lr=0.1).add_param_group(params[0])


def test_load_state_dict_errors_change_nothing():
    params = make_params(np.float64)
    opt = optim.RMSprop([{"params": params[:2]}, {"params": params[2:]}], momentum=0.9)
    run(opt, params, gradients(2))
    before = {p: {k: np.copy(v) for k, v in s.items()} for p, s in opt.state.items()}
    sd = opt.state_dict()
    sd["state"]["0"]["square_avg"] = np.zeros((9,))
    del sd["state"]["1"]["momentum_buffer"]
    sd["param_groups"]["1"]["alpha"] = -1.0
    with pytest.raises(ValueError) as info:
        opt.load_state_dict(sd)
    msg = str(info.value)
    assert "state['0']['square_avg']: expected shape (3, 4)" in msg
    assert "state['1']: has entries ['square_avg', 'step'], expected ['momentum_buffer', 'square_avg', 'step']" in msg
    assert "alpha must be a finite number >= 0.0, got alpha=-1.0" in msg
    for p, s in before.items():
        for k, v in s.items():
            np.testing.assert_array_equal(opt.state[p][k], v)
    with pytest.raises(ValueError, match="has 1 parameter groups but this optimizer has 2"):
        opt.load_state_dict({"state": {}, "param_groups": {"0": sd["param_groups"]["0"]}})
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"lr": 0.1})
