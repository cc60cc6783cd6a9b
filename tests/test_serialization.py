import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tinygrad_np import serialization
from tinygrad_np.serialization import load, save


def sample() -> dict:
    return {
        "conv1": {
            "weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2),
            "bias": np.array([1.5, -2.0], dtype=np.float64),
            "meta": {"step": 7, "empty": {}},
        },
        "int8": np.array([-128, 0, 127], dtype=np.int8),
        "uint16": np.array([[0, 65535]], dtype=np.uint16),
        "mask": np.array([True, False]),
        "cplx": np.array([1 + 2j], dtype=np.complex64),
        "zero_d": np.array(3.25),
        "empty": np.zeros((0, 4), dtype=np.int32),
        "np_scalar": np.float32(0.5),
        "name": "zhang cnn ✓",
        "epochs": 12,
        "lr": 1e-3,
        "flag": True,
        "nothing": None,
        "sizes": [6, 16],
        "pair": (0.25, 0.75),
        "labels": ["cat", "dog"],
    }


def assert_same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype
        assert a == b
    else:
        assert a == b


def test_round_trip(tmp_path):
    path = tmp_path / "model.npz"
    save(sample(), path)
    assert_same(sample(), load(path))
    assert os.listdir(tmp_path) == ["model.npz"]


def test_plain_numpy_can_read_it_without_pickle(tmp_path):
    save(sample(), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["conv1/weight"], sample()["conv1"]["weight"])
        assert str(z["name"]) == "zhang cnn ✓"


def test_load_plain_npz_with_slashes(tmp_path):
    np.savez(tmp_path / "plain.npz", **{"a/b": np.ones(2), "c": np.zeros(1)})
    out = load(tmp_path / "plain.npz")
    assert list(out) == ["a", "c"]
    assert out["a"]["b"].tolist() == [1.0, 1.0]


def test_path_used_as_given_and_str_path(tmp_path):
    save({"x": np.ones(1)}, str(tmp_path / "ckpt.bin"))
    assert os.listdir(tmp_path) == ["ckpt.bin"]
    assert load(str(tmp_path / "ckpt.bin"))["x"].tolist() == [1.0]


def test_objects_with_numpy_method(tmp_path):
    class FakeTensor:
        def numpy(self):
            return np.full((2, 2), 3.0, dtype=np.float32)

    save({"w": FakeTensor()}, tmp_path / "t.npz")
    w = load(tmp_path / "t.npz")["w"]
    assert isinstance(w, np.ndarray)
    assert w.dtype == np.float32
    assert w.sum() == 12


@pytest.mark.parametrize(("obj", "match"), [
    ({"bad": np.array([object(), 1], dtype=object)}, "'bad'.*object"),
    ({"outer": {"inner": object()}}, "'outer/inner'.*unsupported"),
    ({"raw": b"bytes"}, "'raw'"),
    ({"big": 2 ** 70}, "'big'.*64 bits"),
    ({"mixed": [1, "a"]}, "'mixed'"),
    ({"ragged": [[1, 2], [3]]}, "'ragged'"),
    ({"a/b": 1}, "'a/b'"),
    ({"": 1}, "non-empty"),
    ({3: 1}, "keys must be str"),
    ({"__tinygrad_np_meta__": 1}, "reserved"),
])
def test_unsupported_values_name_the_key(tmp_path, obj, match):
    with pytest.raises(ValueError, match=match):
        save(obj, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_not_a_mapping(tmp_path):
    with pytest.raises(TypeError, match="state_dict"):
        save([np.ones(2)], tmp_path / "x.npz")


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not an npz at all")
    with pytest.raises(ValueError, match="bad.npz"):
        load(bad)
    save(sample(), tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes((tmp_path / "good.npz").read_bytes()[:200])
    with pytest.raises(ValueError, match="truncated.npz"):
        load(truncated)
    np.savez(tmp_path / "pickled.npz", a=np.array([None], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        load(tmp_path / "pickled.npz")
    with pytest.raises(FileNotFoundError):
        save({"x": 1}, tmp_path / "no_such_dir" / "x.npz")


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_failed_save_keeps_previous_file(tmp_path, monkeypatch, exc):
    path = tmp_path / "model.npz"
    save({"version": 1, "w": np.zeros(3)}, path)
    real = serialization._write_entry
    calls = []

    def failing(zf, name, arr):
        calls.append(name)
        if len(calls) == 2:  # after the metadata and part of the data went to the temp file
            raise exc("disk full")
        real(zf, name, arr)

    monkeypatch.setattr(serialization, "_write_entry", failing)
    with pytest.raises(exc, match="disk full"):
        save({"version": 2, "w": np.ones(3), "b": np.ones(2)}, path)
    assert os.listdir(tmp_path) == ["model.npz"]
    assert load(path)["version"] == 1


def test_overwrite_and_permissions(tmp_path):
    path = tmp_path / "m.npz"
    save({"v": 1}, path)
    save({"v": 2}, path)
    assert load(path) == {"v": 2}
    umask = os.umask(0)
    os.umask(umask)
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_during_save_leaves_old_file(tmp_path):
    path = tmp_path / "model.npz"
    marker = tmp_path / "started"
    save({"version": 1}, path)
    script = textwrap.dedent(f"""
        import time
        import numpy as np
        from pathlib import Path
        from tinygrad_np import serialization
        real = serialization._write_entry
        def slow(zf, name, arr):
            real(zf, name, arr)
            Path({str(marker)!r}).touch()
            time.sleep(60)
        serialization._write_entry = slow
        serialization.save({{"version": 2, "w": np.ones(10)}}, {str(path)!r})
    """)
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None, "writer exited early"
            assert time.monotonic() < deadline, "writer did not start"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert load(path) == {"version": 1}
