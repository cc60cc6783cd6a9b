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


# ------------------------------------------------------------------ untrusted files
def _npy_header(shape, dtype="<f8") -> bytes:
    """A .npy v1.0 header declaring `shape` (no data follows)."""
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _peak_bytes(fn):
    """(result or exception, peak traced bytes) of fn()."""
    import tracemalloc
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        try:
            outcome = fn()
        except Exception as e:  # returned for the caller to check
            outcome = e
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_member_declaring_more_than_it_holds_fails_with_a_small_footprint(tmp_path):
    import zipfile
    path = tmp_path / "forged.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", _npy_header((2**28,)) + bytes(64))  # declares 2 GiB, holds 64 bytes
    error, peak = _peak_bytes(lambda: load(path))
    assert isinstance(error, ValueError), error
    assert "forged.npz" in str(error)
    assert "'w' declares shape (268435456,) of float64 (2,147,483,648 bytes) but holds only 64 bytes" in str(error)
    assert peak < 16 * 2**20


def test_compressed_bomb_is_refused_by_max_bytes_before_inflating(tmp_path):
    import zipfile
    path = tmp_path / "bomb.npz"
    n = 64 * 2**20  # 64 MiB of zeros, about 64 KB deflated
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf, zf.open("w.npy", "w") as f:
        f.write(_npy_header((n // 8,)))
        for _ in range(n // 2**20):
            f.write(bytes(2**20))
    assert path.stat().st_size < n // 100
    error, peak = _peak_bytes(lambda: load(path, max_bytes=2**20))
    assert isinstance(error, ValueError), error
    assert "bomb.npz" in str(error)
    assert "more than max_bytes=1,048,576 bytes" in str(error)
    assert peak < 8 * 2**20
    error, peak = _peak_bytes(lambda: load(path, shapes={"w": (3,)}))
    assert isinstance(error, ValueError), error
    assert "'w' has shape (8388608,), expected (3,)" in str(error)
    assert peak < 8 * 2**20
    assert load(path, max_bytes=n)["w"].shape == (n // 8,)
    import inspect
    assert inspect.signature(load).parameters["max_bytes"].default == serialization.MAX_LOAD_BYTES == 4 * 2**30


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_load_refuses_a_fifo_without_blocking(tmp_path):
    from helpers import call_unblocking_fifos
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"model\.npz.*FIFO"):
        call_unblocking_fifos(lambda: load(fifo), [fifo])


def test_load_a_directory_or_dangling_link(tmp_path):
    with pytest.raises(IsADirectoryError):
        load(tmp_path)
    (tmp_path / "link.npz").symlink_to(tmp_path / "gone.npz")
    with pytest.raises(FileNotFoundError, match="link.npz"):
        load(tmp_path / "link.npz")


def _with_meta(path, meta, **arrays):
    import json
    import zipfile
    with zipfile.ZipFile(path, "w") as zf:
        serialization._write_entry(zf, "__tinygrad_np_meta__", np.array(json.dumps(meta)))
        for key, value in arrays.items():
            serialization._write_entry(zf, key, np.asarray(value))
    return path


GOOD = {"format": "tinygrad_np.save", "version": 1}


@pytest.mark.parametrize(("meta", "arrays", "match"), [
    ({**GOOD, "version": "2", "kinds": {}}, {}, "version '2' is not an integer"),
    ({**GOOD, "version": [1], "kinds": {}}, {}, r"version \[1\] is not an integer"),
    ({**GOOD, "kinds": {"a": ["array"]}}, {"a": [1.0]}, r"unknown kind \['array'\]"),
    ({**GOOD, "kinds": {"a": "weird"}}, {"a": [1.0]}, "unknown kind 'weird'"),
    ({**GOOD, "kinds": ["a"]}, {"a": [1.0]}, "kinds must be a dict"),
    ({**GOOD, "kinds": {"a": "int"}}, {"a": [1, 2, 3]}, "key 'a'.*kind 'int' is stored as an array of shape"),
    ({**GOOD, "kinds": {"a": "int"}}, {"a": "seven"}, "key 'a'.*kind 'int' is stored with dtype <U5"),
    ({**GOOD, "kinds": {"a": "bool"}}, {"a": 2.5}, "key 'a'.*kind 'bool' is stored with dtype float64"),
    ({**GOOD, "kinds": {"a": "list"}}, {"a": 2.5}, "key 'a'.*list is stored as a 0-d array"),
    ({**GOOD, "kinds": {"a": "npscalar"}}, {"a": [1, 2]}, "key 'a'.*'npscalar' is stored as an array"),
    ([1, 2], {}, "invalid metadata"),
])
def test_malformed_metadata_is_a_value_error_naming_the_file(tmp_path, meta, arrays, match):
    path = _with_meta(tmp_path / "odd.npz", meta, **arrays)
    with pytest.raises(ValueError, match=r"odd\.npz.*" + match):
        load(path)


def test_non_finite_values_load_as_stored(tmp_path):
    save({"w": np.array([np.nan, np.inf, -np.inf, 1.0], np.float32), "lr": float("nan")}, tmp_path / "n.npz")
    out = load(tmp_path / "n.npz")
    np.testing.assert_array_equal(out["w"], [np.nan, np.inf, -np.inf, 1.0])
    assert np.isnan(out["lr"])


def test_failed_write_names_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    import errno

    def full(zf, name, arr):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(serialization, "_write_entry", full)
    with pytest.raises(OSError, match=r"No space left on device: '.*model\.npz'$") as info:
        save({"w": np.ones(3)}, tmp_path / "model.npz")
    assert info.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if ".tmp" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError, match=r"Permission denied: '.*model\.npz'$"):
        save({"w": np.ones(3)}, tmp_path / "model.npz")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL") or os.name != "posix", reason="needs SIGKILL")
def test_temporary_files_of_killed_writers_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "model.npz"
    marker = tmp_path / "started"
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
        serialization.save({{"w": np.ones(1000)}}, {str(path)!r})
    """)
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None, "writer exited early"
            assert time.monotonic() < deadline, "writer did not start"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        (stale,) = [p.name for p in tmp_path.iterdir() if p.name.startswith("model.npz.tmp")]
        assert str(proc.pid) in stale
        others = [f"model.npz.tmp{live.pid}-{serialization._HOST}-0123456789ab",  # a live writer's
                  "model.npz.tmpcafe0123beef", f"other.npz.tmp{proc.pid}-{serialization._HOST}-0123456789ab"]
        for name in others:
            (tmp_path / name).write_bytes(b"partial")
        save({"w": np.zeros(2)}, path)
        assert sorted(os.listdir(tmp_path)) == sorted(["model.npz", "started", *others])
    finally:
        live.kill()
        live.wait()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
