"""Image folders (one sub-folder per class, or Kaggle's cat.N / dog.N files) loaded into an
`ImageDataset`, with a decode cache."""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from ..serialization import atomic_write
from .dataset import ImageDataset
from .images import IMAGE_EXTENSIONS, PathLike, check_size, load_image

_CACHE_VERSION = "tinygrad_np.image_cache.v2"  # v2: scaling of "I"/"F" images, no NaN


def _is_image(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _images_in(folder: Path, recursive: bool) -> list[Path]:
    """Entries named like images that are not folders: FIFOs, dangling or looping symlinks are kept
    here, to be skipped with a warning when they cannot be read."""
    if not recursive:
        return sorted(p for p in folder.iterdir() if _is_image(p.name) and not p.is_dir())
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found.extend(Path(dirpath, f) for f in filenames if _is_image(f))
    return sorted(found)


def _discover(root: Path) -> tuple[list[Path], list[str]]:
    """Image files under ``root`` and their class names, in sorted path order."""
    for folder in (root, root / "train"):  # Kaggle layout: cat.0.jpg directly in root or root/train
        direct = _images_in(folder, recursive=False) if folder.is_dir() else []
        if direct:
            bad = [p.name for p in direct if p.name.count(".") < 2]
            if bad:
                raise ValueError(
                    f"image folder {str(folder)!r}: cannot tell the class of {len(bad)} file(s) such as "
                    f"{bad[:3]}: images placed directly in a folder must be named '<class>.<id>.<ext>' "
                    "(e.g. 'cat.0.jpg'); otherwise put each class in its own subfolder")
            return direct, [p.name.split(".", 1)[0] for p in direct]
    files: list[Path] = []
    labels: list[str] = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found = _images_in(d, recursive=True)
        files.extend(found)
        labels.extend([d.name] * len(found))
    if not files:
        raise ValueError(
            f"no images found in {str(root)!r}: expected one subfolder per class (root/cats/*.jpg) or "
            f"files named like 'cat.0.jpg' in the folder or its train/ subfolder; "
            f"extensions: {' '.join(sorted(IMAGE_EXTENSIONS))}")
    return files, labels


def _default_cache_dir() -> Path:
    env = os.environ.get("TINYGRAD_NP_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tinygrad_np"


def _read_cache(path: Path, key: str, root: Path, size: int) -> tuple[ImageDataset, list[str]] | None:
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:  # own handle: never leaked
            if str(z["key"][()]) != key:
                return None  # the folder changed since the cache was written
            images, labels = z["images"], z["labels"]
            class_names = [str(c) for c in z["class_names"]]
            rel = [str(p) for p in z["paths"]]
            skipped = [str(s) for s in z["skipped"]]
        if images.dtype != np.float32 or images.shape[1:] != (1, size, size) or not np.isfinite(images).all():
            raise ValueError(f"images have dtype {images.dtype} and shape {images.shape}, or non-finite values")
        ds = ImageDataset(images, labels, class_names, [str(root / r) for r in rel])
    except Exception as e:
        warnings.warn(f"ignoring corrupt image cache {str(path)!r} ({type(e).__name__}: {e}); "
                      "decoding the images again", stacklevel=3)
        return None
    return ds, skipped


def load_image_folder(root: PathLike, size: int = 50, cache: bool = True,
                      cache_dir: PathLike | None = None) -> ImageDataset:
    """Load a folder of labelled images as an :class:`ImageDataset`.

    Two layouts are recognised:

    * one subfolder per class: ``root/cats/*.jpg``, ``root/dogs/*.png`` (searched recursively);
      ``class_names`` are the sorted subfolder names;
    * Kaggle cats-vs-dogs: files named ``<class>.<id>.<ext>`` (``cat.0.jpg``, ``dog.1.jpg``)
      directly in ``root`` or in ``root/train``; ``class_names`` are the sorted prefixes.

    Hidden files and folders (name starting with ".") are ignored. Files that cannot be read are
    skipped with one warning each naming the file, plus a summary: undecodable files, FIFOs and
    other non-regular files, dangling or looping symlinks, images larger than
    :data:`MAX_IMAGE_PIXELS` and images with NaN or infinite pixels (see :func:`load_image`).
    Samples are in sorted path order.

    With ``cache=True`` the decoded arrays are stored as .npz in ``cache_dir`` (default
    ``$TINYGRAD_NP_CACHE`` or ``~/.cache/tinygrad_np``), keyed by the folder, ``size`` and each
    file's path, byte size and modification time; a later call with unchanged files reads them
    from there without decoding. Each (folder, size) has one cache file, replaced when the
    folder changes.
    """
    size = check_size(size)
    root_p = Path(os.fspath(root)).expanduser()
    if not root_p.exists():
        raise ValueError(f"image folder {str(root_p)!r} does not exist")
    if not root_p.is_dir():
        raise ValueError(f"image folder {str(root_p)!r} is not a directory")
    root_p = root_p.resolve()
    files, label_names = _discover(root_p)
    class_names = sorted(set(label_names))
    if len(class_names) < 2:
        raise ValueError(f"image folder {str(root_p)!r}: only one class found ({class_names[0]!r}, "
                         f"{len(files)} images); at least two classes are needed")
    rel = [p.relative_to(root_p).as_posix() for p in files]

    cache_file = None
    if cache:
        h = hashlib.sha256()
        h.update(json.dumps([_CACHE_VERSION, str(root_p), size]).encode())
        for r, p in zip(rel, files, strict=False):
            try:
                st = p.stat()
                h.update(json.dumps([r, st.st_size, st.st_mtime_ns]).encode())
            except OSError as e:  # a dangling or looping symlink: skipped below
                h.update(json.dumps([r, e.errno]).encode())
        key = h.hexdigest()
        cache_file = Path(os.fspath(cache_dir)).expanduser() if cache_dir is not None else _default_cache_dir()
        # one file per (folder, size): a changed folder replaces its stale entry
        name = hashlib.sha256(json.dumps([str(root_p), size]).encode()).hexdigest()[:32]
        cache_file = cache_file / f"images_{root_p.name[:40]}_{size}_{name}.npz"
        hit = _read_cache(cache_file, key, root_p, size)
        if hit is not None:
            ds, skipped = hit
            for s in skipped:
                warnings.warn(f"skipped unreadable file: {s}", stacklevel=2)
            if skipped:
                warnings.warn(f"skipped {len(skipped)} of {len(files)} files in {str(root_p)!r} "
                              "(cached result)", stacklevel=2)
            return ds

    images = np.empty((len(files), 1, size, size), dtype=np.float32)
    keep = np.ones(len(files), dtype=bool)
    skipped = []
    for i, p in enumerate(files):
        try:
            images[i, 0] = load_image(p, size)
        except (ValueError, OSError) as e:
            keep[i] = False
            if isinstance(e, FileNotFoundError) and p.is_symlink():
                skipped.append(f"{str(p)!r}: dangling symbolic link (its target does not exist)")
            else:
                skipped.append(str(e) if str(p) in str(e) else f"{str(p)!r}: {e}")
            warnings.warn(f"skipped unreadable file: {skipped[-1]}", stacklevel=2)
    if skipped:
        warnings.warn(f"skipped {len(skipped)} of {len(files)} files in {str(root_p)!r}", stacklevel=2)
    idx = np.flatnonzero(keep)
    labels = np.array([class_names.index(label_names[i]) for i in idx], dtype=np.int64)
    present = sorted({class_names[k] for k in labels.tolist()})
    if len(present) < 2:
        raise ValueError(f"image folder {str(root_p)!r}: readable images found only for "
                         f"{present or 'no class'} out of classes {class_names}")
    ds = ImageDataset(images if keep.all() else images[idx], labels, class_names, [str(files[i]) for i in idx])

    if cache_file is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            arrays = {
                "key": np.array(key), "images": ds.images, "labels": ds.labels,
                "class_names": np.array(class_names, dtype=np.str_),
                "paths": np.array([rel[i] for i in idx], dtype=np.str_).reshape(-1),
                "skipped": np.array(skipped, dtype=np.str_).reshape(-1)}
            atomic_write(cache_file, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
        except OSError as e:
            warnings.warn(f"could not write image cache {str(cache_file)!r}: {e}", stacklevel=2)
    return ds
