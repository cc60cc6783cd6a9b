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
temporary file is named ``<name>.tmp<pid>-<host>-<random>``; a writer killed before the rename
(``kill -9``, power loss) leaves it behind, and the next ``save`` to the same path removes the
ones whose process no longer exists on this host (never those of a live writer). The path is
used as given (no ".npz" is appended).

``load`` reads only regular files (a FIFO or device is refused instead of blocking) and checks
every member's .npy header before reading data, so a forged or "bomb" archive fails fast.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import socket
import stat
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Union

import numpy as np

__all__ = ["MAX_LOAD_BYTES", "load", "open_regular_file", "save"]

#: Default cap of :func:`load` on the total bytes of the arrays in one file (4 GiB).
MAX_LOAD_BYTES = 4 * 2**30

PathLike = Union[str, "os.PathLike[str]"]

_META = "__tinygrad_np_meta__"
_FORMAT = "tinygrad_np.save"
_VERSION = 1
_SCALARS = {bool: "bool", int: "int", float: "float", complex: "complex", str: "str"}
_FROM_KIND = {"bool": bool, "int": int, "float": float, "complex": complex, "str": str}
_DTYPE_KINDS = {"bool": "b", "int": "iu", "float": "f", "complex": "c", "str": "U"}  # of a 0-d array
_KINDS = frozenset(_FROM_KIND) | {"none", "dict", "array", "npscalar", "list", "tuple"}


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


def open_regular_file(path: PathLike, what: str = "file") -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file (or a symlink to one).

    A FIFO, socket or device is refused with ``ValueError`` naming the path instead of blocking
    (it is opened with ``O_NONBLOCK`` and checked with ``fstat``, so it cannot be swapped in
    between); a directory raises ``IsADirectoryError``, a missing file ``FileNotFoundError``.
    """
    name = os.fspath(path)
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(name, os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, f"{what} is a directory", name)
        if not stat.S_ISREG(mode):
            kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
            raise ValueError(f"{what} {name!r} is {kind}, not a regular file")
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _remove_stale_temporaries(target: Path) -> None:
    """Remove temporary files of `target` left by writers of this host that no longer run."""
    if os.name != "posix":
        return  # os.kill(pid, 0) would not probe a process there
    pattern = re.compile(re.escape(target.name) + r"\.tmp(\d+)-" + _HOST + r"-[0-9a-f]{12}")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(match.group(1)), 0)  # succeeds while that writer runs
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                os.unlink(target.parent / name)
        except (PermissionError, OverflowError):
            pass  # alive under another user, or not a pid at all


def atomic_write(target: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call write(file) on a new temporary file next to `target`, fsync it, then rename it over
    `target`. On any failure the previous `target` is untouched and the temporary file removed;
    an OSError about the temporary file is reported with the name of `target`. Temporary files
    of `target` left by killed writers are removed first."""
    _remove_stale_temporaries(target)
    while True:
        tmp = target.with_name(f"{target.name}.tmp{os.getpid()}-{_HOST}-{uuid.uuid4().hex[:12]}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # mode honours umask
            break
        except FileExistsError:
            continue
        except OSError as e:
            raise OSError(e.errno, e.strerror, str(target)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.errno is None or e.filename not in (None, str(tmp)):
            raise
        raise OSError(e.errno, e.strerror, str(target)) from e
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
    if kind in ("none", "dict"):
        return None if kind == "none" else {}
    if kind == "array":
        return arr
    if arr is None:
        raise ValueError(f"a value of kind {kind!r} is stored without its array")
    if kind in ("list", "tuple"):
        if arr.ndim == 0:
            raise ValueError(f"a {kind} is stored as a 0-d array")
        return arr.tolist() if kind == "list" else tuple(arr.tolist())
    if arr.ndim != 0:
        raise ValueError(f"a value of kind {kind!r} is stored as an array of shape {arr.shape}")
    if kind == "npscalar":
        return arr[()]
    if arr.dtype.kind not in _DTYPE_KINDS[kind] and not (kind in ("float", "complex") and arr.dtype.kind in "iuf"):
        raise ValueError(f"a value of kind {kind!r} is stored with dtype {arr.dtype}")
    return _FROM_KIND[kind](arr[()])


def _read_header(member: BinaryIO, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the .npy header at the start of `member`, without reading the data."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ValueError(f"member {key!r} uses .npy format version {version}, not 1.0 or 2.0")
    if dtype.hasobject:
        raise ValueError(f"member {key!r} holds Python objects (dtype {dtype}), which need pickle")
    return tuple(int(d) for d in shape), dtype


def _read_members(f: BinaryIO, max_bytes: int,
                  shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Every .npy member of the zip `f` as an array, after checking every header (see `load`)."""
    with zipfile.ZipFile(f) as zf:
        infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in zf.infolist():
            if info.is_dir():
                continue
            if not info.filename.endswith(".npy"):
                raise ValueError(f"member {info.filename!r} is not a .npy array")
            key = info.filename[:-4]
            with zf.open(info) as member:
                shape, dtype = _read_header(member, key)  # type: ignore[arg-type]
                available = info.file_size - member.tell()
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > available:
                raise ValueError(f"member {key!r} declares shape {shape} of {dtype} ({nbytes:,} bytes) but holds "
                                 f"only {max(available, 0):,} bytes")
            if key in shapes and tuple(shapes[key]) != shape:
                raise ValueError(f"{key!r} has shape {shape}, expected {tuple(shapes[key])}")
            total += nbytes
            if total > max_bytes:
                raise ValueError(f"its arrays hold more than max_bytes={max_bytes:,} bytes (at member {key!r}, "
                                 f"shape {shape} of {dtype})")
            infos[key] = info
        members = {}
        for key, info in infos.items():
            with zf.open(info) as member:
                members[key] = np.lib.format.read_array(member, allow_pickle=False)
    return members


def load(path: PathLike, *, max_bytes: int = MAX_LOAD_BYTES,
         shapes: Mapping[str, tuple[int, ...]] | None = None) -> dict[str, Any]:
    """Load a file written by :func:`save` (or any pickle-free .npz) as a nested dict.

    Values come back as stored: arrays holding NaN or Inf are returned as they are.
    Before any data is read, each member's .npy header is checked: its size against the member's
    size in the archive, the total against ``max_bytes`` (default :data:`MAX_LOAD_BYTES`, 4 GiB),
    and the shape of each flattened key in ``shapes`` (``{"model/fc.weight": (2, 768)}``).

    Raises ``FileNotFoundError`` for a missing file, ``IsADirectoryError`` for a directory and
    ``ValueError`` naming the path for anything else: a FIFO or device, a file that is not a valid
    archive, malformed metadata, or a limit above exceeded.
    """
    name = os.fspath(path)
    if not os.path.lexists(name):
        raise FileNotFoundError(errno.ENOENT, "load: no such file", name)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"load: max_bytes must be a non-negative int, got {max_bytes!r}")
    try:
        f = open_regular_file(name, "file")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "load: no such file (or a dangling symbolic link)", name) from None
    except (ValueError, OSError) as e:  # a FIFO or device, a symlink loop; not a permission or a directory
        if isinstance(e, (PermissionError, IsADirectoryError)):
            raise
        raise ValueError(f"load: {e}" if isinstance(e, ValueError) else f"cannot load {name!r}: {e.strerror}") from None
    with f:  # our own handle: np.load leaks its own on a broken zip
        magic = f.read(4)
        if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise ValueError(f"cannot load {name!r}: not an .npz (zip) archive (starts with {magic!r})")
        f.seek(0)
        try:
            members = _read_members(f, max_bytes, shapes or {})
        except Exception as e:
            detail = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
            raise ValueError(f"cannot load {name!r}: {detail}") from e

    kinds: dict[str, str]
    if _META in members:
        try:
            meta = json.loads(str(members.pop(_META)[()]))
            if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
                raise ValueError("unknown format")
            found, version = meta.get("kinds"), meta.get("version", 0)
            if isinstance(version, bool) or not isinstance(version, int):
                raise ValueError(f"the version {version!r} is not an integer")
            if not isinstance(found, dict):
                raise ValueError(f"kinds must be a dict, got {found!r}")
            bad = [k for k in found.values() if not isinstance(k, str) or k not in _KINDS]
            if bad:
                raise ValueError(f"unknown kind {bad[0]!r}")
            kinds = found
        except Exception as e:
            raise ValueError(f"cannot load {name!r}: invalid metadata ({type(e).__name__}: {e})") from e
        if version > _VERSION:
            raise ValueError(f"cannot load {name!r}: written by a newer version (format {version})")
        missing = [k for k, kind in kinds.items() if kind not in ("none", "dict") and k not in members]
        if missing:
            raise ValueError(f"cannot load {name!r}: missing arrays for keys {missing[:5]}")
    else:
        kinds = dict.fromkeys(members, "array")

    out: dict[str, Any] = {}
    for key, kind in kinds.items():
        try:
            value = _from_array(kind, members.get(key))
        except (ValueError, TypeError, OverflowError) as e:
            raise ValueError(f"cannot load {name!r}: key {key!r}: {e}") from None
        _insert(out, key, value, name)
    return out
