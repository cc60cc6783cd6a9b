"""Optimizers with torch.optim's update rules, parameter groups and state dicts (`SGD`, `Adam`,
`AdamW`, `RMSprop`, `Adagrad`), and learning-rate schedulers (`tg.optim.lr_scheduler`); they
update parameters in place."""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
