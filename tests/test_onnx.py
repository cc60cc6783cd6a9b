"""tg.onnx.export: onnxruntime gives our outputs at any batch size; export -> load round trips;
clear errors and no file after a failed export; the `zhang-cnn export` command."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import tinygrad_np as tg  # noqa: E402
from models import train as T  # noqa: E402
from models.cli import main  # noqa: E402
from models.zhang_cnn import ZhangCNN  # noqa: E402
from tinygrad_np import functional as F  # noqa: E402
from tinygrad_np import nn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BATCHES = (1, 3, 8)


def lenet5(seed: int = 0) -> nn.Module:
    """LeNet-5 for 28x28 inputs, as people write it with tg.nn."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120, rng=rng), nn.ReLU(), nn.Linear(120, 84, rng=rng), nn.ReLU(), nn.Linear(84, 10, rng=rng))


MODELS = {"zhang_cnn": (lambda: ZhangCNN(rng=0), (1, 50, 50)), "lenet5": (lenet5, (1, 28, 28))}


def images(n: int, shape, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed + n).standard_normal((n,) + shape).astype(np.float32)


def run_ort(path, *inputs: np.ndarray):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: x for i, x in zip(session.get_inputs(), inputs, strict=False)}
    return session.run(None, feeds)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnxruntime_matches_at_every_batch_size(tmp_path, name):
    build, shape = MODELS[name]
    model = build()
    path = tmp_path / f"{name}.onnx"
    tg.onnx.export(model, images(2, shape), path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == tg.onnx.DEFAULT_OPSET == 17
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    with tg.no_grad():
        for n in BATCHES:
            x = images(n, shape)
            (got,) = run_ort(path, x)
            np.testing.assert_allclose(got, model(x).data, rtol=1e-5, atol=1e-5)


def test_names_of_initializers_inputs_and_outputs(tmp_path):
    model = ZhangCNN(rng=0)
    path = tmp_path / "m.onnx"
    tg.onnx.export(model, images(1, (1, 50, 50)), path, input_names=["image"], output_names=["scores"])
    proto = onnx.load(str(path))
    names = [t.name for t in proto.graph.initializer]
    params = [n for n, _ in model.named_parameters()]
    assert names[:len(params)] == params
    assert [i.name for i in proto.graph.input] == ["image"] and [o.name for o in proto.graph.output] == ["scores"]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["tinygrad_np.parameters"] == str(params).replace("'", '"')


def test_round_trip_is_exact(tmp_path):
    model = ZhangCNN(rng=3)
    path = tmp_path / "m.onnx"
    tg.onnx.export(model, images(2, (1, 50, 50)), path)
    loaded = tg.onnx.load(path)
    assert isinstance(loaded, nn.Module)
    assert list(loaded.state_dict()) == list(model.state_dict())
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values(), strict=False):
        np.testing.assert_array_equal(a, b, err_msg=name)
    x, labels = images(5, (1, 50, 50)), np.array([0, 1, 1, 0, 1])
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    target = np.eye(2, dtype=np.float32)[labels]
    for m in (model, loaded):
        m.zero_grad()
        F.mse_loss(m(x), target).backward()
    for (name, p), q in zip(model.named_parameters(), loaded.parameters(), strict=False):
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-6, atol=1e-9, err_msg=name)


def test_lenet_round_trip_trains_and_draws(tmp_path):
    model = lenet5()
    path = tmp_path / "lenet.onnx"
    tg.onnx.export(model, images(2, (1, 28, 28)), path)
    loaded = tg.onnx.load(path)
    x = images(8, (1, 28, 28))
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    assert [n for n, _ in loaded.named_parameters()] == [n for n, _ in model.named_parameters()]
    dot = tg.viz.to_dot(loaded(x).sum())
    assert "0.weight" in dot and "conv2d" in dot
    labels = np.arange(8) % 10
    opt = tg.optim.SGD(loaded.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(loaded(x), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def _every_op(x: tg.Tensor, w: tg.Tensor, t: tg.Tensor) -> tg.Tensor:
    """A function touching every exported primitive (x: (N, 2, 6, 6) in (0.1, 1))."""
    y = tg.conv2d(x, w, stride=(1, 2), padding=1)                       # (N, 3, 6, 3)
    y = tg.threshold(y, t).sigmoid() * 0.5 + 0.25                      # in (0.25, 0.75)
    z = (y - 0.1) / (y + 1.0) + (-y) ** 2 + y ** y + y.exp() + y.log() + y.sqrt() + (y - 0.5).abs()
    z = z.tanh().relu().clip(0.05, 0.9).astype(np.float64).astype(np.float32)
    z = z.pad(((0, 0), (0, 1), (1, 0), (0, 1))).avg_pool2d(2, 1)        # (N, 4, 6, 3)
    z = tg.concatenate([z.max_pool2d(2, 1), z[:, 1:3, :0:-1, -2:]], 1)  # (N, 6, 5, 2)
    z = z[:, np.array([0, 2, 5])] + z[..., -1][:, :3, :, None] + z[:, None, 0]
    s = z.sum((2, 3)) + z.amax(2, keepdim=True).mean((2, 3))            # (N, 3)
    s = s @ tg.Tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2))
    p = s.softmax(1) * 0.5 + s.log_softmax(1).exp() * 0.25 + 0.1       # probabilities in (0.1, 0.85)
    target = p.detach() * 0.5 + 0.2                                    # detach: same array, exported as p
    bce = F.binary_cross_entropy(p, target, reduction="none")
    return bce + F.softplus(s) + s.transpose(0, 1).reshape(2, -1).transpose()[:, :1]


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
def test_every_primitive_exports_and_matches_onnxruntime(tmp_path, opset):
    rng = np.random.default_rng(0)
    w = tg.Tensor(rng.standard_normal((3, 2, 3, 3)) * 0.3, requires_grad=True, name="w")
    t = tg.Tensor(rng.standard_normal(3) * 0.1, requires_grad=True, name="t")
    path = tmp_path / "ops.onnx"
    x2 = rng.uniform(0.1, 1, (2, 2, 6, 6)).astype(np.float32)
    tg.onnx.export(lambda x: _every_op(x, w, t), x2, path, opset=opset)
    loaded = tg.onnx.load(path)
    assert sorted(n for n, _ in loaded.named_parameters()) == ["t", "w"]
    for n in (2, 5):
        x = rng.uniform(0.1, 1, (n, 2, 6, 6)).astype(np.float32)
        ours = _every_op(tg.Tensor(x), w, t).data
        (got,) = run_ort(path, x)
        np.testing.assert_allclose(got, ours, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(loaded(x).data, ours, rtol=1e-6, atol=1e-6)


def test_several_inputs_and_outputs(tmp_path):
    w = tg.Tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2), requires_grad=True, name="w")

    def f(a, b):
        return a @ w + b.sum(1, keepdims=True), a.relu(), b
    path = tmp_path / "multi.onnx"
    tg.onnx.export(f, (images(2, (3,)), images(2, (5,))), path, input_names=["a", "b"], output_names=["y", "z", "c"])
    loaded = tg.onnx.load(path)
    assert loaded.input_names == ["a", "b"] and loaded.output_names == ["y", "z", "c"]
    a, b = images(4, (3,)), images(4, (5,), seed=9)
    want = [t.data for t in f(tg.Tensor(a), tg.Tensor(b))]
    for got in (run_ort(path, a, b), [t.data for t in loaded(a, b)]):
        for g, x in zip(got, want, strict=False):
            np.testing.assert_allclose(g, x, rtol=1e-6)


def test_constants_that_depend_on_the_batch_size_are_refused(tmp_path):
    def loss(x):
        return F.mse_loss(x, np.zeros(x.shape, np.float32))  # the zeros and the mean's 1/N follow N
    with pytest.raises(ValueError, match="depend.* on the batch size.*dynamic_batch=False"):
        tg.onnx.export(loss, images(4, (3,)), tmp_path / "loss.onnx")
    assert os.listdir(tmp_path) == []
    tg.onnx.export(loss, images(4, (3,)), tmp_path / "loss.onnx", dynamic_batch=False)
    x = images(4, (3,))
    np.testing.assert_allclose(run_ort(tmp_path / "loss.onnx", x)[0], (x ** 2).mean(), rtol=1e-6)


def test_reshape_of_the_batch_axis(tmp_path):
    w = tg.Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x3 = images(3, (4, 3))
    tg.onnx.export(lambda x: (x @ w).reshape(-1), x3, tmp_path / "flat.onnx")  # (N*4*2,): -1 leads
    x5 = images(5, (4, 3))
    np.testing.assert_allclose(run_ort(tmp_path / "flat.onnx", x5)[0], (tg.Tensor(x5) @ w).reshape(-1).data,
                               rtol=1e-6)
    mover = lambda x: x.reshape(4, -1)  # noqa: E731  (N, 4, 3) -> (4, 3N): written [4, -1]
    tg.onnx.export(mover, x3, tmp_path / "moved.onnx")
    np.testing.assert_array_equal(run_ort(tmp_path / "moved.onnx", x5)[0], x5.reshape(4, -1))

    def outer(x):  # (12N, 12N) reshaped to itself: two axes follow N, one Reshape cannot say so
        flat = x.reshape(-1, 1)
        return (flat @ flat.T).reshape(flat.shape[0], -1)
    with pytest.raises(ValueError, match=r"axes \[0, 1\] all follow the batch size.*dynamic_batch=False"):
        tg.onnx.export(outer, x3, tmp_path / "outer.onnx")
    assert not (tmp_path / "outer.onnx").exists()
    tg.onnx.export(outer, x3, tmp_path / "outer.onnx", dynamic_batch=False)
    np.testing.assert_allclose(run_ort(tmp_path / "outer.onnx", x3)[0], outer(tg.Tensor(x3)).data, rtol=1e-6)


class Square(tg.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return 2 * a * grad


def test_unknown_op_names_it_and_leaves_no_file(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(0)))
    path = tmp_path / "model.onnx"
    with pytest.raises(ValueError, match=r"op 'square' \(Function Square\) has no ONNX mapping"):
        tg.onnx.export(lambda x: Square.apply(model(x)), images(2, (3,)), path)
    assert os.listdir(tmp_path) == []
    path.write_bytes(b"previous")
    with pytest.raises(ValueError, match="square"):
        tg.onnx.export(lambda x: Square.apply(model(x)), images(2, (3,)), path)
    assert path.read_bytes() == b"previous" and os.listdir(tmp_path) == ["model.onnx"]


def test_bad_arguments(tmp_path):
    model = lenet5()
    x = images(1, (1, 28, 28))
    with pytest.raises(ValueError, match="opset must be an int from 13"):
        tg.onnx.export(model, x, tmp_path / "m.onnx", opset=7)
    with pytest.raises(ValueError, match="input_names must be 1 distinct"):
        tg.onnx.export(model, x, tmp_path / "m.onnx", input_names=["a", "b"])
    with pytest.raises(TypeError, match="must return a Tensor"):
        tg.onnx.export(lambda x: {"out": x}, x, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []
    tg.onnx.export(model, x, tmp_path / "m13.onnx", opset=13)
    np.testing.assert_allclose(run_ort(tmp_path / "m13.onnx", x)[0], model(x).data, rtol=1e-5, atol=1e-5)


def test_load_errors_name_the_path_and_the_op(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        tg.onnx.load(tmp_path / "nope.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(ValueError, match="junk.onnx.*ONNX model"):
        tg.onnx.load(junk)
    good = tmp_path / "good.onnx"
    tg.onnx.export(lenet5(), images(1, (1, 28, 28)), good)
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ValueError, match="cut.onnx"):
        tg.onnx.load(cut)
    h = onnx.helper
    x = h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])
    y = h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 3])
    graph = h.make_graph([h.make_node("Hardmax", ["x"], ["y"])], "g", [x], [y])
    odd = tmp_path / "odd.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), str(odd))
    with pytest.raises(ValueError, match=r"odd.onnx.*unsupported ONNX op Hardmax"):
        tg.onnx.load(odd)
    graph = h.make_graph([h.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2])], "g",
                         [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 1, 5, 5])],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 1, 2, 2])])
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), str(odd))
    with pytest.raises(ValueError, match=r"odd.onnx.*MaxPool.*dilations"):
        tg.onnx.load(odd)


def test_missing_onnx_package_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad_np\[onnx\]"'):
        tg.onnx.export(lenet5(), images(1, (1, 28, 28)), tmp_path / "m.onnx")
    with pytest.raises(ImportError, match=r'pip install "tinygrad_np\[onnx\]"'):
        tg.onnx.load(tmp_path / "m.onnx")


def test_importing_tinygrad_np_does_not_import_onnx():
    code = "import sys, tinygrad_np as tg; assert callable(tg.onnx.export); print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_export(tmp_path, capsys):
    model = ZhangCNN(rng=5)
    ckpt = tmp_path / "ck.npz"
    opt = tg.optim.SGD(model.parameters(), lr=0.01)
    T.save_checkpoint(ckpt, model, opt, T.TrainConfig(), 1, {k: [0.5] for k in T.HISTORY_KEYS}, ["cat", "dog"],
                      "fingerprint")
    out = tmp_path / "model.onnx"
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out)]) == 0
    assert "model.onnx" in capsys.readouterr().out
    x = ZhangCNN.preprocess(images(3, (1, 50, 50)))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (got,) = session.run(["scores"], {"image": x})
    np.testing.assert_allclose(got, model(x).data, rtol=1e-5, atol=1e-5)
    assert main(["export", "--checkpoint", str(tmp_path / "none.npz"), "--out", str(out)]) == 2
    assert "none.npz" in capsys.readouterr().err
