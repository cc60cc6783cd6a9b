"""Small image datasets shipped inside scikit-image (no download needed).

Re-exported by :mod:`tinygrad_np.data`; needs ``pip install "tinygrad_np[vision]"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dataset import ImageDataset
from .images import check_size, pil_to_gray, require_pillow, resize

__all__ = ["load_builtin_cat", "load_builtin_faces"]


def _require_skimage_data() -> Any:
    try:
        import skimage.data
    except ImportError as e:
        raise ImportError('the built-in datasets need scikit-image: pip install "tinygrad_np[vision]"') from e
    return skimage.data


def _to_unit(arr: np.ndarray) -> np.ndarray:
    """Integer images scaled by their dtype's maximum; float images taken as already in [0, 1]."""
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.float32) / np.float32(np.iinfo(arr.dtype).max)
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def load_builtin_faces(size: int = 50) -> ImageDataset:
    """200 grayscale 25x25 patches from LFW (``skimage.data.lfw_subset``), resized to size x size.

    The first 100 are faces (label 0, "face"), the last 100 are background patches (label 1,
    "not_face"). ``paths`` are "lfw_subset[i]".
    """
    size = check_size(size)
    raw = np.asarray(_require_skimage_data().lfw_subset())
    if raw.shape != (200, 25, 25):
        raise ValueError(f"load_builtin_faces: unexpected lfw_subset shape {raw.shape}, expected (200, 25, 25)")
    faces = _to_unit(raw)
    images = np.stack([resize(img, size) for img in faces])[:, None]  # (200, 1, size, size)
    labels = np.repeat(np.arange(2, dtype=np.int64), 100)
    return ImageDataset(images, labels, ["face", "not_face"], [f"lfw_subset[{i}]" for i in range(200)])


def load_builtin_cat(size: int = 50) -> np.ndarray:
    """The photo of Chelsea the cat (``skimage.data.chelsea``) as (size, size) float32 grayscale
    in [0, 1], converted and resized like :func:`tinygrad_np.data.load_image`."""
    size = check_size(size)
    Image = require_pillow()
    rgb = np.asarray(_require_skimage_data().chelsea())
    return pil_to_gray(Image.fromarray(rgb), size)
