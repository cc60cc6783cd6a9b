"""Decoding one image file (or a decoded Pillow image) to float32 grayscale in [0, 1], resized.

Needs Pillow (``pip install "tinygrad_np[vision]"``), imported on first use. How each image mode
is scaled to [0, 1] is described in docs/conventions.md ("Images").
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Union

import numpy as np

from ..serialization import open_regular_file

PathLike = Union[str, "os.PathLike[str]"]

#: File name extensions (lower case) treated as images.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})

#: Largest image (width x height) :func:`load_image` decodes unless told otherwise: 40 megapixels.
#: Larger files are refused from their header, before decoding (the images are downscaled anyway).
MAX_IMAGE_PIXELS = 40_000_000

INSTALL_HINT = 'pip install "tinygrad_np[vision]"'
_REDUCE_ABOVE = 4_000_000  # 8-bit images with more pixels are box-reduced in Pillow before the float copy


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


def _declared_range(img: Any) -> int | None:
    """The largest value a mode "I" image's file declares (from its bit depth), or None."""
    if img.format == "PPM":
        return 65535  # Pillow scales PGM samples with a maxval above 255 to 16 bits
    tags = getattr(img, "tag_v2", None)  # TIFF
    if tags is None:
        return None
    bits, sample_format = tags.get(258), tags.get(339, 1)  # BitsPerSample, SampleFormat (2: signed)
    bits = bits[0] if isinstance(bits, tuple) and bits else bits
    signed = (sample_format[0] if isinstance(sample_format, tuple) and sample_format else sample_format) == 2
    if not isinstance(bits, int) or not 1 <= bits <= 32:
        return None
    return 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1


def _min_max(arr: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)


def to_unit_range(arr: np.ndarray, mode: str, declared: int | None = None) -> np.ndarray:
    """The samples of an integer ("I", "I;16*") or float ("F") Pillow image as float32 in [0, 1].

    "I;16*": divided by 65535. "I": by ``declared`` (the largest value of the file's declared bit
    depth) if it is an 8- or 16-bit depth and not exceeded; else by the smallest of 255, 65535 and
    the 32-bit maximum (2**31 - 1 for declared signed samples, else 2**32 - 1) that holds the
    image's maximum. "F": as is within [0, 1], else by the smallest of 255 and 65535 that holds the
    maximum, else min-max. Negative values: min-max. NaN or Inf: ``ValueError``.
    """
    if mode == "F" and not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{bad} of {arr.size} pixels are NaN or infinite")
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    values = arr.astype(np.float32)
    if lo < 0:
        return _min_max(values, lo, hi)
    if mode.startswith("I;16"):
        return values / np.float32(65535)
    if mode == "F":
        if hi <= 1:
            return values
        scale = next((s for s in (255, 65535) if hi <= s), None)
        return values / np.float32(scale) if scale else _min_max(values, lo, hi)
    if declared is not None and declared <= 65535 and hi <= declared:
        return values / np.float32(declared)  # an 8- or 16-bit declaration is about the data
    # 32 bits is the container of mode "I", often holding 8- or 16-bit values: the smallest of the
    # usual ranges that holds the maximum (up to the declared 32-bit maximum)
    top = declared if declared is not None and declared > 65535 else 2**32 - 1
    return values / np.float32(next(s for s in (255, 65535, max(top, hi)) if hi <= s))


def pil_to_gray(img: Any, size: int) -> np.ndarray:
    """A decoded Pillow image as (size, size) float32 grayscale in [0, 1].

    Transparent pixels are composited over white; integer and float images are scaled by
    :func:`to_unit_range` (``ValueError`` for NaN or Inf pixels).
    """
    from PIL import Image, ImageOps

    declared = _declared_range(img) if img.mode == "I" else None  # before exif_transpose copies it
    img = ImageOps.exif_transpose(img)
    if img.mode.startswith("I") or img.mode == "F":
        return resize(to_unit_range(np.asarray(img), img.mode, declared), size)
    if "A" in img.mode or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    gray = img.convert("L")
    factor = min(gray.size) // (4 * size)
    if gray.width * gray.height > _REDUCE_ABOVE and factor >= 2:
        gray = gray.reduce(factor)  # box average in Pillow: the float copy below stays small
    return resize(np.asarray(gray, dtype=np.float32) / 255.0, size)


def check_max_pixels(max_pixels: int | None) -> int | None:
    """`max_pixels` if it is a positive integer or None; ValueError otherwise."""
    if max_pixels is not None and (isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer))
                                   or max_pixels < 1):
        raise ValueError(f"max_pixels must be a positive integer or None, got {max_pixels!r}")
    return max_pixels


def load_image(path: PathLike, size: int = 50, *, max_pixels: int | None = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode one image file to a (size, size) float32 grayscale array in [0, 1].

    The whole image is resized (anti-aliased) to a square, without cropping, so a non-square
    image is stretched. Only regular files (or symlinks to them) are read. An image of more than
    ``max_pixels`` pixels (default :data:`MAX_IMAGE_PIXELS`, 40 Mpx; None: Pillow's own limit)
    is refused from its header, before decoding. Raises ``FileNotFoundError`` for a missing file
    (or a dangling symlink), ``IsADirectoryError`` for a directory and ``ValueError`` naming the
    file for anything else: a FIFO or device, a file that cannot be decoded, a larger image than
    ``max_pixels``, NaN or infinite pixels.
    """
    size = check_size(size)
    max_pixels = check_max_pixels(max_pixels)
    Image = require_pillow()
    name = os.fspath(path)
    try:
        with open_regular_file(name, "image") as f:
            with warnings.catch_warnings():
                if max_pixels is not None:  # the size is checked just below
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                try:
                    img = Image.open(f)
                except Image.DecompressionBombError as e:  # above twice Pillow's own limit
                    cap = f"more than the cap of {max_pixels:,} pixels: " if max_pixels else ""
                    raise ValueError(f"the image has {cap}{e}") from None
            with img:
                w, h = img.size
                if max_pixels is not None and w * h > max_pixels:
                    raise ValueError(f"the image is {w}x{h} = {w * h:,} pixels, more than the cap of "
                                     f"{max_pixels:,} (max_pixels, default tinygrad_np.data.MAX_IMAGE_PIXELS)")
                if img.format == "JPEG":  # let libjpeg decode at a reduced scale: much faster
                    img.draft("L", (2 * size, 2 * size))
                img.load()
                return pil_to_gray(img, size)
    except (FileNotFoundError, IsADirectoryError):
        raise
    except ValueError as e:
        raise ValueError(str(e) if name in str(e) else f"cannot read image {name!r}: {e}") from e
    except Exception as e:  # Pillow raises many exception types for broken files
        raise ValueError(f"cannot read image {name!r}: {type(e).__name__}: {e}") from e
