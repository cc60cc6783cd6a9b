"""Fuzzing the public API with bad input: only ValueError, TypeError or RuntimeError come out,
and the message names the op (or the offending thing).

Decisions pinned here:
- NaN or Inf in the data is not an error by itself (as in NumPy and PyTorch): ops compute and
  propagate it. Inside `tg.detect_anomaly()` the first op that outputs one raises.
- Empty batches (N = 0) work like PyTorch: conv, pooling, threshold and linear layers return an
  output with N = 0 and backward gives gradients of the right shapes (zeros for the weights).

Bad files raise ValueError naming the file (FileNotFoundError for a dangling link), or are
skipped with a warning in image folders.

The number of examples scales with the Hypothesis profile: 5x the profile's max_examples
(200 in `ci`, 5,000 in `thorough`).
"""
import io
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from helpers import call_unblocking_fifos, huge_png
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np import data as tgdata
from tinygrad_np import functional as F
from tinygrad_np import serialization

EXAMPLES = settings.default.max_examples * 5
ALLOWED = (ValueError, TypeError, RuntimeError)
ints = st.integers


class Case(NamedTuple):
    call: Callable[[], object]
    names: tuple[str, ...]  # the message must contain each of these


def t(shape, dtype=np.float32, requires_grad=False, fill=1.0):
    return tg.Tensor(np.full(shape, fill, dtype=dtype), dtype=dtype, requires_grad=requires_grad)


def shape_of(ndim, side=None):
    side = ints(1, 4) if side is None else side
    return st.tuples(*[side] * ndim)


bad_int = st.one_of(ints(-3, 0), st.floats(-2, 5), st.just("2"), st.just(True), st.just((1, 2, 3)), st.just(None))


@st.composite
def conv_cases(draw):
    n, c, h, w = draw(ints(1, 2)), draw(ints(1, 3)), draw(ints(3, 6)), draw(ints(3, 6))
    f, k = draw(ints(1, 3)), draw(ints(1, 3))
    x, weight = t((n, c, h, w), requires_grad=True), t((f, c, k, k), requires_grad=True)
    kind = draw(st.sampled_from(["ndim", "weight ndim", "channels", "stride", "padding", "kernel", "bias",
                                 "string weight", "object input", "module channels"]))
    if kind == "ndim":
        shape = draw(shape_of(draw(st.sampled_from([0, 1, 2, 3, 5, 6]))))
        return Case(lambda: tg.conv2d(t(shape), weight), ("conv2d", "4-D"))
    if kind == "weight ndim":
        shape = draw(shape_of(draw(st.sampled_from([1, 2, 3, 5]))))
        return Case(lambda: x.conv2d(t(shape)), ("conv2d", "weight"))
    if kind == "channels":
        wc = draw(ints(1, 5).filter(lambda v: v != c))
        return Case(lambda: tg.conv2d(x, t((f, wc, k, k))), ("conv2d", f"{c} channels", f"expects {wc}"))
    if kind == "stride":
        stride = draw(st.one_of(bad_int, st.tuples(ints(1, 2), ints(-2, 0))))
        return Case(lambda: tg.conv2d(x, weight, stride=stride), ("conv2d", "stride"))
    if kind == "padding":
        padding = draw(st.one_of(ints(-3, -1), st.tuples(ints(0, 1), ints(-2, -1)), st.just(1.5), st.just("full")))
        return Case(lambda: tg.conv2d(x, weight, padding=padding), ("conv2d", "padding"))
    if kind == "kernel":
        big = t((f, c, h + draw(ints(1, 3)), w), requires_grad=True)
        return Case(lambda: tg.conv2d(x, big), ("conv2d", "larger than the padded input"))
    if kind == "bias":
        nb = draw(ints(0, 5).filter(lambda v: v != f))
        return Case(lambda: tg.conv2d(x, weight, bias=t((nb,))), ("conv2d", "bias"))
    if kind == "string weight":
        return Case(lambda: tg.conv2d(x, np.full((f, c, k, k), "a")), ("Tensor", "dtype <U1"))
    if kind == "object input":
        return Case(lambda: tg.conv2d(np.full((n, c, h, w), object()), weight), ("Tensor", "dtype object"))
    layer = tg.nn.Conv2d(c + 1, f, k)
    return Case(lambda: layer(x), ("conv2d", f"{c} channels"))


@st.composite
def pool_cases(draw):
    op, fn = draw(st.sampled_from([("avg_pool2d", tg.avg_pool2d), ("max_pool2d", tg.max_pool2d)]))
    h, w = draw(ints(2, 6)), draw(ints(2, 6))
    x = t((draw(ints(1, 2)), draw(ints(1, 3)), h, w), requires_grad=True)
    kind = draw(st.sampled_from(["ndim", "kernel", "too big", "stride", "module"]))
    if kind == "ndim":
        shape = draw(shape_of(draw(st.sampled_from([0, 1, 2, 3, 5]))))
        return Case(lambda: fn(t(shape), 1), (op, "4-D"))
    if kind == "kernel":
        kernel = draw(st.one_of(bad_int, st.tuples(ints(-1, 0), ints(1, 2))))
        return Case(lambda: fn(x, kernel), (op, "kernel_size"))
    if kind == "too big":
        kernel = (h + draw(ints(1, 3)), 1)
        return Case(lambda: fn(x, kernel), (op, "larger than the input"))
    if kind == "stride":
        stride = draw(bad_int.filter(lambda s: s is not None))
        return Case(lambda: fn(x, 1, stride), (op, "stride"))
    module = (tg.nn.AvgPool2d if op == "avg_pool2d" else tg.nn.MaxPool2d)(h + 1)
    return Case(lambda: module(x), (op, "larger than the input"))


@st.composite
def tensor_cases(draw):
    kind = draw(st.sampled_from(["int grad", "bool grad", "object", "string", "ragged", "none", "data setter",
                                 "requires_grad_", "astype", "item", "bool", "clip"]))
    if kind in ("int grad", "bool grad"):
        dtype = np.int64 if kind == "int grad" else np.bool_
        return Case(lambda: tg.Tensor(np.ones(draw(shape_of(2)), dtype), requires_grad=True),
                    ("Tensor", "only floating point"))
    if kind == "object":
        return Case(lambda: tg.Tensor(np.array([object(), 1.0])), ("Tensor", "dtype object"))
    if kind == "string":
        text = draw(st.text(min_size=1, max_size=3))
        return Case(lambda: tg.Tensor([text]), ("Tensor", "dtype <U"))
    if kind == "ragged":
        return Case(lambda: tg.Tensor([[1.0], [1.0, 2.0]]), ("Tensor", "inhomogeneous"))
    if kind == "none":
        return Case(lambda: tg.Tensor(None), ("Tensor", "dtype object"))
    x = t(draw(shape_of(2, ints(2, 3))), requires_grad=True)
    if kind == "data setter":
        value = draw(st.sampled_from([np.array(["a"]), np.array([1, 2]), object()]))
        return Case(lambda: setattr(x, "data", value), ("Tensor.data",))
    if kind == "requires_grad_":
        return Case(lambda: tg.Tensor(np.ones(3, np.int32)).requires_grad_(), ("requires_grad_",))
    if kind == "astype":
        dtype = draw(st.sampled_from(["foo", object, "U3"]))
        return Case(lambda: x.astype(dtype), ("astype",))
    if kind == "item":
        return Case(lambda: x.item(), ("item", "elements"))
    if kind == "bool":
        return Case(lambda: bool(x), ("truth value",))
    bound = draw(st.sampled_from(["a", None, [1.0], object()]))
    return Case(lambda: x.clip(bound, "b"), ("clip",))


@st.composite
def arithmetic_cases(draw):
    a_shape = draw(shape_of(2, ints(2, 4)))
    b_shape = (a_shape[0] + draw(ints(1, 2)), a_shape[1])  # cannot broadcast
    a = t(a_shape, requires_grad=True)
    kind = draw(st.sampled_from(["add", "sub", "mul", "div", "pow", "compare", "operand", "matmul", "matmul 0-d"]))
    if kind in ("add", "sub", "mul", "div", "pow"):
        fn = {"add": a.__add__, "sub": a.__sub__, "mul": a.__mul__, "div": a.__truediv__, "pow": a.__pow__}[kind]
        return Case(lambda: fn(t(b_shape)), (kind, "cannot be broadcast"))
    if kind == "compare":
        return Case(lambda: a < np.ones(b_shape), ("less", "cannot be broadcast"))
    if kind == "operand":
        op, fn = draw(st.sampled_from([("add", a.__add__), ("mul", a.__rmul__), ("pow", a.__pow__),
                                       ("sub", a.__rsub__), ("greater", a.__gt__)]))
        bad = draw(st.sampled_from(["a", None, object(), np.array(["x"]), [1, [2]]]))
        return Case(lambda: fn(bad), (op,))
    if kind == "matmul":
        k2 = a_shape[1] + draw(ints(1, 3))
        return Case(lambda: a @ t((k2, 2)), ("matmul", "inner dimensions"))
    return Case(lambda: a.matmul(t(())), ("matmul", "at least 1-D"))


@st.composite
def shape_op_cases(draw):
    shape = draw(shape_of(draw(ints(1, 3)), ints(1, 4)))
    x, ndim = t(shape, requires_grad=True), len(shape)
    kind = draw(st.sampled_from(["axis", "reshape", "index", "pad", "permute", "transpose", "flatten",
                                 "concatenate", "stack"]))
    if kind == "axis":
        op = draw(st.sampled_from(["sum", "mean", "max", "min", "softmax", "log_softmax"]))
        axis = draw(st.one_of(ints(ndim, ndim + 3), ints(-ndim - 3, -ndim - 1), st.just(0.5), st.just("0"),
                              st.just((0, 0))))
        return Case(lambda: getattr(x, op)(axis=axis), (op, "axis"))
    if kind == "reshape":
        target = draw(st.one_of(st.just((x.numel() + 1,)), st.just((-1, -1)), st.just((1.5, x.numel())), st.just(("a",)),
                                st.just((-2, 1))))
        return Case(lambda: x.reshape(*target), ("reshape",))
    if kind == "index":
        index = draw(st.one_of(ints(shape[0], shape[0] + 5), st.just(1.5), st.just("a"),
                               st.just((0,) * (ndim + 1)), st.just(np.array([0.5]))))
        return Case(lambda: x[index], ("index",))
    if kind == "pad":
        width = draw(st.one_of(ints(-3, -1), st.just(1.5), st.just([(1, 1)] * (ndim + 1))))
        return Case(lambda: x.pad(width), ("pad", "widths"))
    if kind == "permute":
        axes = draw(st.sampled_from([(0,) * max(ndim, 2), tuple(range(ndim + 1)), (ndim,) + tuple(range(1, ndim)),
                                     ("a",) * ndim]))
        return Case(lambda: x.permute(*axes), ("permute",))
    if kind == "transpose":
        dims = draw(st.one_of(st.just((0, ndim + 1)), st.just((0, None)), st.just((0.5, 0))))
        return Case(lambda: x.transpose(*dims), ("transpose",))
    if kind == "flatten":
        start = draw(st.one_of(ints(ndim, ndim + 2), st.just(1.5)))
        return Case(lambda: x.flatten(start), ("flatten",))
    if kind == "concatenate":
        other = t(shape[:-1] + (shape[-1],) + (2,))  # one more dim
        return Case(lambda: tg.concatenate([x, other], axis=draw(ints(-ndim, ndim - 1))), ("concatenate",))
    parts = draw(st.sampled_from([[], [x, t(shape + (1,))]]))
    return Case(lambda: tg.stack(parts), ("stack",))


@st.composite
def graph_cases(draw):
    shape = draw(shape_of(2, ints(2, 3)))
    x = t(shape, requires_grad=True)
    kind = draw(st.sampled_from(["implicit grad", "grad shape", "grad strings", "no grad", "twice",
                                 "threshold", "threshold ndim", "linear"]))
    if kind == "implicit grad":
        return Case(lambda: (x * 2.0).backward(), ("backward", "scalar"))
    if kind == "grad shape":
        return Case(lambda: (x * 2.0).backward(np.ones(shape[::-1] + (1,))), ("backward", "shape"))
    if kind == "grad strings":
        return Case(lambda: (x * 2.0).backward(np.full(shape, "a")), ("backward",))
    if kind == "no grad":
        return Case(lambda: t(shape).sum().backward(), ("backward", "does not require grad"))
    if kind == "twice":
        def twice():
            y = (x * x).sum()
            y.backward()
            y.backward()
        return Case(twice, ("sum:", "second time", "retain_graph=True"))
    if kind == "threshold":
        c = shape[1]
        return Case(lambda: tg.threshold(x, np.zeros(c + draw(ints(1, 2)))), ("threshold", f"expected {c}"))
    if kind == "threshold ndim":
        return Case(lambda: x[0].threshold(np.zeros(1)), ("threshold", "channel axis"))
    layer = tg.nn.Linear(shape[1] + 1, 2)
    return Case(lambda: layer(x), ("Linear", "in_features"))


@st.composite
def loss_and_optim_cases(draw):
    n, k = draw(ints(1, 4)), draw(ints(2, 4))
    logits = t((n, k), requires_grad=True)
    kind = draw(st.sampled_from(["labels range", "labels float", "labels shape", "logits ndim", "bce range",
                                 "bce shape", "mse shape", "reduction", "lr"]))
    if kind == "labels range":
        bad = draw(st.one_of(ints(k, k + 5), ints(-5, -1)))
        return Case(lambda: F.cross_entropy(logits, np.full(n, bad)), ("cross_entropy", "labels"))
    if kind == "labels float":
        return Case(lambda: F.cross_entropy(logits, np.zeros(n)), ("cross_entropy", "integers"))
    if kind == "labels shape":
        return Case(lambda: F.cross_entropy(logits, np.zeros(n + 1, int)), ("cross_entropy", "shape"))
    if kind == "logits ndim":
        return Case(lambda: F.cross_entropy(logits.reshape(-1), np.zeros(1, int)), ("cross_entropy", "2-D"))
    if kind == "bce range":
        p = t((n,), fill=draw(st.one_of(st.floats(1.01, 1e4), st.floats(-1e4, -0.01))))
        return Case(lambda: F.binary_cross_entropy(p, np.ones(n)), ("binary_cross_entropy", "probabilities"))
    if kind == "bce shape":
        return Case(lambda: F.binary_cross_entropy(t((n,), fill=0.5), np.ones(n + 1)),
                    ("binary_cross_entropy", "shape"))
    if kind == "mse shape":
        return Case(lambda: F.mse_loss(logits, np.ones((n, k + 1))), ("mse_loss", "shape"))
    if kind == "reduction":
        return Case(lambda: F.mse_loss(logits, np.ones((n, k)), reduction="avg"), ("mse_loss", "reduction"))
    opt = draw(st.sampled_from([tg.optim.SGD, tg.optim.Adam]))
    lr = draw(st.sampled_from([-1e-3, -1.0, float("nan"), float("inf"), "0.1", None]))
    return Case(lambda: opt([logits], lr=lr), (opt.__name__, "learning rate"))


BAD_INPUT = st.one_of(conv_cases(), pool_cases(), tensor_cases(), arithmetic_cases(), shape_op_cases(),
                      graph_cases(), loss_and_optim_cases())


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(case=BAD_INPUT)
def test_bad_input_raises_a_clear_error(case):
    with np.errstate(all="ignore"):
        with pytest.raises(ALLOWED) as info:
            case.call()
    message = str(info.value)
    for name in case.names:
        assert name in message, f"{name!r} missing from {type(info.value).__name__}: {message}"


@st.composite
def nan_programs(draw):
    """A small network run on data holding NaN or Inf at a random place."""
    n, c, h = draw(ints(1, 2)), draw(ints(1, 2)), draw(ints(4, 6))
    data = np.ones((n, c, h, h), np.float32)
    data.reshape(-1)[draw(ints(0, data.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    weight = t((2, c, 3, 3), requires_grad=True, fill=0.1)
    pool = draw(st.sampled_from([tg.avg_pool2d, tg.max_pool2d]))

    def run():
        h1 = pool(tg.conv2d(tg.Tensor(data), weight, padding=1).sigmoid(), 2)
        loss = F.cross_entropy(h1.flatten().reshape(n, -1), np.zeros(n, int))
        loss.backward()
        return weight

    return run


@settings(max_examples=max(EXAMPLES // 5, 10))
@given(run=nan_programs())
def test_nan_data_is_not_an_error_but_anomaly_mode_reports_it(run):
    with np.errstate(all="ignore"):
        weight = run()  # no error: the values propagate (sigmoid may map Inf back to 1)
        assert weight.grad.shape == weight.shape
        with tg.detect_anomaly(), pytest.raises(RuntimeError, match=r"detect_anomaly: forward of conv2d produced"):
            run()


@settings(max_examples=max(EXAMPLES // 5, 10))
@given(c=ints(1, 3), f=ints(1, 3), h=ints(3, 7), k=ints(1, 3), stride=ints(1, 2), padding=ints(0, 1),
       pool=st.sampled_from([tg.avg_pool2d, tg.max_pool2d]))
def test_empty_batches_work_like_pytorch(c, f, h, k, stride, padding, pool):
    x = t((0, c, h, h), requires_grad=True)
    weight, bias, thresholds = (t(s, requires_grad=True) for s in ((f, c, k, k), (f,), (f,)))
    y = tg.conv2d(x, weight, bias, stride=stride, padding=padding).threshold(thresholds).sigmoid()
    oh = (h + 2 * padding - k) // stride + 1
    assert y.shape == (0, f, oh, oh)
    z = pool(y, 1 if oh < 2 else 2)
    out = tg.nn.Linear(z[:, :, 0, 0].shape[1], 2)(z[:, :, 0, 0])
    assert out.shape == (0, 2)
    out.sum().backward()
    assert x.grad.shape == x.shape
    for p in (weight, bias, thresholds):
        assert p.grad.shape == p.shape
        assert not p.grad.any()


# ------------------------------------------------------------------ bad files
def _npy(shape, payload=b""):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


def _write_bad_file(draw, path, kind):
    """Create one bad file of `kind` at `path` (an image name or an .npz name)."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dangling link":
        path.symlink_to(path.with_name("missing"))
    elif kind == "symlink loop":
        path.symlink_to(path.with_name("loop"))
        path.with_name("loop").symlink_to(path)
    elif kind == "non-finite tiff":
        values = np.full(draw(shape_of(2, ints(2, 9))), 0.5, np.float32)
        values.reshape(-1)[draw(ints(0, values.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        pytest.importorskip("PIL.Image").fromarray(values).save(path, format="TIFF")
    elif kind == "huge png":
        width = draw(ints(6400, 12000))
        huge_png(path, width, 40_000_000 // width + draw(ints(1, 50)))
    elif kind == "forged npz":  # a header declaring more data than the member holds
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("w.npy", _npy((draw(ints(2**20, 2**40)),), bytes(64)))
    elif kind == "bomb npz":  # 16 MiB of deflated zeros, loaded with max_bytes=1 MiB
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("w.npy", _npy((2**21,), bytes(2**24)))
    else:  # malformed metadata
        meta = {"format": "tinygrad_np.save", "kinds": {"a": "array"}, "version": draw(
            st.one_of(st.text(max_size=3), st.floats(), st.lists(ints(0, 2), max_size=2)))}
        if draw(st.booleans()):
            meta["version"] = 1
            meta["kinds"] = draw(st.one_of(st.lists(st.text(max_size=2), max_size=2), st.dictionaries(
                st.just("a"), st.sampled_from(["int", "bool", "npscalar", "?"]) | st.lists(st.text()), min_size=1)))
        with zipfile.ZipFile(path, "w") as zf:
            serialization._write_entry(zf, "__tinygrad_np_meta__", np.array(json.dumps(meta)))
            serialization._write_entry(zf, "a", np.ones(draw(shape_of(draw(ints(1, 2)))), np.float32) * 2)


ANY_FILE, IMAGE_FILES = ["fifo", "dangling link", "symlink loop"], ["non-finite tiff", "huge png"]
NPZ_FILES = ["forged npz", "bomb npz", "metadata"]


@settings(max_examples=max(EXAMPLES // 5, 10), suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(ANY_FILE + IMAGE_FILES + NPZ_FILES))
def test_bad_files_raise_a_clear_error_or_are_skipped_with_a_warning(data, kind):
    """FIFOs, dangling links, symlink loops, NaN TIFFs, huge PNGs, forged or bomb .npz files and
    malformed metadata: load_image and tg.load raise, without blocking; folders skip the file."""
    Image = pytest.importorskip("PIL.Image")
    if kind == "fifo" and not hasattr(os, "mkfifo"):
        return
    npz = kind in NPZ_FILES or (kind in ANY_FILE and data.draw(st.booleans(), label="npz"))
    cache = data.draw(st.booleans(), label="cache")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        for c, i in ((c, i) for c in "ab" for i in range(2)):
            (root / c).mkdir(parents=True, exist_ok=True)
            Image.new("L", (9, 7), 60 * i).save(root / c / f"{i}.png")
        path = root / "b" / ("x.npz" if npz else data.draw(st.sampled_from(["x.png", "x.tif", "x.JPG"])))
        _write_bad_file(data.draw, path, kind)
        load = (lambda: tg.load(path, max_bytes=2**20)) if npz else (lambda: tgdata.load_image(path))
        with pytest.raises((ValueError, FileNotFoundError)) as info:
            call_unblocking_fifos(load, [path])
        assert path.name in str(info.value) or path.name in str(getattr(info.value, "filename", ""))
        if not npz:
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                ds = call_unblocking_fifos(lambda: tgdata.load_image_folder(root, 8, cache=cache,
                                                                            cache_dir=Path(tmp) / "cache"), [path])
            assert len(ds) == 4
            assert any(path.name in str(w.message) for w in record), [str(w.message) for w in record]
