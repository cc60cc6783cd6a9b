"""The CNN of the original pure-NumPy project, written as ordinary tinygrad_np tensor code.

    input (N, 1, 50, 50), each image standardised by `ZhangCNN.preprocess` (mean 0, std 1)
    conv1 6 x 11x11, no bias  -> thr1 (6 thresholds)  -> sigmoid -> pool1 2x2 mean  (N, 6, 20, 20)
    conv2 12 x 6 x 5x5        -> thr2 (12 thresholds) -> sigmoid -> pool2 2x2 mean  (N, 12, 8, 8)
    column-major vectorisation of each 8x8 map, maps concatenated in channel order  (N, 768)
    fc 768 -> 2 (its bias holds the 2 output thresholds) -> sigmoid                  (N, 2)

Output k is the score of class k (target [1, 0] for class 0, [0, 1] for class 1); 4,082
parameters. Standardisation happens outside the graph, in `preprocess`, which the training
loop, `evaluate`, `predict` and `features` apply to every image before the forward pass.

Command line: `zhang-cnn --help` or `python -m models.cli --help` (see models/cli.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

import tinygrad_np as tg
from tinygrad_np import data as tgdata
from tinygrad_np import functional as F
from tinygrad_np import nn

INPUT_SIZE = 50
LOSSES = ("mse", "ce")
#: forward_features keys of the maps drawn by `zhang-cnn features`, in network order
MAP_STAGES = ("sigmoid1", "pool1", "sigmoid2", "pool2")

Seed = None | int | np.random.Generator


class LayerInfo(NamedTuple):
    """One row of `ZhangCNN.summary()`: output shape with the batch axis as -1."""
    name: str
    output_shape: tuple[int, ...]
    num_params: int


class ZhangCNN(nn.Module):
    """The specified two-stage CNN; `rng` (a seed or a Generator; None: the default generator, which
    `tg.manual_seed` seeds) makes the initialisation reproducible.

    Weights start as PyTorch's defaults (uniform in +-1/sqrt(fan_in)), drawn from `rng` in the order
    conv1, conv2, fc; thresholds start at 0.
    """

    def __init__(self, rng: Seed = None, dtype: Any = np.float32):
        super().__init__()
        rng = tg.random.as_generator(rng, "ZhangCNN")
        self.conv1 = nn.Conv2d(1, 6, 11, bias=False, rng=rng, dtype=dtype)
        self.thr1 = nn.Threshold(6, dtype=dtype)
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(6, 12, 5, bias=False, rng=rng, dtype=dtype)
        self.thr2 = nn.Threshold(12, dtype=dtype)
        self.pool2 = nn.AvgPool2d(2)
        self.fc = nn.Linear(12 * 8 * 8, 2, rng=rng, dtype=dtype)

    @staticmethod
    def preprocess(images: np.ndarray) -> np.ndarray:
        """Standardise each image (N, 1, 50, 50) to mean 0 and std 1 (constant images become 0)."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1:] != (1, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"ZhangCNN.preprocess: expected images of shape (N, 1, {INPUT_SIZE}, "
                             f"{INPUT_SIZE}), got {images.shape}")
        return tgdata.standardize(images)

    def forward_features(self, x: Any) -> dict[str, tg.Tensor]:
        """Every stage of the forward pass by name, in order, from "input" to "output" (N, 2)."""
        x = x if isinstance(x, tg.Tensor) else tg.Tensor(x, dtype=self.fc.weight.dtype)
        if x.ndim != 4 or x.shape[1:] != (1, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"ZhangCNN: input must have shape (N, 1, {INPUT_SIZE}, {INPUT_SIZE}), got {x.shape}")
        f: dict[str, tg.Tensor] = {"input": x}
        f["conv1"] = self.conv1(x)                     # (N, 1, 50, 50) x (6, 1, 11, 11) -> (N, 6, 40, 40)
        f["thr1"] = self.thr1(f["conv1"])              # + per-channel threshold (6,)
        f["sigmoid1"] = f["thr1"].sigmoid()
        f["pool1"] = self.pool1(f["sigmoid1"])         # (N, 6, 20, 20)
        f["conv2"] = self.conv2(f["pool1"])            # (N, 6, 20, 20) x (12, 6, 5, 5) -> (N, 12, 16, 16)
        f["thr2"] = self.thr2(f["conv2"])              # + per-channel threshold (12,)
        f["sigmoid2"] = f["thr2"].sigmoid()
        f["pool2"] = self.pool2(f["sigmoid2"])         # (N, 12, 8, 8)
        n = x.shape[0]
        # column-major vectorisation: (N, 12, 8, 8) -> (N, 12, 8[col], 8[row]) -> (N, 768)
        f["vector"] = f["pool2"].transpose(2, 3).reshape(n, 12 * 8 * 8)
        f["logits"] = self.fc(f["vector"])             # (N, 768) x (768, 2) + (2,) -> (N, 2)
        f["output"] = f["logits"].sigmoid()
        return f

    def forward(self, x: Any) -> tg.Tensor:
        """The network's output (N, 2), each entry in (0, 1)."""
        return self.forward_features(x)["output"]

    def loss(self, x: Any, labels: np.ndarray, kind: str = "mse") -> tuple[tg.Tensor, tg.Tensor]:
        """(scalar loss, output (N, 2)) for integer labels (N,) in {0, 1}.

        "mse": 0.5 * sum over the 2 outputs of (output - one_hot(label))^2, averaged over the batch;
        "ce": softmax cross-entropy of the pre-sigmoid fc output, averaged over the batch.
        """
        labels = np.asarray(labels)
        if kind not in LOSSES:
            raise ValueError(f"ZhangCNN.loss: kind must be one of {LOSSES}, got {kind!r}")
        if labels.ndim != 1 or labels.dtype.kind not in "iu" or (labels.size and not
                                                                  np.isin(labels, (0, 1)).all()):
            raise ValueError(f"ZhangCNN.loss: labels must be a 1-D integer array of 0s and 1s, got "
                             f"dtype {labels.dtype}, shape {labels.shape}")
        f = self.forward_features(x)
        n = f["output"].shape[0]
        if labels.shape != (n,):
            raise ValueError(f"ZhangCNN.loss: {n} images but labels have shape {labels.shape}")
        if kind == "ce":
            return F.cross_entropy(f["logits"], labels), f["output"]
        target = np.eye(2, dtype=f["output"].dtype)[labels]          # (N, 2) one-hot
        sse = ((f["output"] - target) ** 2).sum()
        return sse * (0.5 / n), f["output"]

    def summary(self, print_table: bool = True) -> list[LayerInfo]:
        """Each layer's output shape (batch axis shown as -1) and parameter count; prints a table."""
        counts = {name: m.num_parameters() for name, m in self.named_children()}
        with tg.no_grad():
            f = self.forward_features(np.zeros((1, 1, INPUT_SIZE, INPUT_SIZE), dtype=self.fc.weight.dtype))
        rows = [LayerInfo(name, (-1,) + f[name].shape[1:], counts.get(name, 0))
                for name in ("conv1", "thr1", "sigmoid1", "pool1", "conv2", "thr2", "sigmoid2", "pool2",
                             "vector")]
        rows.append(LayerInfo("fc", (-1,) + f["logits"].shape[1:], counts["fc"]))
        rows.append(LayerInfo("output", (-1,) + f["output"].shape[1:], 0))
        if print_table:
            print(format_summary(rows))
        return rows


def format_summary(rows: Sequence[LayerInfo]) -> str:
    """A text table of `ZhangCNN.summary()` rows with the total parameter count."""
    lines = [f"{'layer':<10}{'output shape':<22}{'params':>8}", "-" * 40]
    for r in rows:
        shape = "(N, " + ", ".join(str(d) for d in r.output_shape[1:]) + ")"
        lines.append(f"{r.name:<10}{shape:<22}{r.num_params:>8,}")
    lines += ["-" * 40, f"{'total':<32}{sum(r.num_params for r in rows):>8,}"]
    return "\n".join(lines)
