"""Optimizers with torch.optim's update rules: `SGD`, `Adam`; they update parameters in place."""
from .adam import Adam
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam"]
