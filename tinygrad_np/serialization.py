"""Save and load dicts of arrays (state dicts, checkpoints) as .npz files, never with pickle.

Format: a standard NumPy .npz (zip of .npy files) readable with ``np.load(path)``:

* nested dicts are flattened, keys joined with "/" (``{"conv1": {"weight": w}}`` -> "conv1/weight"),
  so a key may not itself contain "/";
* ndarrays (any non-object dtype) and anything with a ``.numpy()`` method (tensors) are stored as
  arrays; NumPy scalars come back as NumPy scalars of the same dtype;
* Python ``int``, ``float``, ``bool``, ``complex`` and ``str`` are stored as 0-d arrays (str as a
  NumPy unicode array, so a trailing "\\0" would be lost) and come back as the same Python type;
* lists and tuples of numbers, bools or strings are stored as arrays and come back as a list or
  tuple (nested lists must be rectangular);
* ``None`` and empty dicts have no array: they are recorded only in a JSON member
  "__tinygrad_np_meta__" that lists every key in order with its kind.

A plain .npz without that member (e.g. from ``np.savez``) loads too: every member becomes an
array and "/" in names builds nested dicts.

``save`` writes to a temporary file in the same directory, fsyncs it and renames it over ``path``
(``os.replace``): a crash or error leaves either the old file or the new one, never a mix. The
path is used as given (no ".npz" is appended).
"""

from __future__ import annotations

import errno
import json
import os
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Union

import numpy as np

__all__ = ["load", "save"]

PathLike = Union[str, "os.PathLike[str]"]

_META = "__tinygrad_np_meta__"
_FORMAT = "tinygrad_np.save"
_VERSION = 1
_SCALARS = {bool: "bool", int: "int", float: "float", complex: "complex", str: "str"}
_FROM_KIND = {"bool": bool, "int": int, "float": float, "complex": complex, "str": str}


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _to_array(key: str, value: Any) -> tuple[str, np.ndarray | None]:
    """(kind, array) for one leaf value; kinds: array, npscalar, bool/int/float/complex/str, list,
    tuple, none."""
    if value is None:
        return "none", None
    if isinstance(value, np.ndarray):
        kind, arr = "array", value
    elif isinstance(value, np.generic):
        kind, arr = "npscalar", np.asarray(value)
    elif type(value) in _SCALARS:
        kind, arr = _SCALARS[type(value)], np.asarray(value)
        if arr.dtype.hasobject:
            raise ValueError(f"save: key {key!r}: the int {value} does not fit in 64 bits")
    elif isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        try:
            arr = np.asarray(value)
        except (ValueError, OverflowError) as e:
            raise ValueError(f"save: key {key!r}: cannot store this {kind} as an array ({e})") from e
        if arr.dtype.kind == "U" and not all(isinstance(x, str) for x in _leaves(value)):
            raise ValueError(f"save: key {key!r}: a {kind} mixing strings and other values cannot be stored")
    elif hasattr(value, "numpy"):
        kind, arr = "array", np.asarray(value.numpy())
    else:
        raise ValueError(f"save: key {key!r}: unsupported value of type {type(value).__name__}; "
                         "expected an array, tensor, number, str, bool, None, list or dict")
    if arr.dtype.hasobject:
        raise ValueError(f"save: key {key!r}: object arrays cannot be stored without pickle "
                         f"(value of type {type(value).__name__} with dtype {arr.dtype})")
    return kind, arr


def _flatten(obj: Mapping, prefix: str, kinds: dict[str, str], arrays: dict[str, np.ndarray]) -> None:
    for k, v in obj.items():
        if not isinstance(k, str):
            where = f" (under {prefix[:-1]!r})" if prefix else ""
            raise ValueError(f"save: keys must be str, got {k!r} of type {type(k).__name__}{where}")
        if not k or "/" in k:
            raise ValueError(f"save: key {prefix + k!r}: keys must be non-empty and must not contain '/'")
        key = prefix + k
        if key == _META:
            raise ValueError(f"save: key {key!r} is reserved")
        if isinstance(v, Mapping):
            if len(v) == 0:
                kinds[key] = "dict"
            _flatten(v, key + "/", kinds, arrays)
            continue
        kind, arr = _to_array(key, v)
        kinds[key] = kind
        if arr is not None:
            arrays[key] = arr


def _write_entry(zf: zipfile.ZipFile, name: str, arr: np.ndarray) -> None:
    with zf.open(name + ".npy", "w", force_zip64=True) as f:
        np.lib.format.write_array(f, np.asanyarray(arr), allow_pickle=False)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(target: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call write(file) on a new temporary file next to `target`, fsync it, then rename it over
    `target`. On any failure the previous `target` is untouched and the temporary file removed."""
    while True:
        tmp = target.with_name(f"{target.name}.tmp{uuid.uuid4().hex[:12]}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # mode honours umask
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def save(obj: Mapping[str, Any], path: PathLike) -> None:
    """Save a (nested) dict of arrays, tensors, numbers, strings, bools and None to ``path``.

    Atomic: on success ``path`` holds the new data; on any failure the previous file (if any) is
    untouched and no temporary file is left behind. Raises ``ValueError`` naming the key for a
    value that cannot be stored without pickle.
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"save: expected a mapping such as model.state_dict(), got {type(obj).__name__}")
    kinds: dict[str, str] = {}
    arrays: dict[str, np.ndarray] = {}
    _flatten(obj, "", kinds, arrays)  # validate everything before touching the disk
    meta = json.dumps({"format": _FORMAT, "version": _VERSION, "kinds": kinds})

    target = Path(os.fspath(path))
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "save: no such directory", str(target.parent))

    def write(f: BinaryIO) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            _write_entry(zf, _META, np.array(meta))
            for key, arr in arrays.items():
                _write_entry(zf, key, arr)

    atomic_write(target, write)


def _insert(tree: dict, key: str, value: Any, path: str) -> None:
    *parents, leaf = key.split("/")
    node = tree
    for i, part in enumerate(parents):
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"cannot load {path!r}: key {'/'.join(parents[:i + 1])!r} is both a value and a dict")
    if leaf in node and not (isinstance(node[leaf], dict) and isinstance(value, dict)):
        raise ValueError(f"cannot load {path!r}: key {key!r} is both a value and a dict")
    node.setdefault(leaf, value)


def _from_array(kind: str, arr: np.ndarray | None) -> Any:
    if kind == "none":
        return None
    if kind == "dict":
        return {}
    if kind == "array":
        return arr
    if arr is None:
        raise ValueError(f"a value of kind {kind!r} is stored without its array")
    if kind == "npscalar":
        return arr[()]
    if kind in ("list", "tuple"):
        return arr.tolist() if kind == "list" else tuple(arr.tolist())
    return _FROM_KIND[kind](arr[()])


def load(path: PathLike) -> dict[str, Any]:
    """Load a file written by :func:`save` (or any pickle-free .npz) as a nested dict.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the path for a file
    that is not a valid archive.
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(errno.ENOENT, "load: no such file", name)
    with open(name, "rb") as f:  # our own handle: np.load leaks its own on a broken zip
        magic = f.read(4)
        if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise ValueError(f"cannot load {name!r}: not an .npz (zip) archive (starts with {magic!r})")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as z:
                members = {k: z[k] for k in z.files}
        except Exception as e:
            raise ValueError(f"cannot load {name!r}: {type(e).__name__}: {e}") from e

    kinds: dict[str, str]
    if _META in members:
        try:
            meta = json.loads(str(members.pop(_META)[()]))
            kinds = meta["kinds"]
            if meta.get("format") != _FORMAT or not isinstance(kinds, dict):
                raise ValueError("unknown format")
        except Exception as e:
            raise ValueError(f"cannot load {name!r}: invalid metadata ({type(e).__name__}: {e})") from e
        if meta.get("version", 0) > _VERSION:
            raise ValueError(f"cannot load {name!r}: written by a newer version (format {meta['version']})")
        missing = [k for k, kind in kinds.items() if kind not in ("none", "dict") and k not in members]
        if missing:
            raise ValueError(f"cannot load {name!r}: missing arrays for keys {missing[:5]}")
    else:
        kinds = dict.fromkeys(members, "array")

    out: dict[str, Any] = {}
    for key, kind in kinds.items():
        if kind not in _FROM_KIND and kind not in ("none", "dict", "array", "npscalar", "list", "tuple"):
            raise ValueError(f"cannot load {name!r}: key {key!r} has unknown kind {kind!r}")
        _insert(out, key, _from_array(kind, members.get(key)), name)
    return out
