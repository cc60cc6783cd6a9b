"""`ImageDataset`: images with integer labels and where each came from."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


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
        per_class = ", ".join(f"{c}: {k}" for c, k in zip(self.class_names, counts, strict=False))
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
