"""Neural-network building blocks: `Module`, `Parameter`, layers, initialisers (`tg.nn.init`) and
`tg.nn.functional` (also reachable as `tg.functional`).

    import tinygrad_np as tg
    class Net(tg.nn.Module):
        def __init__(self, rng):
            super().__init__()
            self.conv1 = tg.nn.Conv2d(1, 6, 11, rng=rng)
            self.fc = tg.nn.Linear(6 * 40 * 40, 2, rng=rng)
        def forward(self, x):
            return self.fc(self.conv1(x).sigmoid().flatten(1))

    net = Net(np.random.default_rng(0))
    [name for name, _ in net.named_parameters()]  # ['conv1.weight', 'conv1.bias', 'fc.weight', 'fc.bias']

Weights are initialised like PyTorch's defaults from `rng` (a `np.random.Generator`, an int seed,
or None for the default generator that `tg.manual_seed` seeds): kaiming-uniform with a = sqrt(5), i.e.
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then the bias from the same interval, weight first.
"""
from . import functional, init
from .activation import ReLU, Sigmoid, Tanh
from .container import Sequential
from .conv import Conv2d, Threshold
from .linear import Flatten, Linear
from .module import IncompatibleKeys, Module, Parameter, RemovableHandle
from .pooling import AvgPool2d, MaxPool2d

__all__ = ["Module", "Parameter", "RemovableHandle", "IncompatibleKeys", "init", "functional", "Conv2d",
           "Linear", "Threshold", "AvgPool2d", "MaxPool2d", "Sigmoid", "ReLU", "Tanh", "Flatten", "Sequential"]
