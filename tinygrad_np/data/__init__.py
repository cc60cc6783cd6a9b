"""Image datasets, batching and splits, as plain NumPy arrays.

This package depends on NumPy only at import time. Decoding images needs Pillow, the built-in
datasets need scikit-image; both come with ``pip install "tinygrad_np[vision]"``.

Images are float32 grayscale in [0, 1] with shape (N, 1, size, size), ready for ``conv2d``
(NCHW). They are not standardised: call :func:`standardize` for zero mean, unit variance.
Images larger than ``MAX_IMAGE_PIXELS`` (40 Mpx), FIFOs, devices, dangling symlinks and files
with NaN pixels are refused (``load_image``) or skipped with a warning (``load_image_folder``).

Example::

    ds = load_image_folder("~/data/cats_vs_dogs/train", size=50)   # cache in ~/.cache/tinygrad_np
    train, val = train_val_split(ds, val_fraction=0.2, seed=0)
    for x, y in iterate_batches(standardize(train.images), train.labels, 64,
                                rng=np.random.default_rng(0)):
        ...
"""

from .batching import iterate_batches, standardize, train_val_split
from .builtin import load_builtin_cat, load_builtin_faces
from .dataset import ImageDataset
from .folders import load_image_folder
from .images import IMAGE_EXTENSIONS, MAX_IMAGE_PIXELS, load_image

__all__ = ["IMAGE_EXTENSIONS", "MAX_IMAGE_PIXELS", "ImageDataset", "iterate_batches", "load_builtin_cat",
           "load_builtin_faces", "load_image", "load_image_folder", "standardize", "train_val_split"]
