"""PNG grids of ZhangCNN's feature maps for one image and of its learned filters (matplotlib, Agg)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_np as tg

from .zhang_cnn import MAP_STAGES, ZhangCNN

#: file name and title of each drawn stage of `ZhangCNN.forward_features`
STAGE_FILES = {
    "input": ("0_input.png", "input (standardised), 50x50"),
    "sigmoid1": ("1_conv1_threshold_sigmoid.png", "conv1 + threshold + sigmoid: 6 maps of 40x40"),
    "pool1": ("2_pool1.png", "pool1 (2x2 mean): 6 maps of 20x20"),
    "sigmoid2": ("3_conv2_threshold_sigmoid.png", "conv2 + threshold + sigmoid: 12 maps of 16x16"),
    "pool2": ("4_pool2.png", "pool2 (2x2 mean): 12 maps of 8x8"),
}
FILTER_FILES = {
    "conv1": ("5_conv1_filters.png", "conv1 filters: 6 of 11x11"),
    "conv2": ("6_conv2_filters.png", "conv2 filters: 12 x 6 kernels of 5x5"),
}


def _plt() -> Any:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_grid(images: np.ndarray, path: Path, title: str, ncols: int | None = None,
              labels: list[str] | None = None, shared_scale: bool = False) -> Path:
    """Draw images (K, H, W) in a grid with a gray colormap and save a PNG.

    Each image is scaled to its own min..max unless shared_scale (then one scale for all, which
    shows how strongly the maps differ; used for sigmoid outputs in [0, 1]).
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"save_grid: expected a stack of images (K, H, W) with K >= 1, got shape {images.shape}")
    plt = _plt()
    k = len(images)
    ncols = ncols or min(k, 6)
    nrows = -(-k // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(1.6 * ncols, 4.5), 1.6 * nrows + 0.6), squeeze=False,
                             layout="constrained")
    vmin, vmax = (images.min(), images.max()) if shared_scale else (None, None)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < k:
            ax.imshow(images[i], cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
            if k > 1 or labels:
                ax.set_title(labels[i] if labels else str(i), fontsize=8)
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def save_mosaic(blocks: np.ndarray, path: Path, title: str, row_label: str, col_label: str) -> Path:
    """Draw blocks (R, C, h, w) as one R x C mosaic (each block scaled to its own range) and save a PNG.

    One image instead of R*C subplots: fast even for conv2's 72 filters.
    """
    blocks = np.asarray(blocks, dtype=np.float64)
    if blocks.ndim != 4:
        raise ValueError(f"save_mosaic: expected blocks (R, C, h, w), got shape {blocks.shape}")
    rows, cols, h, w = blocks.shape
    lo = blocks.min(axis=(2, 3), keepdims=True)
    span = blocks.max(axis=(2, 3), keepdims=True) - lo
    scaled = (blocks - lo) / np.where(span > 0, span, 1.0)
    mosaic = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)   # NaN gaps drawn white
    for r in range(rows):
        for c in range(cols):
            mosaic[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = scaled[r, c]
    plt = _plt()
    cmap = plt.get_cmap("gray").with_extremes(bad="white")
    fig, ax = plt.subplots(figsize=(0.5 * cols + 1.5, 0.5 * rows + 1.0), layout="constrained")
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([c * (w + 1) + (w - 1) / 2 for c in range(cols)], [str(c) for c in range(cols)])
    ax.set_yticks([r * (h + 1) + (h - 1) / 2 for r in range(rows)], [str(r) for r in range(rows)])
    ax.tick_params(length=0, labelsize=8)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlabel(col_label, fontsize=9)
    ax.set_ylabel(row_label, fontsize=9)
    ax.set_title(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def feature_maps(model: ZhangCNN, image: np.ndarray) -> dict[str, np.ndarray]:
    """The maps (C, H, W) of every drawn stage for one image (50, 50) in [0, 1]; also "output" (2,)."""
    image = np.asarray(image, dtype=np.float32)
    if image.shape != (50, 50):
        raise ValueError(f"feature_maps: expected one 50x50 grayscale image, got shape {image.shape}")
    x = ZhangCNN.preprocess(image[None, None])                     # (1, 1, 50, 50)
    with tg.no_grad():
        f = model.forward_features(x)
    maps = {name: f[name].data[0] for name in ("input",) + MAP_STAGES}
    maps["output"] = f["output"].data[0]
    return maps


def save_features(model: ZhangCNN, image: np.ndarray, out_dir: Path, image_name: str = "",
                  class_names: list[str] | None = None) -> list[Path]:
    """Write the feature-map grids of one image and the filter grids to out_dir; returns the paths."""
    maps = feature_maps(model, image)
    scores = maps["output"]
    names = class_names or ["class 0", "class 1"]
    verdict = ", ".join(f"{n} {s:.3f}" for n, s in zip(names, scores, strict=False))
    suffix = f"\n{image_name}: {verdict}" if image_name else f"\n{verdict}"
    written = []
    for stage, (fname, title) in STAGE_FILES.items():
        shared = stage != "input"
        written.append(save_grid(maps[stage], out_dir / fname, title + suffix, shared_scale=shared))
    w1 = model.conv1.weight.data[:, 0]                               # (6, 11, 11)
    t1 = model.thr1.value.data
    written.append(save_grid(w1, out_dir / FILTER_FILES["conv1"][0], FILTER_FILES["conv1"][1],
                             labels=[f"{i}: t={t:+.2f}" for i, t in enumerate(t1)]))
    w2 = model.conv2.weight.data                                     # (12, 6, 5, 5)
    written.append(save_mosaic(w2, out_dir / FILTER_FILES["conv2"][0], FILTER_FILES["conv2"][1],
                               row_label="output map (conv2 filter)", col_label="input map (from pool1)"))
    return written
