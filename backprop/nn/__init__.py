"""``bp.nn``: modules, layers, activations, losses and initialisers with PyTorch's names.

>>> import backprop as bp
>>> _ = bp.manual_seed(0)
>>> model = bp.nn.Sequential(bp.nn.Linear(64, 32), bp.nn.ReLU(), bp.nn.Linear(32, 10))
>>> loss = bp.nn.CrossEntropyLoss()(model(bp.randn(8, 64)), bp.tensor([0, 1, 2, 3, 4, 5, 6, 7]))
>>> loss.backward()
>>> model[0].weight.grad.shape
(32, 64)
"""

from . import functional, init
from .activations import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    PReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from .layers import Dropout, Flatten, Identity, Linear, Sequential
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from .module import Module, Parameter

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Flatten",
    "GELU",
    "Identity",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "NLLLoss",
    "PReLU",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "functional",
    "init",
]
