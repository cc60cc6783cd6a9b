"""Decoding one image file (or a decoded Pillow image) to float32 grayscale in [0, 1], resized.

Needs Pillow (``pip install "tinygrad_np[vision]"``), imported on first use.
"""
from __future__ import annotations

import os
from typing import Any, Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]

#: File name extensions (lower case) treated as images.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})

INSTALL_HINT = 'pip install "tinygrad_np[vision]"'


def require_pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(f"decoding images needs Pillow: {INSTALL_HINT}") from e
    return Image


def check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    return int(size)


def resize(arr: np.ndarray, size: int) -> np.ndarray:
    """Anti-aliased (Lanczos) resize of a 2-D float array to (size, size), clipped to [0, 1]."""
    Image = require_pillow()
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.shape != (size, size):
        img = Image.fromarray(arr).resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
        arr = np.asarray(img, dtype=np.float32)
    return np.clip(arr, 0.0, 1.0)


def pil_to_gray(img: Any, size: int) -> np.ndarray:
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
    return resize(arr, size)


def load_image(path: PathLike, size: int = 50) -> np.ndarray:
    """Decode one image file to a (size, size) float32 grayscale array in [0, 1].

    The whole image is resized (anti-aliased) to a square, without cropping, so a non-square
    image is stretched. Raises ``FileNotFoundError`` for a missing file and ``ValueError``
    naming the file for anything that cannot be decoded.
    """
    size = check_size(size)
    Image = require_pillow()
    name = os.fspath(path)
    try:
        with Image.open(name) as img:
            if img.format == "JPEG":  # let libjpeg decode at a reduced scale: much faster
                img.draft("L", (2 * size, 2 * size))
            img.load()
            return pil_to_gray(img, size)
    except (FileNotFoundError, IsADirectoryError):
        raise
    except Exception as e:  # Pillow raises many exception types for broken files
        raise ValueError(f"cannot read image {name!r}: {type(e).__name__}: {e}") from e
