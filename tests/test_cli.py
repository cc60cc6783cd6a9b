"""The zhang-cnn command line, run in-process via main([...]) on tiny folders of real images."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
skimage_data = pytest.importorskip("skimage.data")
from PIL import Image  # noqa: E402

import tinygrad_np as tg  # noqa: E402
from models.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PER_CLASS = 10


def _lfw_pictures():
    """10 faces and 10 non-faces from scikit-image's lfw_subset as 8-bit grayscale arrays (25x25)."""
    raw = np.asarray(skimage_data.lfw_subset())
    to8 = lambda a: (np.clip(a, 0, 1) * 255).astype(np.uint8)  # noqa: E731
    return [to8(a) for a in raw[:PER_CLASS]], [to8(a) for a in raw[100:100 + PER_CLASS]]


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_NP_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def subfolder_data(tmp_path):
    """root/face/*.jpg and root/background/*.png"""
    faces, others = _lfw_pictures()
    root = tmp_path / "subfolders"
    for name, pics, ext in (("face", faces, "jpg"), ("background", others, "png")):
        (root / name).mkdir(parents=True)
        for i, a in enumerate(pics):
            Image.fromarray(a).resize((60, 60)).save(root / name / f"{name}_{i}.{ext}")
    return root


@pytest.fixture
def kaggle_data(tmp_path):
    """root/train/cat.0.jpg ... dog.9.jpg (faces play 'cat', the rest 'dog'), RGB like the Kaggle set."""
    faces, others = _lfw_pictures()
    root = tmp_path / "kaggle"
    (root / "train").mkdir(parents=True)
    for name, pics in (("cat", faces), ("dog", others)):
        for i, a in enumerate(pics):
            Image.fromarray(a).convert("RGB").resize((64, 48)).save(root / "train" / f"{name}.{i}.jpg")
    return root


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _train(capsys, data, ckpt, *extra):
    code, out, err = run(capsys, "train", "--data", data, "--epochs", 1, "--batch-size", 4,
                         "--out", ckpt, "--no-progress", *extra)
    assert code == 0, err
    return out


def test_subfolder_layout_train_evaluate_predict_features_graph(capsys, tmp_path, subfolder_data):
    ckpt = tmp_path / "run" / "c.npz"
    out = _train(capsys, subfolder_data, ckpt)
    assert "16 training and 4 validation images" in out
    assert "['background', 'face']" in out
    assert ckpt.is_file()
    assert (tmp_path / "run" / "c_curves.png").is_file()
    with Image.open(tmp_path / "run" / "c_curves.png") as im:
        assert im.size[0] > 100

    code, out, _ = run(capsys, "evaluate", "--checkpoint", ckpt, "--json")
    result = json.loads(out)
    assert code == 0
    assert result["n"] == 4
    assert 0 <= result["accuracy"] <= 1
    assert result["loss"] > 0
    assert np.array(result["confusion_matrix"]).sum() == 4
    code, out, _ = run(capsys, "evaluate", "--checkpoint", ckpt, "--data", subfolder_data, "--json")
    assert json.loads(out)["n"] == 2 * PER_CLASS
    code, out, _ = run(capsys, "evaluate", "--checkpoint", ckpt)
    assert code == 0
    assert "accuracy" in out
    assert "confusion matrix" in out

    images = [subfolder_data / "face" / "face_0.jpg", subfolder_data / "background" / "background_3.png"]
    code, out, _ = run(capsys, "predict", "--checkpoint", ckpt, *images)
    lines = out.strip().splitlines()
    assert code == 0
    assert len(lines) == 2
    assert lines[0].startswith(str(images[0]))
    assert "background" in lines[0]
    assert "face" in lines[0]
    code, out, _ = run(capsys, "predict", "--checkpoint", ckpt, "--json", *images)
    preds = json.loads(out)
    assert [p["label"] in ("background", "face") for p in preds] == [True, True]
    assert all(len(p["outputs"]) == 2 and all(0 < v < 1 for v in p["outputs"]) for p in preds)

    code, out, _ = run(capsys, "features", "--checkpoint", ckpt, "--out", tmp_path / "feat",
                       "--image", images[0])
    pngs = sorted(p.name for p in (tmp_path / "feat").glob("*.png"))
    assert code == 0
    assert pngs == ["0_input.png", "1_conv1_threshold_sigmoid.png", "2_pool1.png",
                                  "3_conv2_threshold_sigmoid.png", "4_pool2.png", "5_conv1_filters.png",
                                  "6_conv2_filters.png"]
    for p in pngs:
        with Image.open(tmp_path / "feat" / p) as im:
            im.verify()


def test_features_default_image_is_the_builtin_cat(capsys, tmp_path, subfolder_data):
    ckpt = tmp_path / "c.npz"
    _train(capsys, subfolder_data, ckpt)
    code, out, _ = run(capsys, "features", "--checkpoint", ckpt, "--out", tmp_path / "feat")
    assert code == 0
    assert "wrote 7 pictures" in out


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
def test_graph_svg(capsys, tmp_path, subfolder_data):
    ckpt = tmp_path / "c.npz"
    _train(capsys, subfolder_data, ckpt)
    code, out, _ = run(capsys, "graph", "--checkpoint", ckpt, "--out", tmp_path / "g.svg")
    svg = (tmp_path / "g.svg").read_text()
    assert code == 0
    assert "<svg" in svg
    assert "conv2d" in svg
    assert "conv1.weight" in svg
    assert (tmp_path / "g.dot").is_file()


def test_kaggle_layout_trains_and_evaluates(capsys, tmp_path, kaggle_data):
    ckpt = tmp_path / "k.npz"
    out = _train(capsys, kaggle_data, ckpt, "--optimizer", "sgd", "--lr", "0.05", "--loss", "ce")
    assert "['cat', 'dog']" in out
    code, out, _ = run(capsys, "evaluate", "--checkpoint", ckpt, "--data", kaggle_data, "--json")
    assert code == 0
    assert json.loads(out)["n"] == 2 * PER_CLASS
    assert json.loads(out)["loss_kind"] == "ce"
    code, out, _ = run(capsys, "predict", "--checkpoint", ckpt, kaggle_data / "train" / "dog.4.jpg")
    assert code == 0
    assert ("cat" in out)
    assert ("dog" in out)


def test_resume_through_the_cli_matches_an_uninterrupted_run(capsys, tmp_path, subfolder_data):
    full, part = tmp_path / "full.npz", tmp_path / "part.npz"
    common = ["--data", subfolder_data, "--batch-size", 4, "--seed", 3, "--no-progress"]
    assert run(capsys, "train", *common, "--epochs", 2, "--out", full)[0] == 0
    assert run(capsys, "train", *common, "--epochs", 1, "--out", part)[0] == 0
    code, out, _ = run(capsys, "train", "--resume", part, "--epochs", 2, "--no-progress")
    assert code == 0
    assert "resuming" in out
    assert "epoch   2/2" in out
    a, b = tg.load(full), tg.load(part)
    assert b["epoch"] == 2
    for name, value in a["model"].items():
        np.testing.assert_array_equal(b["model"][name], value, err_msg=name)
    code, out, _ = run(capsys, "train", "--resume", part, "--epochs", 2, "--no-progress")
    assert code == 0
    assert "nothing to do" in out


def test_unreadable_image_in_predict(capsys, tmp_path, subfolder_data):
    ckpt = tmp_path / "c.npz"
    _train(capsys, subfolder_data, ckpt)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    good = subfolder_data / "face" / "face_1.jpg"
    code, out, err = run(capsys, "predict", "--checkpoint", ckpt, good, broken, tmp_path / "missing.png")
    assert code == 2
    assert str(good) in out
    assert "broken.jpg" not in out
    assert "cannot read image" in err
    assert "broken.jpg" in err
    assert "missing.png" in err
    assert "does not exist" in err


def test_checkpoint_errors(capsys, tmp_path, subfolder_data):
    code, _, err = run(capsys, "evaluate", "--checkpoint", tmp_path / "nope.npz")
    assert code == 2
    assert "checkpoint" in err
    assert "nope.npz" in err
    assert "does not exist" in err
    (tmp_path / "text.npz").write_text("not a zip")
    code, _, err = run(capsys, "predict", "--checkpoint", tmp_path / "text.npz", "x.jpg")
    assert code == 2
    assert "text.npz" in err

    ckpt = tmp_path / "c.npz"
    _train(capsys, subfolder_data, ckpt)
    state = tg.load(ckpt)
    del state["model"]["thr2.value"]
    tg.save(state, tmp_path / "bad.npz")
    code, _, err = run(capsys, "features", "--checkpoint", tmp_path / "bad.npz", "--out", tmp_path / "f")
    assert code == 2
    assert "missing keys: thr2.value" in err
    state["model"]["fc.weight"] = np.zeros((2, 700), dtype=np.float32)  # refused from the file's headers
    tg.save(state, tmp_path / "bad.npz")
    code, _, err = run(capsys, "features", "--checkpoint", tmp_path / "bad.npz", "--out", tmp_path / "f")
    assert code == 2
    assert "'model/fc.weight' has shape (2, 700), expected (2, 768)" in err


def test_data_errors(capsys, tmp_path, subfolder_data):
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "train", "--data", tmp_path / "empty", "--epochs", 1, "--out", tmp_path / "c.npz")
    assert code == 2
    assert "no images found" in err
    assert "empty" in err

    single = tmp_path / "single"
    shutil.copytree(subfolder_data / "face", single / "face")
    code, _, err = run(capsys, "train", "--data", single, "--epochs", 1, "--out", tmp_path / "c.npz")
    assert code == 2
    assert "only one class" in err

    code, _, err = run(capsys, "train", "--data", tmp_path / "absent", "--out", tmp_path / "c.npz")
    assert code == 2
    assert "absent" in err
    assert "does not exist" in err
    assert not (tmp_path / "c.npz").exists()


def test_unreadable_file_in_folder_is_skipped_with_a_warning(capsys, tmp_path, subfolder_data):
    (subfolder_data / "face" / "corrupt.jpg").write_bytes(b"garbage")
    code, out, err = run(capsys, "train", "--data", subfolder_data, "--epochs", 1, "--batch-size", 4,
                         "--out", tmp_path / "c.npz", "--no-progress")
    assert code == 0
    assert "corrupt.jpg" in err
    assert "warning" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--batch-size", "0"], "--batch-size: must be a positive integer, got 0"),
    (["train", "--epochs", "-2"], "--epochs: must be a positive integer, got -2"),
    (["train", "--lr", "nan"], "--lr: must be a finite number > 0"),
    (["train", "--val-fraction", "1.5"], "--val-fraction: must be a number in (0, 1)"),
    (["train", "--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
    (["predict", "--checkpoint", "c.npz"], "IMAGE"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err


def test_resume_refuses_a_changed_configuration(capsys, tmp_path, subfolder_data):
    ckpt = tmp_path / "c.npz"
    _train(capsys, subfolder_data, ckpt)
    code, _, err = run(capsys, "train", "--resume", ckpt, "--epochs", 2, "--lr", 0.5)
    assert code == 2
    assert "--lr 0.5 differs from the checkpoint's 0.003" in err


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "models.cli", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    for command in ("train", "evaluate", "predict", "features", "graph"):
        assert command in proc.stdout
