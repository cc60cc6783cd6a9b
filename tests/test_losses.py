"""Every loss against torch.nn.functional in float64 (values and gradients of input and target, for
each reduction and option), the loss modules, and the errors."""
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import functional as F
from tinygrad_np import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]
R = np.random.default_rng(0)


def check(ours_fn, theirs_fn, inputs, grad_inputs=(0,), rtol=1e-12, atol=1e-13):
    """Run both on float64 copies of `inputs` (arrays; ints stay ints); compare values and the
    gradients of the inputs listed in grad_inputs under a random cotangent."""
    ours_in = [tg.Tensor(a, dtype=np.float64, requires_grad=i in grad_inputs) if a.dtype.kind == "f" else a
               for i, a in enumerate(inputs)]
    theirs_in = [torch.tensor(a, requires_grad=i in grad_inputs) for i, a in enumerate(inputs)]
    o, t = ours_fn(*ours_in), theirs_fn(*theirs_in)
    np.testing.assert_allclose(o.data, t.detach().numpy(), rtol=rtol, atol=atol)
    cot = R.standard_normal(o.shape)
    (o * tg.Tensor(cot, dtype=np.float64)).sum().backward()
    (t * torch.tensor(cot)).sum().backward()
    for i in grad_inputs:
        np.testing.assert_allclose(ours_in[i].grad, theirs_in[i].grad.numpy(), rtol=rtol, atol=atol, err_msg=str(i))


LOGITS = R.standard_normal((6, 4, 3)) * 2
LABELS = R.integers(0, 4, (6, 3))
LABELS[0, 0] = LABELS[3, 2] = -100
WEIGHT = R.uniform(0.5, 2.0, 4)
PROBS = R.dirichlet(np.ones(4), (6, 3)).transpose(0, 2, 1).copy()  # (6, 4, 3), sums to 1 over the classes


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": WEIGHT}, {"label_smoothing": 0.2},
                                     {"weight": WEIGHT, "label_smoothing": 0.3, "ignore_index": 1}],
                         ids=["plain", "weight", "smoothing", "weight-smoothing-ignore1"])
def test_cross_entropy_class_indices(options, reduction):
    labels = np.where(LABELS == -100, options.get("ignore_index", -100), LABELS)
    kw = {k: (torch.tensor(v) if k == "weight" else v) for k, v in options.items()}
    check(lambda x, y: F.cross_entropy(x, y, reduction=reduction, **options),
          lambda x, y: TF.cross_entropy(x, y, reduction=reduction, **kw), [LOGITS, labels])
    # (N, C) and unbatched (C,) inputs too
    check(lambda x, y: F.cross_entropy(x, y, reduction=reduction, **options),
          lambda x, y: TF.cross_entropy(x, y, reduction=reduction, **kw), [LOGITS[:, :, 0], labels[:, 0]])
    check(lambda x, y: F.cross_entropy(x, y, reduction=reduction, **options),
          lambda x, y: TF.cross_entropy(x, y, reduction=reduction, **kw), [LOGITS[1, :, 1], labels[1, 1]])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": WEIGHT, "label_smoothing": 0.1}], ids=["plain", "weighted"])
def test_cross_entropy_class_probabilities_with_target_gradient(options, reduction):
    kw = {k: (torch.tensor(v) if k == "weight" else v) for k, v in options.items()}
    check(lambda x, y: F.cross_entropy(x, y, reduction=reduction, **options),
          lambda x, y: TF.cross_entropy(x, y, reduction=reduction, **kw), [LOGITS, PROBS], grad_inputs=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    log_probs = np.log(PROBS)
    check(lambda x, y: F.nll_loss(x, y, WEIGHT, reduction=reduction),
          lambda x, y: TF.nll_loss(x, y, torch.tensor(WEIGHT), reduction=reduction), [log_probs, LABELS])
    check(lambda x, y: F.nll_loss(x, y, ignore_index=2, reduction=reduction),
          lambda x, y: TF.nll_loss(x, y, ignore_index=2, reduction=reduction),
          [log_probs[:, :, 0], np.where(LABELS[:, 0] < 0, 2, LABELS[:, 0])])


def test_every_target_ignored_gives_nan_like_torch():
    labels = np.full(3, -100)
    ours = F.cross_entropy(tg.Tensor(LOGITS[:3, :, 0], dtype=np.float64), labels)
    assert np.isnan(ours.item()) and np.isnan(TF.cross_entropy(torch.tensor(LOGITS[:3, :, 0]), torch.tensor(labels)).item())


P = R.uniform(0.02, 0.98, (5, 3))
Y = R.uniform(0, 1, (5, 3))
X = R.standard_normal((5, 3)) * 3


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_weight(reduction):
    w = R.uniform(0.5, 2, 3)
    check(lambda p, y: F.binary_cross_entropy(p, y, w, reduction=reduction),
          lambda p, y: TF.binary_cross_entropy(p, y, torch.tensor(w), reduction=reduction), [P, Y], (0, 1))
    check(lambda p, y: F.binary_cross_entropy(p, y, reduction=reduction),
          lambda p, y: TF.binary_cross_entropy(p, y, reduction=reduction), [P, Y], (0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_with_logits_and_pos_weight(reduction, weighted):
    w = R.uniform(0.5, 2, (5, 1)) if weighted else None
    pw = np.array([0.5, 1.0, 3.0])
    tw = None if w is None else torch.tensor(w)
    check(lambda x, y: F.binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=pw),
          lambda x, y: TF.binary_cross_entropy_with_logits(x, y, tw, reduction=reduction, pos_weight=torch.tensor(pw)),
          [X, Y], (0, 1))
    check(lambda x, y: F.binary_cross_entropy_with_logits(x, y, w, reduction=reduction),
          lambda x, y: TF.binary_cross_entropy_with_logits(x, y, tw, reduction=reduction), [X, Y], (0, 1))


D = np.r_[R.standard_normal(10) * 2, 0.0, 0.7, -0.7, 1.5, -1.5]  # with the kinks of smooth_l1 / huber
T = np.zeros_like(D)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "ours", "theirs"), [
    ("mse", F.mse_loss, TF.mse_loss),
    ("l1", F.l1_loss, TF.l1_loss),
    ("smooth_l1", lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction, beta=0.7),
     lambda a, b, reduction: TF.smooth_l1_loss(a, b, reduction=reduction, beta=0.7)),
    ("smooth_l1_beta0", lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction, beta=0.0),
     lambda a, b, reduction: TF.smooth_l1_loss(a, b, reduction=reduction, beta=0.0)),
    ("huber", lambda a, b, reduction: F.huber_loss(a, b, reduction, delta=1.5),
     lambda a, b, reduction: TF.huber_loss(a, b, reduction=reduction, delta=1.5)),
])
def test_regression_losses(name, ours, theirs, reduction):
    # the target is 0, so the kinks sit at input = 0, +-beta, +-delta
    check(lambda a, b: ours(a, b, reduction=reduction), lambda a, b: theirs(a, b, reduction=reduction), [D, T], (0, 1))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # torch's notice about 'mean'
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    inp = np.log(PROBS[:, :, 0])
    target = PROBS[::-1, :, 1].copy()
    target[0, 0] = 0.0  # contributes 0, like xlogy
    if log_target:
        target = np.log(target + 0.05)
    check(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
          lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target), [inp, target],
          (0, 1) if log_target else (0,))


def test_loss_modules_call_the_functions_and_keep_weights_as_buffers():
    loss = nn.CrossEntropyLoss(weight=WEIGHT, label_smoothing=0.1, reduction="sum")
    assert list(loss.state_dict()) == ["weight"]
    assert list(loss.state_dict()) == list(torch.nn.CrossEntropyLoss(weight=torch.tensor(WEIGHT)).state_dict())
    x = tg.Tensor(LOGITS[:, :, 0], dtype=np.float64)
    np.testing.assert_array_equal(loss(x, LABELS[:, 0]).data,
                                  F.cross_entropy(x, LABELS[:, 0], WEIGHT, reduction="sum", label_smoothing=0.1).data)
    pairs = [(nn.MSELoss(), F.mse_loss), (nn.L1Loss(reduction="none"), F.l1_loss),
             (nn.SmoothL1Loss(beta=0.5), F.smooth_l1_loss), (nn.HuberLoss(delta=2.0), F.huber_loss),
             (nn.BCEWithLogitsLoss(pos_weight=np.ones(3)), F.binary_cross_entropy_with_logits),
             (nn.KLDivLoss(reduction="batchmean"), F.kl_div)]
    a, b = tg.Tensor(P, dtype=np.float64), tg.Tensor(Y, dtype=np.float64)
    for module, fn in pairs:
        assert module(a, b).shape == fn(a, b, reduction=module.reduction).shape
    np.testing.assert_allclose(nn.BCELoss()(a, b).data, F.binary_cross_entropy(a, b).data)
    np.testing.assert_allclose(nn.NLLLoss(ignore_index=0)(x.log_softmax(1), LABELS[:, 0] % 4).data,
                               F.nll_loss(x.log_softmax(1), LABELS[:, 0] % 4, ignore_index=0).data)
    with pytest.raises(ValueError, match="KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none'"):
        nn.KLDivLoss(reduction="avg")


BAD_REDUCTION = [
    lambda r: F.mse_loss(tg.Tensor(P), Y, reduction=r), lambda r: F.l1_loss(tg.Tensor(P), Y, reduction=r),
    lambda r: F.smooth_l1_loss(tg.Tensor(P), Y, reduction=r), lambda r: F.huber_loss(tg.Tensor(P), Y, reduction=r),
    lambda r: F.binary_cross_entropy(tg.Tensor(P), Y, reduction=r),
    lambda r: F.binary_cross_entropy_with_logits(tg.Tensor(P), Y, reduction=r),
    lambda r: F.kl_div(tg.Tensor(P), Y, reduction=r), lambda r: F.cross_entropy(tg.Tensor(P), [0] * 5, reduction=r),
    lambda r: F.nll_loss(tg.Tensor(P), [0] * 5, reduction=r), lambda r: nn.CrossEntropyLoss(reduction=r),
]


@pytest.mark.parametrize("call", BAD_REDUCTION)
def test_bad_reduction_is_named(call):
    with pytest.raises(ValueError, match="reduction must be 'mean'.*got 'avg'"):
        call("avg")


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: F.cross_entropy(tg.Tensor(LOGITS), LABELS[:, :2]), ValueError, r"labels must have shape \(6, 3\)"),
    (lambda: F.cross_entropy(tg.Tensor(LOGITS), LABELS, WEIGHT[:3]), ValueError, r"weight must have shape \(4,\)"),
    (lambda: F.cross_entropy(tg.Tensor(LOGITS), LABELS, label_smoothing=1.5), ValueError, "label_smoothing"),
    (lambda: F.cross_entropy(tg.Tensor(LOGITS), PROBS[:, :3]), ValueError, "class probabilities of the logits' shape"),
    (lambda: F.cross_entropy(tg.Tensor(LOGITS), np.full((6, 3), 4)), ValueError, r"labels must be in \[0, 3\]"),
    (lambda: F.cross_entropy(tg.Tensor(np.ones(3)), np.array([1])), ValueError, "logits must be 2-D"),
    (lambda: F.cross_entropy(tg.Tensor(np.array(1.0)), np.array(0)), ValueError, "must have a class dim"),
    (lambda: F.nll_loss(tg.Tensor(LOGITS), PROBS), TypeError, "nll_loss: target must be integer class indices"),
    (lambda: F.binary_cross_entropy(tg.Tensor(P), Y, np.ones(4)), ValueError,
     r"weight of shape \(4,\) does not broadcast to the input's shape \(5, 3\)"),
    (lambda: F.binary_cross_entropy_with_logits(tg.Tensor(P), Y, pos_weight=np.ones(2)), ValueError, "pos_weight"),
    (lambda: F.smooth_l1_loss(tg.Tensor(P), Y, beta=-1.0), ValueError, "beta must be >= 0"),
    (lambda: F.huber_loss(tg.Tensor(P), Y, delta=0.0), ValueError, "delta must be > 0"),
    (lambda: F.l1_loss(tg.Tensor(P), Y[:, :2]), ValueError, r"l1_loss: input has shape \(5, 3\) but target has"),
    (lambda: F.kl_div(tg.Tensor(np.array(0.5)), np.array(0.5), reduction="batchmean"), ValueError, "batch dimension"),
    (lambda: F.one_hot(np.array([0, 3]), 3), ValueError, "one_hot: index 3 is out of range for 3 classes"),
])
def test_loss_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
