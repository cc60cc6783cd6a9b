"""The original project's forward pass: per-pixel Python loops over every map and output pixel.

Kept as the baseline of the speed comparison ("forward pass through cnn is so slow"): the
same network as models/zhang_cnn.py (conv 6x11x11, thresholds, sigmoid, 2x2 mean pool,
conv 12x6x5x5, thresholds, sigmoid, 2x2 mean pool, column-wise vectorisation, 2x768 fully
connected layer with thresholds, sigmoid), one image at a time.
"""
from __future__ import annotations

import math

import numpy as np


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of one 2-D map with one 2-D kernel, pixel by pixel."""
    kh, kw = kernel.shape
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for r in range(oh):
        for s in range(ow):
            out[r, s] = np.sum(image[r:r + kh, s:s + kw] * kernel)
    return out


def _mean_pool(fmap: np.ndarray) -> np.ndarray:
    oh, ow = fmap.shape[0] // 2, fmap.shape[1] // 2
    out = np.zeros((oh, ow))
    for r in range(oh):
        for s in range(ow):
            out[r, s] = fmap[2 * r:2 * r + 2, 2 * s:2 * s + 2].mean()
    return out


def forward_one_image(image: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """Outputs (2,) for one standardised 50x50 image, with loops as in the original project.

    params: "conv1.weight" (6, 1, 11, 11), "thr1.value" (6,), "conv2.weight" (12, 6, 5, 5),
    "thr2.value" (12,), "fc.weight" (2, 768), "fc.bias" (2,).
    """
    w1, t1 = params["conv1.weight"], params["thr1.value"]
    w2, t2 = params["conv2.weight"], params["thr2.value"]
    pooled1 = []
    for f in range(w1.shape[0]):
        fmap = _correlate(image, w1[f, 0])
        for r in range(fmap.shape[0]):
            for s in range(fmap.shape[1]):
                fmap[r, s] = _sigmoid(fmap[r, s] + t1[f])
        pooled1.append(_mean_pool(fmap))
    vectors = []
    for f in range(w2.shape[0]):
        fmap = sum(_correlate(pooled1[c], w2[f, c]) for c in range(w2.shape[1]))
        for r in range(fmap.shape[0]):
            for s in range(fmap.shape[1]):
                fmap[r, s] = _sigmoid(fmap[r, s] + t2[f])
        pooled = _mean_pool(fmap)
        vectors.append(pooled.flatten(order="F"))  # column-wise vectorisation
    features = np.concatenate(vectors)
    out = np.zeros(2)
    for k in range(2):
        out[k] = _sigmoid(float(np.dot(params["fc.weight"][k], features)) + params["fc.bias"][k])
    return out
