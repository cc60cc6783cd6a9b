"""Neural-network building blocks: `Module`, `Parameter`, layers, and initialisers (`tg.nn.init`).

    import tinygrad_np as tg
    class Net(tg.nn.Module):
        def __init__(self, rng):
            super().__init__()
            self.conv1 = tg.nn.Conv2d(1, 6, 11, rng=rng)
            self.fc = tg.nn.Linear(6 * 40 * 40, 2, rng=rng)
        def forward(self, x):
            return self.fc(self.conv1(x).sigmoid().flatten())

    net = Net(np.random.default_rng(0))
    [name for name, _ in net.named_parameters()]  # ['conv1.weight', 'conv1.bias', 'fc.weight', 'fc.bias']
"""
from . import nn_init as init
from .nn_layers import (AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, Sigmoid, Tanh,
                        Threshold)
from .nn_module import IncompatibleKeys, Module, Parameter, RemovableHandle

__all__ = ["Module", "Parameter", "RemovableHandle", "IncompatibleKeys", "init", "Conv2d", "Linear",
           "Threshold", "AvgPool2d", "MaxPool2d", "Sigmoid", "ReLU", "Tanh", "Flatten", "Sequential"]
