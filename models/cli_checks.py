"""What `zhang-cnn` checks before it starts any work, and how it writes JSON.

Output paths are checked first, so that a wrong one costs a one-line error (exit code 2) instead
of a traceback or a finished training run: a folder where a file should go, a file where a
folder should be (`--out a.npz/x.npz`), a folder that cannot be written, an existing checkpoint
that would be replaced without --overwrite, an extension that does not name a format. JSON
output is always valid JSON: NaN and Inf are written as null.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class CLIError(Exception):
    """A user error: reported as one line on stderr with exit code 2."""


#: Formats `zhang-cnn graph --out` writes, named by the file's extension.
GRAPH_FORMATS = ("svg", "png", "pdf", "dot")
#: Formats of the training-curve picture (`zhang-cnn train --curves`).
CURVE_FORMATS = ("png", "svg", "pdf")


def _check_folder(folder: Path, what: str, target: Path) -> None:
    """CLIError unless `folder` is a writable folder or can be created in one."""
    existing = folder
    while not existing.exists():
        if existing.is_symlink():
            raise CLIError(f"cannot write {what} {str(target)!r}: {str(existing)!r} is a dangling symbolic link")
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise CLIError(f"cannot write {what} {str(target)!r}: {str(existing)!r} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CLIError(f"cannot write {what} {str(target)!r}: no permission to write in {str(existing)!r}")


def check_output_file(path: str | Path, what: str, *, overwrite: bool = True, in_place: bool = False,
                      hint: str = "") -> Path:
    """`path` as a Path if a file can be written there (CLIError saying why not otherwise).

    overwrite=False refuses an existing file (`hint` is appended to the message); in_place means
    the file is rewritten where it is (not replaced by a rename), so it must itself be writable.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise CLIError(f"{what} {str(p)!r} is a directory; give a file name")
    if p.exists() or p.is_symlink():
        if not p.is_file():
            raise CLIError(f"{what} {str(p)!r} exists and is not a regular file")
        if not overwrite:
            raise CLIError(f"{what} {str(p)!r} already exists{hint}")
        if in_place and not os.access(p, os.W_OK):
            raise CLIError(f"cannot write {what} {str(p)!r}: the file is read-only")
    _check_folder(p.parent, what, p)
    return p


def check_output_dir(path: str | Path, what: str) -> Path:
    """`path` as a Path if it is, or can be created as, a writable folder (CLIError otherwise)."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise CLIError(f"{what} {str(p)!r} is a file, not a folder")
    _check_folder(p, what, p)
    return p


def format_of(path: Path, formats: Sequence[str], what: str) -> str:
    """The format named by `path`'s extension, which must be one of `formats` (CLIError otherwise)."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in formats:
        got = f"'{path.suffix}'" if path.suffix else "no extension"
        raise CLIError(f"{what} {str(path)!r}: the name must end in " + ", ".join("." + f for f in formats)
                       + f" (got {got})")
    return fmt


def finite_or_none(value: Any) -> Any:
    """`value` with every NaN or infinite float, also inside lists and dicts, replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def json_text(value: Any) -> str:
    """Strict JSON text of `value`: NaN and Inf are written as null (never the non-JSON `NaN`)."""
    return json.dumps(finite_or_none(value), allow_nan=False)


def file_state(path: Path) -> tuple[int, int] | None:
    """(inode, modification time) of a file, or None if there is none: tells whether it was replaced."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def interrupt_message(prog: str, out: Path, before: tuple[int, int] | None, resumed: bool) -> str:
    """What an interrupted `train` has left in `out` (whose file_state was `before` the run)."""
    now = file_state(out)
    if now is not None and now != before:
        return (f"interrupted; the last completed epoch of this run is saved in {out} "
                f"(continue with: {prog} train --resume {out})")
    if before is None:
        return "interrupted before the first epoch completed; nothing was saved"
    if resumed:
        return (f"interrupted before an epoch completed; {out} is unchanged "
                f"(continue with: {prog} train --resume {out})")
    return f"interrupted before an epoch completed; {out} still holds the checkpoint it held before, unchanged"
