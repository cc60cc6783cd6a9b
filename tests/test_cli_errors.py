"""zhang-cnn on bad checkpoints, bad output paths and failing disks: one line on stderr, exit code
2, no traceback, no work done before the error, and nothing reported that is not true."""
import errno
import io
import json
import os
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
pytest.importorskip("skimage.data")
from PIL import Image  # noqa: E402

import tinygrad_np as tg  # noqa: E402
from models import train as T  # noqa: E402
from models.cli import main  # noqa: E402
from tinygrad_np import serialization  # noqa: E402


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_NP_CACHE", str(tmp_path / "cache"))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def one_error(err):
    """The single line of a failed run's stderr."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("zhang-cnn: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A checkpoint of one epoch on the built-in faces."""
    path = tmp_path_factory.mktemp("run") / "c.npz"
    assert main(["train", "--epochs", "1", "--out", str(path), "--no-progress"]) == 0
    return path


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(np.linspace(0, 255, 60 * 60).reshape(60, 60).astype(np.uint8)).save(path)
    return path


def edited(trained, path, edit):
    state = tg.load(trained)
    edit(state)
    tg.save(state, path)
    return path


# ------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize(("where", "bad"), [("model", np.nan), ("model", -np.inf), ("optimizer", np.nan)])
def test_non_finite_weights_are_refused_naming_file_and_parameter(capsys, tmp_path, trained, image, where, bad):
    def poison(state):
        if where == "model":
            state["model"]["fc.weight"][1, 7] = bad
        else:
            state["optimizer"]["state"]["3"]["exp_avg"][0] = bad

    path = edited(trained, tmp_path / "diverged.npz", poison)
    key = "'fc.weight'" if where == "model" else "'state/3/exp_avg'"
    for argv in (["predict", "--checkpoint", path, image], ["predict", "--checkpoint", path, "--json", image],
                 ["evaluate", "--checkpoint", path, "--json"], ["features", "--checkpoint", path, "--out", tmp_path / "f"],
                 ["train", "--resume", path, "--epochs", 2, "--no-progress"]):
        code, out, err = run(capsys, *argv)
        assert code == 2, argv
        assert out == ""
        message = one_error(err)
        assert str(path) in message
        assert f"{key} holds 1 non-finite value(s)" in message


def _strict(token):
    raise ValueError(f"not JSON: {token}")


def test_json_output_is_strict_json_with_null_for_non_finite_numbers(capsys, trained, monkeypatch):
    real = T.evaluate_arrays

    def diverged(*args, **kwargs):
        result = real(*args, **kwargs)
        result["loss"] = float("inf")
        return result

    monkeypatch.setattr(T, "evaluate_arrays", diverged)
    code, out, _ = run(capsys, "evaluate", "--checkpoint", trained, "--json")
    assert code == 0
    result = json.loads(out, parse_constant=_strict)
    assert result["loss"] is None
    assert 0 <= result["accuracy"] <= 1


def _header(shape, dtype="<f4"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _bomb(trained, path, member, shape):
    """A copy of `trained` whose `member` is replaced by zeros of `shape` (float32), deflated."""
    nbytes = int(np.prod(shape)) * 4
    with zipfile.ZipFile(trained) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != member:
                dst.writestr(info.filename, src.read(info.filename))
                continue
            with dst.open(member, "w", force_zip64=True) as f:
                f.write(_header(shape))
                chunk = bytes(2**20)
                for start in range(0, nbytes, len(chunk)):
                    f.write(chunk[:min(len(chunk), nbytes - start)])
    return path


@pytest.mark.parametrize(("member", "shape", "words"), [
    ("model/fc.weight.npy", (2, 768 * 40_000), "'model/fc.weight' has shape (2, 30720000), expected (2, 768)"),
    ("history/val_loss.npy", (25_000_000,), "more than max_bytes=67,108,864 bytes (at member 'history/val_loss'"),
])
def test_checkpoint_bomb_fails_fast_with_a_small_footprint(capsys, tmp_path, trained, image, member, shape, words):
    path = _bomb(trained, tmp_path / "bomb.npz", member, shape)
    assert path.stat().st_size < 2 * 2**20  # about 100 MB inflated
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        code, out, err = run(capsys, "predict", "--checkpoint", path, image)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20  # the file inflates to about 100 MB
    assert code == 2
    message = one_error(err)
    assert "bomb.npz" in message
    assert words in message


@pytest.mark.parametrize("argv", [["evaluate"], ["features", "--out", "{tmp}/f"], ["graph", "--out", "{tmp}/g.dot"],
                                  ["predict", "{tmp}/x.png"]])
def test_a_checkpoint_that_is_a_directory_is_called_one(capsys, tmp_path, argv):
    code, _, err = run(capsys, argv[0], "--checkpoint", tmp_path,
                       *[a.format(tmp=tmp_path) for a in argv[1:]])
    assert code == 2
    message = one_error(err)
    assert f"checkpoint {str(tmp_path)!r} is a directory" in message
    code, _, err = run(capsys, "train", "--resume", tmp_path)
    assert code == 2
    assert "is a directory" in one_error(err)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_checkpoint_that_is_a_fifo_is_refused(capsys, tmp_path):
    from helpers import call_unblocking_fifos
    fifo = tmp_path / "c.npz"
    os.mkfifo(fifo)
    code, _, err = call_unblocking_fifos(lambda: run(capsys, "evaluate", "--checkpoint", fifo), [fifo])
    assert code == 2
    assert "c.npz' is a FIFO, not a regular file" in one_error(err)


@pytest.mark.parametrize(("edit", "words"), [
    (lambda s: s.update(version="2"), "has an invalid version '2' (expected an integer)"),
    (lambda s: s.update(version=[1, 2]), "has an invalid version [1, 2]"),
    (lambda s: s.update(class_names=7), "class_names 7 is not a list of 2 names"),
    (lambda s: s.update(class_names=["a", "b", "c"]), "class_names ['a', 'b', 'c'] is not a list of 2 names"),
    (lambda s: s.update(epoch="three"), "epoch 'three' is not a non-negative integer"),
    (lambda s: s.update(history=[1.0, 2.0]), "'history' is a list, not a dict"),
    (lambda s: s["history"].update(val_acc="high"), "history 'val_acc' is not a list of numbers"),
    (lambda s: s["model"].update(extra="x"), "parameter 'extra' is not an array"),
    (lambda s: s.update(optimizer=3), "'optimizer' is a int, not a dict"),
    (lambda s: s["config"].update(data=[1, 2]), "invalid config: data must be a folder name or None, got [1, 2]"),
])
def test_malformed_checkpoint_entries_are_one_line_errors(capsys, tmp_path, trained, edit, words):
    path = edited(trained, tmp_path / "odd.npz", edit)
    for argv in (["evaluate", "--checkpoint", path], ["train", "--resume", path, "--epochs", 2]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        message = one_error(err)
        assert str(path) in message
        assert words in message


def test_malformed_file_metadata_is_a_one_line_error(capsys, tmp_path):
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as zf:
        meta = {"format": "tinygrad_np.save", "version": "1", "kinds": {"format": "str"}}
        serialization._write_entry(zf, "__tinygrad_np_meta__", np.array(json.dumps(meta)))
        serialization._write_entry(zf, "format", np.array("zhang_cnn.checkpoint"))
    code, _, err = run(capsys, "evaluate", "--checkpoint", path)
    assert code == 2
    assert "odd.npz': invalid metadata (ValueError: the version '1' is not an integer)" in one_error(err)


# ------------------------------------------------------------------ outputs of train
def test_train_refuses_to_replace_an_existing_checkpoint_without_overwrite(capsys, tmp_path, trained):
    out = tmp_path / "c.npz"
    shutil.copy(trained, out)
    before = out.read_bytes()
    code, stdout, err = run(capsys, "train", "--epochs", 1, "--out", out, "--no-progress")
    assert code == 2
    message = one_error(err)
    assert f"checkpoint {str(out)!r} already exists" in message
    assert "--overwrite" in message
    assert stdout == ""
    assert out.read_bytes() == before
    code, _, _ = run(capsys, "train", "--epochs", 1, "--seed", 1, "--out", out, "--no-progress", "--overwrite")
    assert code == 0
    assert tg.load(out)["config"]["seed"] == 1


@pytest.mark.parametrize(("setup", "epochs_done", "expected"), [
    ("fresh", 0, "interrupted before the first epoch completed; nothing was saved"),
    ("overwrite", 0, "still holds the checkpoint it held before, unchanged"),
    ("resume", 0, "interrupted before an epoch completed; {out} is unchanged (continue with: zhang-cnn train "
                  "--resume {out})"),
    ("fresh", 1, "interrupted; the last completed epoch of this run is saved in {out}"),
    ("overwrite", 1, "interrupted; the last completed epoch of this run is saved in {out}"),
])
def test_an_interrupt_reports_only_what_is_saved(capsys, tmp_path, trained, monkeypatch, setup, epochs_done,
                                                 expected):
    out = tmp_path / "c.npz"
    if setup != "fresh":
        shutil.copy(trained, out)
    real, done = T.train_epoch, []

    def interrupted(*args, **kwargs):
        if len(done) == epochs_done:
            raise KeyboardInterrupt
        done.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(T, "train_epoch", interrupted)
    argv = {"fresh": ["--out", out], "overwrite": ["--out", out, "--overwrite"], "resume": ["--resume", out]}[setup]
    code, _, err = run(capsys, "train", "--epochs", 3, "--no-progress", *argv)
    assert code == 130
    assert expected.format(out=out) in err
    if epochs_done == 0:
        assert out.exists() == (setup != "fresh")
        assert setup == "fresh" or out.read_bytes() == trained.read_bytes()


@pytest.mark.parametrize("argv", [
    ["train", "--epochs", 1, "--out", "{blocker}/x.npz"],
    ["train", "--epochs", 1, "--out", "{tmp}/ok.npz", "--curves", "{blocker}/c.png"],
    ["features", "--checkpoint", "{ckpt}", "--out", "{blocker}/maps"],
    ["features", "--checkpoint", "{ckpt}", "--out", "{blocker}"],
    ["graph", "--out", "{blocker}/g.svg"],
    ["graph", "--out", "{blocker}/sub/g.dot"],
])
def test_an_output_inside_a_file_is_refused_before_any_work(capsys, tmp_path, trained, argv):
    blocker = tmp_path / "a.npz"
    blocker.write_bytes(b"a file")
    code, out, err = run(capsys, *[str(a).format(blocker=blocker, tmp=tmp_path, ckpt=trained) for a in argv],
                         *(["--no-progress"] if argv[0] == "train" else []))
    assert code == 2
    message = one_error(err)
    assert f"{str(blocker)!r} is a file, not a folder" in message
    assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


def test_a_curves_name_without_a_picture_format_is_refused(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--epochs", 1, "--out", tmp_path / "c.npz", "--curves", tmp_path / "c.txt")
    assert code == 2
    assert "--curves" in one_error(err)
    assert ".png, .svg, .pdf (got '.txt')" in err
    assert out == ""


@pytest.fixture
def read_only_folder(tmp_path, monkeypatch):
    """A folder made read-only (mode 0o555). Root may write in it all the same, so when the tests
    run as root, it is made to look as it does to any other user: os.access says no and creating
    a file in it with os.open (as checkpoints are written) raises PermissionError."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        real_access, real_open = os.access, os.open

        def access(path, mode, *args, **kwargs):
            if Path(path) == folder and mode & os.W_OK:
                return False
            return real_access(path, mode, *args, **kwargs)

        def open_(path, flags, *args, **kwargs):
            if Path(path).parent == folder and flags & os.O_CREAT:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
        monkeypatch.setattr(os, "open", open_)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize("what", ["out", "curves"])
def test_a_read_only_folder_is_found_before_training(capsys, tmp_path, read_only_folder, what):
    extra = (["--out", read_only_folder / "c.npz"] if what == "out" else
             ["--out", tmp_path / "ok.npz", "--curves", read_only_folder / "c.png"])
    code, out, err = run(capsys, "train", "--epochs", 1, "--no-progress", *extra)
    assert code == 2
    message = one_error(err)
    assert f"{'c.npz' if what == 'out' else 'c.png'}" in message
    assert f"no permission to write in {str(read_only_folder)!r}" in message
    assert ".tmp" not in message
    assert out == ""
    assert os.listdir(read_only_folder) == []


def test_a_full_disk_during_training_is_one_line_and_keeps_the_old_file(capsys, tmp_path, trained, monkeypatch):
    def full(zf, name, arr):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(serialization, "_write_entry", full)
    out = tmp_path / "c.npz"
    code, _, err = run(capsys, "train", "--epochs", 1, "--out", out, "--no-progress")
    assert code == 2
    assert one_error(err) == (f"zhang-cnn: error: cannot write checkpoint {out}: No space left on device; "
                              "nothing was saved")
    shutil.copy(trained, out)
    code, _, err = run(capsys, "train", "--epochs", 1, "--out", out, "--no-progress", "--overwrite")
    assert code == 2
    assert one_error(err).endswith("No space left on device; the file is unchanged")
    assert out.read_bytes() == trained.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]


def test_an_unreadable_data_folder_is_not_called_a_checkpoint_error(capsys, tmp_path, monkeypatch):
    def denied(data):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "data" / "cats"))

    monkeypatch.setattr(T, "load_dataset", denied)
    code, _, err = run(capsys, "train", "--epochs", 1, "--out", tmp_path / "c.npz", "--data", tmp_path)
    assert code == 2
    assert one_error(err) == f"zhang-cnn: error: [Errno 13] Permission denied: '{tmp_path / 'data' / 'cats'}'"


def test_a_full_disk_when_drawing_the_curves_says_the_checkpoint_is_saved(capsys, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(T, "plot_curves", full)
    code, _, err = run(capsys, "train", "--epochs", 1, "--out", tmp_path / "c.npz", "--no-progress")
    assert code == 2
    assert one_error(err).endswith(f"No space left on device; the checkpoint {tmp_path / 'c.npz'} is saved")
    assert (tmp_path / "c.npz").is_file()


# ------------------------------------------------------------------ graph
@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
@pytest.mark.parametrize(("name", "magic"), [("g.png", b"\x89PNG"), ("g.pdf", b"%PDF"), ("g.svg", b"<?xml")])
def test_graph_writes_the_format_its_extension_names(capsys, tmp_path, name, magic):
    code, out, _ = run(capsys, "graph", "--out", tmp_path / name)
    assert code == 0
    assert (tmp_path / name).read_bytes().startswith(magic)
    assert sorted(os.listdir(tmp_path)) == sorted([name, "g.dot"])
    assert f"to {tmp_path / name} (DOT source: {tmp_path / 'g.dot'})" in out


def test_graph_dot_writes_the_dot_source_only(capsys, tmp_path):
    code, out, _ = run(capsys, "graph", "--out", tmp_path / "g.dot")
    assert code == 0
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert os.listdir(tmp_path) == ["g.dot"]
    assert str(tmp_path / "g.dot") in out


@pytest.mark.parametrize("name", ["g", "g.jpg", "g.gv", "g.svg.bak"])
def test_graph_refuses_an_extension_that_names_no_format(capsys, tmp_path, name):
    code, out, err = run(capsys, "graph", "--out", tmp_path / name)
    assert code == 2
    assert "the name must end in .svg, .png, .pdf, .dot" in one_error(err)
    assert out == ""
    assert os.listdir(tmp_path) == []
