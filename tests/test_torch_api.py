"""The PyTorch-style API against PyTorch itself: each case is ONE piece of code run with `m = tg` and
with `m = torch` (only the module prefix changes), comparing values and gradients in float64."""
import numpy as np
import pytest

import tinygrad_np as tg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4, 5))          # distinct values (almost surely): no ties
Y = RNG.standard_normal((3, 4, 5))
GATHER_INDEX = RNG.integers(0, 4, (3, 6, 5))

CASES = {
    # reductions with dim / keepdim
    "sum dim keepdim": lambda m, x, y: x.sum(dim=1, keepdim=True),
    "sum tuple": lambda m, x, y: x.sum((0, 2)),
    "sum function": lambda m, x, y: m.sum(x, 1),
    "mean": lambda m, x, y: x.mean(-1),
    "mean all": lambda m, x, y: m.mean(x),
    "var": lambda m, x, y: x.var(1),
    "var unbiased=False": lambda m, x, y: x.var(1, unbiased=False),
    "var correction keepdim": lambda m, x, y: x.var(dim=(0, 2), correction=2, keepdim=True),
    "var(False)": lambda m, x, y: x.var(False),
    "std": lambda m, x, y: x.std(0),
    "std all": lambda m, x, y: x.std(),
    "std function": lambda m, x, y: m.std(x, dim=1, correction=0),
    "max all": lambda m, x, y: x.max(),
    "max dim": lambda m, x, y: x.max(1),
    "max dim keepdim": lambda m, x, y: x.max(dim=2, keepdim=True)[0],
    "max function": lambda m, x, y: m.max(x, -1).values,
    "max of two": lambda m, x, y: m.max(x, y),
    "min all": lambda m, x, y: x.min(),
    "min dim": lambda m, x, y: x.min(0).values,
    "min dim indices": lambda m, x, y: x.min(dim=1, keepdim=True).indices,
    "amax": lambda m, x, y: x.amax((0, 1)),
    "amin": lambda m, x, y: m.amin(x, -1, keepdim=True),
    "argmax": lambda m, x, y: x.argmax(1),
    "argmax all": lambda m, x, y: x.argmax(),
    "argmin keepdim": lambda m, x, y: m.argmin(x, dim=2, keepdim=True),
    "logsumexp": lambda m, x, y: x.logsumexp(1),
    "logsumexp tuple": lambda m, x, y: m.logsumexp(x, (0, 2), keepdim=True),
    "softmax": lambda m, x, y: x.softmax(dim=1),
    "log_softmax": lambda m, x, y: m.log_softmax(x, -1),
    "functional softmax": lambda m, x, y: m.nn.functional.softmax(x, dim=0),
    "all any": lambda m, x, y: ((x > 0).all(), (x > 0).any(1), (x > 0).all(dim=2, keepdim=True)),
    # elementwise
    "where": lambda m, x, y: m.where(x > 0, x, y * 2),
    "where number": lambda m, x, y: m.where(x > 0, x, 0.0),
    "where method": lambda m, x, y: x.where(y > 0, y),
    "maximum": lambda m, x, y: m.maximum(x, y),
    "minimum": lambda m, x, y: x.minimum(y),
    "clamp": lambda m, x, y: x.clamp(-0.5, 0.5),
    "clamp min": lambda m, x, y: m.clamp(x, min=0.1),
    "clip max": lambda m, x, y: x.clip(max=0.2),
    "clamp tensors": lambda m, x, y: x.clamp(min=y, max=y + 1),
    "masked_fill": lambda m, x, y: x.masked_fill(y > 0.5, -1.0),
    "masked_fill broadcast": lambda m, x, y: x.masked_fill(m.tensor([True, False, True, False, False])[None], 2.0),
    "sign": lambda m, x, y: x.sign() * y,
    "log1p": lambda m, x, y: (x * x).log1p(),
    "expm1": lambda m, x, y: m.expm1(x),
    "sin cos": lambda m, x, y: x.sin() * m.cos(y),
    "add sub alpha": lambda m, x, y: x.add(y, alpha=2).sub(y, alpha=0.5),
    "mul div pow": lambda m, x, y: x.mul(y).div(y.abs() + 1).pow(2),
    "square neg": lambda m, x, y: m.square(x).neg(),
    "tril triu": lambda m, x, y: (x.tril(), x.triu(1), m.tril(y, -1)),
    # movement and indexing
    "unsqueeze squeeze": lambda m, x, y: (x.unsqueeze(1), x.unsqueeze(-1).squeeze(), m.unsqueeze(x, 0).squeeze(0)),
    "view": lambda m, x, y: (x.view(12, 5), x.view(-1, 20), x.view((60,)), x.view_as(y)),
    "reshape function": lambda m, x, y: m.reshape(x, (5, 12)),
    "expand": lambda m, x, y: (x[:, :1].expand(3, 4, 5), x[0, 0].expand(2, -1), x[:, :1].expand_as(y)),
    "repeat": lambda m, x, y: (x.repeat(2, 1, 1, 2), x[0].repeat(1, 3)),
    "flatten": lambda m, x, y: (x.flatten(), x.flatten(1), x.flatten(0, 1), m.flatten(x, -2)),
    "transpose permute": lambda m, x, y: (x.transpose(0, 2), x.swapaxes(1, 2), x.permute(2, 0, 1), x.mT, x[0].T),
    "chunk": lambda m, x, y: x.chunk(3, 2),
    "chunk function": lambda m, x, y: m.chunk(x, 2, dim=1),
    "split size": lambda m, x, y: x.split(2, 1),
    "split sizes": lambda m, x, y: x.split([1, 3], 1),
    "gather": lambda m, x, y: x.gather(1, m.tensor(GATHER_INDEX)),
    "index_select": lambda m, x, y: x.index_select(2, m.tensor([4, 0, 0])),
    "cat stack": lambda m, x, y: (m.cat([x, y], dim=1), m.stack([x, y], 1), m.cat((x, y))),
    "clone": lambda m, x, y: x.clone() * 2,
    "float double": lambda m, x, y: (x.float() * 2).double() + y.to(m.float64),
    "type_as": lambda m, x, y: x.float().type_as(y),
}


def run(m, fn):
    """fn's outputs and the inputs' gradients for a random cotangent, as arrays."""
    inputs = [m.tensor(a, dtype=m.float64, requires_grad=True) for a in (X, Y)]
    out = fn(m, *inputs)
    outputs = list(out) if isinstance(out, (tuple, list)) else [out]  # max(dim): values and indices
    values = [o.detach().numpy() for o in outputs]
    rng = np.random.default_rng(3)
    weighted = [(o * m.tensor(rng.standard_normal(o.shape), dtype=m.float64)).sum()
                for o in outputs if o.requires_grad]
    if weighted:
        sum(weighted).backward()
    grads = [np.zeros(X.shape) if t.grad is None else np.asarray(t.grad) for t in inputs]
    return values, [str(v.dtype) for v in values], grads


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_code_gives_pytorchs_values_and_gradients(name):
    values, dtypes, grads = run(tg, CASES[name])
    t_values, t_dtypes, t_grads = run(torch, CASES[name])
    assert [v.shape for v in values] == [v.shape for v in t_values]
    assert dtypes == t_dtypes
    for ours, theirs in zip(values, t_values, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    for ours, theirs in zip(grads, t_grads, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "maximum"])
def test_tie_rules_match_pytorch(name):
    data = [[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]]
    code = {
        "max": lambda m, x: (x.max() + x.max(1).values.sum() + x.max(dim=0, keepdim=True)[0].sum()),
        "min": lambda m, x: (x.min() + x.min(1).values.sum()),
        "amax": lambda m, x: x.amax(1).sum() + x.amax().sum(),
        "amin": lambda m, x: m.amin(x, 0).sum(),
        "maximum": lambda m, x: m.maximum(x, m.ones_like(x) * 2).sum() + m.minimum(x, m.zeros_like(x)).sum(),
    }[name]
    grads = []
    for m in (tg, torch):
        x = m.tensor(data, dtype=m.float64, requires_grad=True)
        code(m, x).backward()
        grads.append(np.asarray(x.grad))
    np.testing.assert_array_equal(grads[0], grads[1])


def test_size_numel_dim_item_match_pytorch():
    for m in (tg, torch):
        x = m.zeros(2, 3, 4)
        assert tuple(x.size()) == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
        assert x.numel() == 24 and x.dim() == 3 and x.ndim == 3
        assert x.sum().item() == 0.0 and isinstance(x.sum().item(), float)
        assert m.numel(x) == 24
