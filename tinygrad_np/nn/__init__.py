"""Neural-network building blocks with torch.nn's names: `Module`, `Parameter`, layers, losses,
containers, initialisers (`tg.nn.init`), `tg.nn.functional` (also `tg.functional`) and
`tg.nn.utils`.

    import tinygrad_np as tg
    class Net(tg.nn.Module):
        def __init__(self, rng):
            super().__init__()
            self.conv1 = tg.nn.Conv2d(1, 6, 11, rng=rng)
            self.bn1 = tg.nn.BatchNorm2d(6)
            self.fc = tg.nn.Linear(6 * 40 * 40, 2, rng=rng)
        def forward(self, x):
            return self.fc(self.bn1(self.conv1(x)).relu().flatten(1))

    net = Net(np.random.default_rng(0))
    list(net.state_dict())  # ['conv1.weight', 'conv1.bias', 'bn1.weight', 'bn1.bias', 'bn1.running_mean',
                            #  'bn1.running_var', 'bn1.num_batches_tracked', 'fc.weight', 'fc.bias']

Weights are initialised like PyTorch's defaults from `rng` (a `np.random.Generator`, an int seed,
or None for the default generator that `tg.manual_seed` seeds): kaiming-uniform with a = sqrt(5), i.e.
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then the bias from the same interval, weight first.
Layers take `dtype` (float32 by default) where PyTorch takes `dtype`/`device`.
"""
from . import functional, init, utils
from .activation import (
    ELU,
    GELU,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d, ConvTranspose2d, Threshold
from .dropout import Dropout, Dropout2d
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import IncompatibleKeys, Module, Parameter, RemovableHandle
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .sparse import Embedding
from .upsampling import Upsample

__all__ = [
    "Module", "Parameter", "RemovableHandle", "IncompatibleKeys", "init", "functional", "utils",
    # containers
    "Sequential", "ModuleList", "ModuleDict",
    # layers
    "Linear", "Identity", "Flatten", "Unflatten", "Conv2d", "ConvTranspose2d", "Threshold", "AvgPool2d",
    "MaxPool2d", "AdaptiveAvgPool2d", "Upsample", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
    "Dropout", "Dropout2d", "Embedding",
    # activations
    "Sigmoid", "ReLU", "ReLU6", "Hardtanh", "Tanh", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus",
    "Hardswish", "Mish", "Softmax", "LogSoftmax",
    # losses
    "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "NLLLoss",
    "CrossEntropyLoss", "KLDivLoss",
]
