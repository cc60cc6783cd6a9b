"""The models people write, built the same way with tg.nn or torch.nn (same layer names, so
one state_dict loads into both): LeNet-5, a VGG-style 3x3 stack, the same stack with batch norm
and dropout, and a ResNet basic-block stack. Used by bench_models.py and per_op.py."""
from __future__ import annotations

from typing import Any

import numpy as np

MODELS = ("lenet5", "vgg", "vgg_bn", "resnet")
#: Input shape (C, H, W) of each model.
INPUT_SHAPES = {"lenet5": (1, 28, 28), "vgg": (3, 32, 32), "vgg_bn": (3, 32, 32), "resnet": (3, 32, 32)}


def _conv(nn: Any, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0, bias: bool = True,
          **kw: Any) -> Any:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=bias, **kw)


def _bn(nn: Any, c: int, kw: dict[str, Any]) -> Any:
    return nn.BatchNorm2d(c, **({"dtype": kw["dtype"]} if "dtype" in kw else {}))


def lenet5(nn: Any, **kw: Any) -> Any:
    """LeNet-5 on 28x28: conv5x5 (pad 2) 6, relu, maxpool2, conv5x5 16, relu, maxpool2, fc 120, 84, 10."""
    return nn.Sequential(
        _conv(nn, 1, 6, 5, padding=2, **kw), nn.ReLU(), nn.MaxPool2d(2),
        _conv(nn, 6, 16, 5, **kw), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120, **kw), nn.ReLU(), nn.Linear(120, 84, **kw), nn.ReLU(), nn.Linear(84, 10, **kw))


def vgg(nn: Any, batch_norm: bool = False, **kw: Any) -> Any:
    """Two stages of two conv3x3 (pad 1) + relu (32, then 64 channels), maxpool2 after each, fc 10;
    with batch_norm: BatchNorm2d after each conv and Dropout(0.5) before the classifier."""
    layers: list[Any] = []
    cin = 3
    for cout in (32, 64):
        for _ in range(2):
            layers.append(_conv(nn, cin, cout, 3, padding=1, bias=not batch_norm, **kw))
            if batch_norm:
                layers.append(_bn(nn, cout, kw))
            layers.append(nn.ReLU())
            cin = cout
        layers.append(nn.MaxPool2d(2))
    layers.append(nn.Flatten())
    if batch_norm:
        layers.append(nn.Dropout(0.5))
    layers.append(nn.Linear(64 * 8 * 8, 10, **kw))
    return nn.Sequential(*layers)


def resnet(nn: Any, **kw: Any) -> Any:
    """Stem conv3x3 16 + BN + relu, one basic block per stage (16, 32, 64 channels; the last two
    stride 2, their shortcut a 1x1 stride-2 conv + BN, identity otherwise), global average
    pooling, fc 10."""

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = _conv(nn, cin, cout, 3, stride, 1, bias=False, **kw)
            self.bn1 = _bn(nn, cout, kw)
            self.relu1 = nn.ReLU()
            self.conv2 = _conv(nn, cout, cout, 3, 1, 1, bias=False, **kw)
            self.bn2 = _bn(nn, cout, kw)
            self.relu2 = nn.ReLU()
            if stride == 1 and cin == cout:
                self.shortcut = nn.Identity()
            else:
                self.shortcut = nn.Sequential(_conv(nn, cin, cout, 1, stride, bias=False, **kw), _bn(nn, cout, kw))

        def forward(self, x: Any) -> Any:
            out = self.relu1(self.bn1(self.conv1(x)))
            return self.relu2(self.bn2(self.conv2(out)) + self.shortcut(x))

    return nn.Sequential(
        _conv(nn, 3, 16, 3, padding=1, bias=False, **kw), _bn(nn, 16, kw), nn.ReLU(),
        BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10, **kw))


def build(name: str, nn: Any, **kw: Any) -> Any:
    """Model `name` from the layer namespace `nn` (tg.nn, with rng=..., or torch.nn)."""
    if name == "lenet5":
        return lenet5(nn, **kw)
    if name in ("vgg", "vgg_bn"):
        return vgg(nn, batch_norm=name == "vgg_bn", **kw)
    if name == "resnet":
        return resnet(nn, **kw)
    raise ValueError(f"unknown model {name!r}; one of {MODELS}")


def pair(name: str, seed: int = 0) -> tuple[Any, Any]:
    """(ours, PyTorch's) model `name` with the same weights (ours initialised, copied to PyTorch)."""
    import torch

    import tinygrad_np as tg
    ours = build(name, tg.nn, rng=seed)
    theirs = build(name, torch.nn)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    return ours, theirs


def make_batch(name: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, C, H, W) float32 and class labels (n,) int64."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n,) + INPUT_SHAPES[name]).astype(np.float32),
            rng.integers(0, 10, n).astype(np.int64))
