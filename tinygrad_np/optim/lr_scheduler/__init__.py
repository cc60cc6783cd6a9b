"""Learning-rate schedulers with torch.optim.lr_scheduler's names and rules (`tg.optim.lr_scheduler`).

    scheduler = tg.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)            # optimizer.step() inside
        scheduler.step()
    scheduler.get_last_lr()   # one learning rate per parameter group

A scheduler sets `group["lr"]` of every parameter group of its optimizer: at construction (the
value for epoch 0) and at each `step()`. The formulas are PyTorch's recursive ones, written the
same way, so the sequences equal PyTorch's to the last bit. The state dicts hold only str keys,
numbers, strings, None and lists (storable with `tg.save`); the lambdas of LambdaLR are not saved.
"""
from .base import LRScheduler
from .one_cycle import OneCycleLR
from .plateau import ReduceLROnPlateau
from .simple import CosineAnnealingLR, ExponentialLR, LambdaLR, MultiStepLR, StepLR

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR",
           "OneCycleLR", "ReduceLROnPlateau"]
