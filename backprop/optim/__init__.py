"""Optimizers and learning-rate schedules with PyTorch's names and signatures.

Plain ``SGD`` is exactly the update of 001 and 003: ``w <- w - eta * dL/dw``. The others add
momentum (``SGD(momentum=...)``), per-weight step sizes (``Adagrad``, ``RMSprop``,
``Adadelta``, ``Adam`` and its variants) and decoupled weight decay (``AdamW``); ``LBFGS`` is
quasi-Newton. Every update writes into the parameters' arrays in place; the formulas are
PyTorch's, so trajectories match theirs. Schedules live in ``backprop.optim.lr_scheduler``,
as in PyTorch.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0, 2.0]))
>>> opt = bp.optim.SGD([w], lr=0.1)
>>> (w * w).sum().backward()          # dL/dw = 2w
>>> opt.step()
>>> w.tolist()                        # w - 0.1 * 2w
[0.800000011920929, 1.600000023841858]
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "ASGD",
    "LBFGS",
    "NAdam",
    "RAdam",
    "RMSprop",
    "Rprop",
    "Optimizer",
    "lr_scheduler",
    "LRScheduler",
    "StepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
]

# Names the CLI and the run configuration use.
OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}
SCHEDULES = {"step": StepLR, "exponential": ExponentialLR, "cosine": CosineAnnealingLR}
