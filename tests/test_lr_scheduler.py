"""Learning-rate schedulers against torch.optim.lr_scheduler: the same learning rates (and momenta)
at every step, to the last bit; state dicts through tg.save and from PyTorch; errors."""
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim
from tinygrad_np.optim import lr_scheduler as S

torch = pytest.importorskip("torch")
TS = torch.optim.lr_scheduler


def optimizers(name="SGD", **kwargs):
    """Ours and torch's optimizer over two parameter groups with different learning rates."""
    ours = getattr(optim, name)([{"params": [nn.Parameter(np.zeros(2))]},
                                 {"params": [nn.Parameter(np.zeros(3))], "lr": 0.3}], lr=0.1, **kwargs)
    theirs = getattr(torch.optim, name)([{"params": [torch.zeros(2, requires_grad=True)]},
                                         {"params": [torch.zeros(3, requires_grad=True)], "lr": 0.3}],
                                        lr=0.1, **kwargs)
    return ours, theirs


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def assert_lockstep(ours, theirs, steps, metrics=None):
    """Step both schedulers; learning rates and momenta must be identical floats after each step."""
    for k in range(steps + 1):
        assert ours.get_last_lr() == theirs.get_last_lr(), k
        assert [g["lr"] for g in ours.optimizer.param_groups] == [g["lr"] for g in theirs.optimizer.param_groups]
        assert momenta(ours.optimizer) == momenta(theirs.optimizer), k
        ours.optimizer.step()
        theirs.optimizer.step()
        if metrics is None:
            ours.step()
            theirs.step()
        else:
            ours.step(metrics[k])
            theirs.step(metrics[k])


SCHEDULES = [
    ("StepLR", {"step_size": 3}),
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 6}),
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}),  # 20 steps: down, back up and down again
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.95 ** epoch + 0.01 * epoch}),
]


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_schedules_match_torch(name, kwargs):
    ours_opt, theirs_opt = optimizers(momentum=0.9)
    assert_lockstep(getattr(S, name)(ours_opt, **kwargs), getattr(TS, name)(theirs_opt, **kwargs), 20)


def test_lambda_lr_with_one_function_per_group():
    ours_opt, theirs_opt = optimizers()
    fns = [lambda e: 1.0 / (e + 1), lambda e: 0.5 ** (e // 2)]
    assert_lockstep(S.LambdaLR(ours_opt, fns), TS.LambdaLR(theirs_opt, fns), 12)


ONE_CYCLE = [
    ("SGD", {"momentum": 0.9}, {"max_lr": 1.0, "total_steps": 25}),
    ("SGD", {"momentum": 0.9}, {"max_lr": [1.0, 2.0], "epochs": 3, "steps_per_epoch": 7, "three_phase": True}),
    ("Adam", {}, {"max_lr": 0.01, "total_steps": 20, "anneal_strategy": "linear", "pct_start": 0.25,
                  "base_momentum": 0.8, "max_momentum": 0.9, "div_factor": 10.0, "final_div_factor": 100.0}),
    ("Adagrad", {}, {"max_lr": 0.5, "total_steps": 15, "cycle_momentum": False}),
]


@pytest.mark.parametrize(("opt_name", "opt_kwargs", "kwargs"), ONE_CYCLE, ids=[str(i) for i in range(len(ONE_CYCLE))])
def test_one_cycle_matches_torch_including_momentum(opt_name, opt_kwargs, kwargs):
    ours_opt, theirs_opt = optimizers(opt_name, **opt_kwargs)
    ours, theirs = S.OneCycleLR(ours_opt, **kwargs), TS.OneCycleLR(theirs_opt, **kwargs)
    total = ours.total_steps
    assert_lockstep(ours, theirs, total - 1)  # the last step reaches total_steps
    for key in ("initial_lr", "max_lr", "min_lr"):
        assert [g[key] for g in ours_opt.param_groups] == [g[key] for g in theirs_opt.param_groups]
    with pytest.raises(ValueError, match=f"stepped {total + 1} times but total_steps is {total}"):
        ours.step()


PLATEAU = [
    {},
    {"mode": "max", "factor": 0.5, "patience": 1, "threshold": 0.05, "cooldown": 2},
    {"patience": 0, "threshold_mode": "abs", "threshold": 0.1, "min_lr": [0.02, 0.05]},
    {"patience": 2, "min_lr": 0.04, "eps": 1e-3},
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=str)
def test_reduce_on_plateau_matches_torch(kwargs):
    rng = np.random.default_rng(0)
    # improving for 8 epochs, then noise around a plateau
    metrics = list(np.round(np.r_[1.0 / np.arange(1, 9), 0.13 + rng.uniform(0, 0.03, 22)], 3))
    ours_opt, theirs_opt = optimizers()
    ours, theirs = S.ReduceLROnPlateau(ours_opt, **kwargs), TS.ReduceLROnPlateau(theirs_opt, **kwargs)
    assert_lockstep(ours, theirs, 29, metrics)
    assert ours.best == theirs.best and ours.num_bad_epochs == theirs.num_bad_epochs
    assert ours.get_last_lr() != [0.1, 0.3]  # the metrics did plateau
    ours.step(tg.Tensor(0.001))  # a one-element tensor works as the metric


@pytest.mark.parametrize(("name", "kwargs"), [SCHEDULES[2], SCHEDULES[5], ("OneCycleLR", {"max_lr": 1.0, "total_steps": 30}),
                                              ("ReduceLROnPlateau", {"patience": 1})],
                         ids=["multistep", "cosine", "onecycle", "plateau"])
def test_state_dict_through_tg_save_resumes_identically(name, kwargs, tmp_path):
    metrics = [1.0, 0.9, 0.95, 0.97, 0.96, 0.99, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] * 2

    def advance(sched, opt, steps, start=0):
        out = []
        for k in range(start, start + steps):
            opt.step()
            sched.step(metrics[k]) if name == "ReduceLROnPlateau" else sched.step()
            out.append((sched.get_last_lr(), momenta(opt)))
        return out

    opt_a, _ = optimizers(momentum=0.9)
    straight = advance(getattr(S, name)(opt_a, **kwargs), opt_a, 20)
    opt_b, _ = optimizers(momentum=0.9)
    sched_b = getattr(S, name)(opt_b, **kwargs)
    first = advance(sched_b, opt_b, 8)
    tg.save({"optimizer": opt_b.state_dict(), "scheduler": sched_b.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = tg.load(tmp_path / "ckpt.npz")
    opt_c, _ = optimizers(momentum=0.9)
    sched_c = getattr(S, name)(opt_c, **kwargs)
    opt_c.load_state_dict(ckpt["optimizer"])
    sched_c.load_state_dict(ckpt["scheduler"])
    assert first + advance(sched_c, opt_c, 12, start=8) == straight


def test_torch_scheduler_state_dicts_load():
    ours_opt, theirs_opt = optimizers()
    theirs = TS.MultiStepLR(theirs_opt, milestones=[3, 3, 6], gamma=0.5)
    for _ in range(4):
        theirs_opt.step()
        theirs.step()
    ours = S.MultiStepLR(ours_opt, milestones=[1], gamma=0.9)
    ours_opt.load_state_dict({"state": {}, "param_groups": theirs_opt.state_dict()["param_groups"]})
    ours.load_state_dict(theirs.state_dict())  # milestones arrive as a Counter
    assert ours.milestones == [3, 3, 6] and ours.gamma == 0.5
    assert_lockstep(ours, theirs, 6)


def test_scheduler_errors():
    opt, _ = optimizers()
    for make in (lambda: S.StepLR(nn.Linear(2, 2), 3), lambda: S.OneCycleLR("sgd", 1.0, total_steps=3),
                 lambda: S.ReduceLROnPlateau(nn.Linear(2, 2).parameters())):
        with pytest.raises(TypeError, match="expected an optimizer"):
            make()
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        S.StepLR(opt, 0)
    with pytest.raises(ValueError, match="lr_lambda has 1 values but the optimizer has 2 parameter groups"):
        S.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="give total_steps, or epochs and steps_per_epoch"):
        S.OneCycleLR(opt, 1.0)
    with pytest.raises(ValueError, match="cycle_momentum needs an optimizer with momentum or betas"):
        S.OneCycleLR(optim.Adagrad(nn.Linear(2, 2).parameters()), 1.0, total_steps=5)
    with pytest.raises(ValueError, match="factor must be < 1"):
        S.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        S.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(TypeError, match="pass the monitored metric"):
        S.ReduceLROnPlateau(opt).step()
    with pytest.raises(KeyError, match="initial_lr"):
        S.ExponentialLR(optim.SGD(nn.Linear(2, 2).parameters()), 0.9, last_epoch=3)
