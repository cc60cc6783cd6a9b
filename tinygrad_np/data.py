"""Image datasets, batching and splits, as plain NumPy arrays.

This module depends on NumPy only at import time. Decoding images needs Pillow, the built-in
datasets need scikit-image; both come with ``pip install "tinygrad_np[vision]"``.

Images are float32 grayscale in [0, 1] with shape (N, 1, size, size), ready for ``conv2d``
(NCHW). They are not standardised: call :func:`standardize` for zero mean, unit variance.

Example::

    ds = load_image_folder("~/data/cats_vs_dogs/train", size=50)   # cache in ~/.cache/tinygrad_np
    train, val = train_val_split(ds, val_fraction=0.2, seed=0)
    for x, y in iterate_batches(standardize(train.images), train.labels, 64,
                                rng=np.random.default_rng(0)):
        ...
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from .datasets_builtin import load_builtin_cat, load_builtin_faces
from .serialization import atomic_write

__all__ = ["IMAGE_EXTENSIONS", "ImageDataset", "iterate_batches", "load_builtin_cat", "load_builtin_faces",
           "load_image", "load_image_folder", "standardize", "train_val_split"]

PathLike = Union[str, "os.PathLike[str]"]

#: File name extensions (lower case) treated as images.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})

_CACHE_VERSION = "tinygrad_np.image_cache.v1"
_INSTALL_HINT = 'pip install "tinygrad_np[vision]"'


@dataclass(eq=False, repr=False)
class ImageDataset:
    """Images with integer labels.

    ``images``: (N, 1, H, W) float32 in [0, 1]; ``labels``: (N,) int64 indices into
    ``class_names``; ``paths``: where each image came from (a file path, or e.g. "lfw_subset[17]").
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    paths: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.images = np.asarray(self.images)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.class_names = list(self.class_names)
        self.paths = list(self.paths)
        n = len(self.images)
        if self.images.ndim != 4:
            raise ValueError(f"ImageDataset: images must be (N, C, H, W), got shape {self.images.shape}")
        if self.labels.shape != (n,):
            raise ValueError(f"ImageDataset: {n} images but labels have shape {self.labels.shape}")
        if len(self.paths) != n:
            raise ValueError(f"ImageDataset: {n} images but {len(self.paths)} paths")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(f"ImageDataset: labels must lie in [0, {len(self.class_names)}) for "
                             f"class_names {self.class_names}, got range "
                             f"[{self.labels.min()}, {self.labels.max()}]")

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        per_class = ", ".join(f"{c}: {k}" for c, k in zip(self.class_names, counts))
        return f"ImageDataset(n={len(self)}, image_shape={self.images.shape[1:]}, classes={{{per_class}}})"

    def subset(self, indices: Sequence[int] | np.ndarray) -> ImageDataset:
        """A new dataset with the samples at ``indices`` (integer indices or a boolean mask)."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"subset: boolean mask has shape {idx.shape}, dataset has {len(self)} samples")
            idx = np.flatnonzero(idx)
        elif idx.size == 0:
            idx = idx.astype(np.int64)
        elif not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"subset: indices must be integers or a boolean mask, got dtype {idx.dtype}")
        idx = idx.reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise ValueError(f"subset: indices out of range for a dataset of {len(self)} samples "
                             f"(got min {idx.min()}, max {idx.max()})")
        return ImageDataset(self.images[idx], self.labels[idx], list(self.class_names),
                            [self.paths[i] for i in idx.tolist()])


# ----------------------------------------------------------------------------- decoding

def _require_pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(f"decoding images needs Pillow: {_INSTALL_HINT}") from e
    return Image


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    return int(size)


def _resize(arr: np.ndarray, size: int) -> np.ndarray:
    """Anti-aliased (Lanczos) resize of a 2-D float array to (size, size), clipped to [0, 1]."""
    Image = _require_pillow()
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.shape != (size, size):
        img = Image.fromarray(arr).resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
        arr = np.asarray(img, dtype=np.float32)
    return np.clip(arr, 0.0, 1.0)


def _pil_to_gray(img: Any, size: int) -> np.ndarray:
    """A decoded Pillow image as (size, size) float32 grayscale in [0, 1].

    Transparent pixels are composited over white; 16-bit images are scaled by 1/65535.
    """
    from PIL import Image, ImageOps

    img = ImageOps.exif_transpose(img)
    if img.mode.startswith("I"):  # I, I;16, I;16B, ...: 16-bit grayscale
        arr = np.asarray(img, dtype=np.float32) / 65535.0
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float32)
    else:
        if "A" in img.mode or "transparency" in img.info:
            rgba = img.convert("RGBA")
            img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        arr = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    return _resize(arr, size)


def load_image(path: PathLike, size: int = 50) -> np.ndarray:
    """Decode one image file to a (size, size) float32 grayscale array in [0, 1].

    The whole image is resized (anti-aliased) to a square, without cropping, so a non-square
    image is stretched. Raises ``FileNotFoundError`` for a missing file and ``ValueError``
    naming the file for anything that cannot be decoded.
    """
    size = _check_size(size)
    Image = _require_pillow()
    name = os.fspath(path)
    try:
        with Image.open(name) as img:
            if img.format == "JPEG":  # let libjpeg decode at a reduced scale: much faster
                img.draft("L", (2 * size, 2 * size))
            img.load()
            return _pil_to_gray(img, size)
    except (FileNotFoundError, IsADirectoryError):
        raise
    except Exception as e:  # Pillow raises many exception types for broken files
        raise ValueError(f"cannot read image {name!r}: {type(e).__name__}: {e}") from e


# ----------------------------------------------------------------------------- folders

def _is_image(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _images_in(folder: Path, recursive: bool) -> list[Path]:
    if not recursive:
        return sorted(p for p in folder.iterdir() if p.is_file() and _is_image(p.name))
    found = []
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
        if images.dtype != np.float32 or images.shape[1:] != (1, size, size):
            raise ValueError(f"images have dtype {images.dtype} and shape {images.shape}")
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

    Hidden files and folders (name starting with ".") are ignored. Files that cannot be decoded
    are skipped with one warning each plus a summary. Samples are in sorted path order.

    With ``cache=True`` the decoded arrays are stored as .npz in ``cache_dir`` (default
    ``$TINYGRAD_NP_CACHE`` or ``~/.cache/tinygrad_np``), keyed by the folder, ``size`` and each
    file's path, byte size and modification time; a later call with unchanged files reads them
    from there without decoding. Each (folder, size) has one cache file, replaced when the
    folder changes.
    """
    size = _check_size(size)
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
        for r, p in zip(rel, files):
            st = p.stat()
            h.update(json.dumps([r, st.st_size, st.st_mtime_ns]).encode())
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
            atomic_write(cache_file, lambda f: np.savez(f, **arrays))
        except OSError as e:
            warnings.warn(f"could not write image cache {str(cache_file)!r}: {e}", stacklevel=2)
    return ds


# ----------------------------------------------------------------------------- arrays

def standardize(images: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Per-sample standardisation: each ``images[i]`` (over all its C, H, W) gets mean 0, std 1.

    Samples whose std is at most ``eps`` (constant images) become all zeros. Floating inputs keep
    their dtype; integer inputs are returned as float32.
    """
    x = np.asarray(images)
    if x.ndim < 2:
        raise ValueError(f"standardize: expected a batch of shape (N, ...), got shape {x.shape}")
    out_dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float32)
    x64 = x.astype(np.float64)
    axes = tuple(range(1, x.ndim))
    mean = x64.mean(axis=axes, keepdims=True)
    std = x64.std(axis=axes, keepdims=True)
    scale = np.divide(1.0, std, out=np.zeros_like(std), where=std > eps)
    return ((x64 - mean) * scale).astype(out_dtype)


def train_val_split(ds: ImageDataset, val_fraction: float = 0.2,
                    seed: int = 0) -> tuple[ImageDataset, ImageDataset]:
    """Split ``ds`` into (train, val), stratified: each class contributes about ``val_fraction``
    of its samples to val. Deterministic for a given ``seed``; both parts keep dataset order.

    ``val_fraction=0`` returns the whole dataset and an empty val set; a positive fraction that
    would leave either part empty raises ``ValueError``.
    """
    f = float(val_fraction)
    if not 0.0 <= f < 1.0:
        raise ValueError(f"train_val_split: val_fraction must be in [0, 1), got {val_fraction!r}")
    rng = np.random.default_rng(seed)
    val_parts = []
    for c in range(len(ds.class_names)):
        members = np.flatnonzero(ds.labels == c)
        n_val = int(np.floor(f * len(members) + 0.5))
        val_parts.append(rng.permutation(members)[:n_val])
    val_idx = np.sort(np.concatenate(val_parts)) if val_parts else np.zeros(0, dtype=np.int64)
    train_mask = np.ones(len(ds), dtype=bool)
    train_mask[val_idx] = False
    n_train = int(train_mask.sum())
    if n_train == 0 or (f > 0 and len(val_idx) == 0):
        raise ValueError(f"train_val_split: val_fraction={f} on {len(ds)} samples gives "
                         f"{n_train} train and {len(val_idx)} val samples; both must be non-empty")
    return ds.subset(np.flatnonzero(train_mask)), ds.subset(val_idx)


def iterate_batches(images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool = True,
                    rng: np.random.Generator | int | None = None,
                    drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(x_batch, y_batch)`` pairs covering the data once.

    With ``shuffle`` the order is drawn from ``rng`` (a Generator or a seed; None means fresh OS
    entropy). The last batch may be smaller unless ``drop_last``. Arguments are checked at once.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"iterate_batches: batch_size must be a positive integer, got {batch_size!r}")
    if len(images) != len(labels):
        raise ValueError(f"iterate_batches: images has {len(images)} samples but labels has {len(labels)}")
    n, bs = len(images), int(batch_size)
    order = np.random.default_rng(rng).permutation(n) if shuffle else None
    stop = n - n % bs if drop_last else n

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, stop, bs):
            if order is None:
                yield images[start:start + bs], labels[start:start + bs]
            else:
                idx = order[start:start + bs]
                yield images[idx], labels[idx]

    return batches()
