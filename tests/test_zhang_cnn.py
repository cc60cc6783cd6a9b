"""ZhangCNN: shapes, parameter count, seeding, gradcheck of the whole model, checkpoints, resume."""
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinygrad_np as tg
from models import train as T
from models.zhang_cnn import ZhangCNN, format_summary
from tinygrad_np.testing import gradcheck

ROOT = Path(__file__).resolve().parent.parent


def _images(n, seed=0, dtype=np.float32):
    return ZhangCNN.preprocess(np.random.default_rng(seed).random((n, 1, 50, 50)).astype(dtype))


def test_summary_shapes_and_parameter_counts(capsys):
    rows = ZhangCNN(rng=0).summary()
    table = {r.name: (r.output_shape, r.num_params) for r in rows}
    assert table["conv1"] == ((-1, 6, 40, 40), 6 * 11 * 11)
    assert table["thr1"] == ((-1, 6, 40, 40), 6)
    assert table["pool1"] == ((-1, 6, 20, 20), 0)
    assert table["conv2"] == ((-1, 12, 16, 16), 12 * 6 * 5 * 5)
    assert table["thr2"] == ((-1, 12, 16, 16), 12)
    assert table["pool2"] == ((-1, 12, 8, 8), 0)
    assert table["vector"] == ((-1, 768), 0)
    assert table["fc"] == ((-1, 2), 768 * 2 + 2)
    assert sum(r.num_params for r in rows) == 4082 == ZhangCNN(rng=0).num_parameters()
    printed = capsys.readouterr().out
    assert printed.strip() == format_summary(rows).strip()
    assert "4,082" in printed


def test_parameter_names_and_shapes():
    shapes = {k: v.shape for k, v in ZhangCNN(rng=0).state_dict().items()}
    assert shapes == {"conv1.weight": (6, 1, 11, 11), "thr1.value": (6,), "conv2.weight": (12, 6, 5, 5),
                      "thr2.value": (12,), "fc.weight": (2, 768), "fc.bias": (2,)}


def test_seeded_initialisation():
    a, b, c = ZhangCNN(rng=7).state_dict(), ZhangCNN(rng=7).state_dict(), ZhangCNN(rng=8).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["conv1.weight"], c["conv1.weight"])
    gen = ZhangCNN(rng=np.random.default_rng(7)).state_dict()
    np.testing.assert_array_equal(gen["fc.weight"], a["fc.weight"])


def test_forward_output_range_and_features_order():
    model = ZhangCNN(rng=0)
    f = model.forward_features(_images(3))
    assert list(f) == ["input", "conv1", "thr1", "sigmoid1", "pool1", "conv2", "thr2", "sigmoid2", "pool2",
                       "vector", "logits", "output"]
    out = model(_images(3)).data
    assert out.shape == (3, 2)
    assert out.dtype == np.float32
    assert ((out > 0) & (out < 1)).all()
    np.testing.assert_allclose(f["output"].data, out, rtol=1e-6)


def test_forward_hook_sees_conv1_maps():
    model = ZhangCNN(rng=0)
    seen = []
    handle = model.conv1.register_forward_hook(lambda mod, inputs, output: seen.append(output.data.copy()))
    f = model.forward_features(_images(2))
    handle.remove()
    model(_images(2))
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], f["conv1"].data)


def test_preprocess_standardises_each_image():
    raw = np.random.default_rng(0).random((4, 1, 50, 50)) * np.array([1, 5, 0.1, 2]).reshape(4, 1, 1, 1)
    x = ZhangCNN.preprocess(raw)
    np.testing.assert_allclose(x.mean(axis=(1, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(x.std(axis=(1, 2, 3)), 1, rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 50, 50), (2, 1, 49, 50), (1, 50, 50)])
def test_wrong_input_shape_is_a_clear_error(shape):
    with pytest.raises(ValueError, match=r"\(N, 1, 50, 50\).*" + str(shape).replace("(", r"\(").replace(")", r"\)")):
        ZhangCNN(rng=0)(np.zeros(shape, dtype=np.float32))
    with pytest.raises(ValueError, match="preprocess"):
        ZhangCNN.preprocess(np.zeros(shape))


def test_loss_checks_labels_and_kind():
    model = ZhangCNN(rng=0)
    with pytest.raises(ValueError, match="0s and 1s"):
        model.loss(_images(2), np.array([0, 2]))
    with pytest.raises(ValueError, match=r"2 images but labels have shape \(3,\)"):
        model.loss(_images(2), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="kind must be one of"):
        model.loss(_images(2), np.array([0, 1]), "hinge")


def test_mse_loss_is_half_sum_of_squares_over_batch():
    model = ZhangCNN(rng=0)
    labels = np.array([0, 1, 1])
    loss, out = model.loss(_images(3), labels)
    target = np.eye(2)[labels]
    np.testing.assert_allclose(loss.item(), 0.5 * ((out.data - target) ** 2).sum() / 3, rtol=1e-6)


@contextlib.contextmanager
def _bound(model, tensors):
    """Let the model's layers read `tensors` in place of their Parameters (same order as parameters())."""
    saved = []
    for (name, _), t in zip(model.named_parameters(), tensors, strict=False):
        module_name, attr = name.rsplit(".", 1)
        module = getattr(model, module_name)
        saved.append((module, attr, module.__dict__[attr]))
        module.__dict__[attr] = t
    try:
        yield
    finally:
        for module, attr, p in saved:
            module.__dict__[attr] = p


def test_gradcheck_whole_model_float64():
    """Central differences on every one of the 4,082 parameters, batch of 2, default (mse) loss.
    (The cross-entropy loss is compared with PyTorch in test_torch_equivalence.py.)"""
    model = ZhangCNN(rng=1, dtype=np.float64)
    model.thr1.value.data[...] = np.linspace(-0.5, 0.5, 6)
    model.thr2.value.data[...] = np.linspace(0.4, -0.4, 12)
    x, labels = _images(2, seed=1, dtype=np.float64), np.array([0, 1])

    def loss_of(*params):
        with _bound(model, params):
            return model.loss(x, labels)[0]

    assert gradcheck(loss_of, *model.parameters(), eps=1e-6, atol=1e-9, rtol=1e-6)


def test_gradcheck_wrapper_sees_a_wrong_gradient():
    """The wrapper above really routes gradients through the checked tensors: corrupt one and it fails."""
    model = ZhangCNN(rng=1, dtype=np.float64)
    x, labels = _images(2, seed=1, dtype=np.float64), np.array([0, 1])
    params = model.parameters()

    def wrong(*ps):
        with _bound(model, ps):
            loss = model.loss(x, labels)[0]
        return loss + (ps[0] - ps[0].detach()).sum() * 1e-3  # same value, gradient +1e-3 on conv1.weight
    with pytest.raises(AssertionError, match=r"input 0 \('conv1.weight'\)"):
        gradcheck(wrong, *params, atol=1e-9, rtol=1e-6)


def test_state_dict_save_load_roundtrip(tmp_path):
    model = ZhangCNN(rng=3)
    tg.save(model.state_dict(), tmp_path / "w.npz")
    other = ZhangCNN(rng=4)
    other.load_state_dict(tg.load(tmp_path / "w.npz"))
    x = _images(2)
    np.testing.assert_array_equal(model(x).data, other(x).data)


def _checkpoint(path, model, epoch=1):
    cfg = T.TrainConfig(epochs=3)
    opt = T.make_optimizer(cfg, model.parameters())
    hist = {k: [0.5] * epoch for k in T.HISTORY_KEYS}
    T.save_checkpoint(path, model, opt, cfg, epoch, hist, ["face", "not_face"], "fp")


def test_checkpoint_roundtrip_and_mis_shaped_weights(tmp_path):
    model = ZhangCNN(rng=3)
    _checkpoint(tmp_path / "c.npz", model)
    ckpt = T.load_checkpoint(tmp_path / "c.npz")
    assert ckpt["epoch"] == 1
    assert ckpt["config"] == T.TrainConfig(epochs=3)
    loaded = T.model_from_checkpoint(ckpt)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[k], v)
    ckpt["model"]["conv2.weight"] = np.zeros((12, 6, 3, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"conv2.weight: expected \(12, 6, 5, 5\), got \(12, 6, 3, 3\)"):
        T.model_from_checkpoint(ckpt)
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        T.load_checkpoint(tmp_path / "nope.npz")
    tg.save({"weights": np.zeros(3)}, tmp_path / "other.npz")
    with pytest.raises(ValueError, match="not a zhang-cnn checkpoint"):
        T.load_checkpoint(tmp_path / "other.npz")


def test_failed_save_leaves_previous_checkpoint(tmp_path, monkeypatch):
    model = ZhangCNN(rng=3)
    _checkpoint(tmp_path / "c.npz", model, epoch=1)

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")
    monkeypatch.setattr(np.lib.format, "write_array", disk_full)
    model.fc.bias.data[...] = 9.0
    with pytest.raises(OSError, match="No space"):
        _checkpoint(tmp_path / "c.npz", model, epoch=2)
    monkeypatch.undo()
    ckpt = T.load_checkpoint(tmp_path / "c.npz")
    assert ckpt["epoch"] == 1
    assert not (ckpt["model"]["fc.bias"] == 9.0).any()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


KILL_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from models import train as T
    from models.zhang_cnn import ZhangCNN
    path = sys.argv[1]
    model = ZhangCNN(rng=0)
    cfg = T.TrainConfig(epochs=3)
    opt = T.make_optimizer(cfg, model.parameters())
    hist = {k: [0.5] for k in T.HISTORY_KEYS}
    T.save_checkpoint(path, model, opt, cfg, 1, hist, ["a", "b"], "fp")
    print("saved 1", flush=True)
    real_fsync = os.fsync
    def slow_fsync(fd):  # the temporary file is fully written: stop here until killed
        print("in save", flush=True)
        time.sleep(60)
    os.fsync = slow_fsync
    model.fc.bias.data[...] = 9.0
    T.save_checkpoint(path, model, opt, cfg, 2, hist, ["a", "b"], "fp")
    print("saved 2", flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_save_leaves_previous_checkpoint_loadable(tmp_path):
    path = tmp_path / "ckpt.npz"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "saved 1"
        assert proc.stdout.readline().strip() == "in save"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "ckpt.npz"]
    assert leftovers
    assert all(n.startswith("ckpt.npz.tmp") for n in leftovers)
    ckpt = T.load_checkpoint(path)
    assert ckpt["epoch"] == 1
    model = T.model_from_checkpoint(ckpt)
    np.testing.assert_array_equal(model.fc.bias.data, ZhangCNN(rng=0).fc.bias.data)


def test_resume_ends_with_the_same_weights(tmp_path):
    cfg = T.TrainConfig(epochs=3, batch_size=32, seed=5)
    full, hist_full = T.train(cfg, tmp_path / "full.npz", progress=False, log=lambda s: None)
    T.train(dataclasses.replace(cfg, epochs=2), tmp_path / "part.npz", progress=False, log=lambda s: None)
    ckpt = T.load_checkpoint(tmp_path / "part.npz")
    assert ckpt["epoch"] == 2
    resumed, hist_resumed = T.train(cfg, tmp_path / "part.npz", resume=ckpt, progress=False, log=lambda s: None)
    for name, value in full.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[name], value, err_msg=name)
    assert hist_resumed == hist_full
    a, b = T.load_checkpoint(tmp_path / "full.npz"), T.load_checkpoint(tmp_path / "part.npz")
    for i, state in a["optimizer"]["state"].items():
        for k, v in state.items():
            np.testing.assert_array_equal(b["optimizer"]["state"][i][k], v)
    # a different seed really gives different weights (so the equality above means something)
    other, _ = T.train(dataclasses.replace(cfg, epochs=1, seed=6), tmp_path / "o.npz", progress=False,
                       log=lambda s: None)
    assert not np.array_equal(other.state_dict()["fc.weight"], full.state_dict()["fc.weight"])


def test_training_lowers_the_loss_on_builtin_faces(tmp_path):
    _, hist = T.train(T.TrainConfig(epochs=4), tmp_path / "c.npz", progress=False, log=lambda s: None)
    assert hist["train_loss"][-1] < 0.8 * hist["train_loss"][0]
    assert hist["val_acc"][-1] > 0.7


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        T.TrainConfig(batch_size=0).validate()
    with pytest.raises(ValueError, match="optimizer must be one of"):
        T.TrainConfig(optimizer="rmsprop").validate()
    with pytest.raises(ValueError, match="val_fraction"):
        T.TrainConfig(val_fraction=1.0).validate()


def test_tutorial_python_blocks_run(tmp_path, monkeypatch, capsys):
    import re
    text = (ROOT / "docs" / "tutorial.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    exec(compile("\n".join(blocks), "docs/tutorial.md", "exec"), {})
    out = capsys.readouterr().out
    assert "4,082" in out
    assert "(3, 2)" in out
    assert "(3, 12, 8, 8)" in out


def test_conv_backprop_page_quotes_the_source_and_its_check_runs():
    import re
    text = (ROOT / "docs" / "conv_backprop.md").read_text()
    quotes = re.findall(r"<!-- code: (\S+) -->\n```python\n(.*?)```", text, flags=re.S)
    assert len(quotes) >= 8
    for path, block in quotes:
        # compared without indentation and blank lines
        source = [line.strip() for line in (ROOT / path).read_text().splitlines() if line.strip()]
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        start = next((k for k in range(len(source)) if source[k:k + len(lines)] == lines), None)
        assert start is not None, f"docs/conv_backprop.md quotes lines not found together in {path}:\n{block}"
    checks = [b for b in re.findall(r"(<!-- code: \S+ -->\n)?```python\n(.*?)```", text, flags=re.S) if not b[0]]
    assert len(checks) == 1
    exec(compile(checks[0][1], "docs/conv_backprop.md", "exec"), {})
