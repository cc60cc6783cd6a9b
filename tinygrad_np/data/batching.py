"""Arrays to batches: per-sample standardisation, a stratified train/validation split, batches."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..random import as_generator
from .dataset import ImageDataset


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

    With ``shuffle`` the order is drawn from ``rng`` (a Generator or a seed; None means the default
    generator, which ``tg.manual_seed`` seeds). The last batch may be smaller unless ``drop_last``.
    Arguments are checked at once.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"iterate_batches: batch_size must be a positive integer, got {batch_size!r}")
    if len(images) != len(labels):
        raise ValueError(f"iterate_batches: images has {len(images)} samples but labels has {len(labels)}")
    n, bs = len(images), int(batch_size)
    order = as_generator(rng, "iterate_batches").permutation(n) if shuffle else None
    stop = n - n % bs if drop_last else n

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, stop, bs):
            if order is None:
                yield images[start:start + bs], labels[start:start + bs]
            else:
                idx = order[start:start + bs]
                yield images[idx], labels[idx]

    return batches()
