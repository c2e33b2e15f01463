"""The activation functions of 003's table as modules, plus Softmax and LogSoftmax.

Each is a thin wrapper over ``bp.nn.functional``; values and gradients equal PyTorch's.

>>> import backprop as bp
>>> bp.nn.ELU(alpha=1.0)(bp.tensor([-1.0, 2.0])).tolist()
[-0.6321206092834473, 2.0]
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, get_default_dtype
from . import functional as F
from .module import Module, Parameter


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``"""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh(x)``"""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class ReLU(Module):
    """``max(0, x)``"""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace  # accepted for PyTorch's signature; outputs are new tensors

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)


class GELU(Module):
    """``x Phi(x)``; ``approximate="tanh"`` for the tanh approximation."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta`` (linear above ``threshold``)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class ELU(Module):
    """``x`` if ``x > 0`` else ``alpha (exp(x) - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class LeakyReLU(Module):
    """``x`` if ``x > 0`` else ``negative_slope x``."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """Leaky ReLU with a learned slope ``weight`` (one, or one per channel), starting at
    ``init``. Its state_dict key is ``weight``, as in PyTorch."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(np.full(num_parameters, init, dtype or get_default_dtype()))
        if device is not None:
            self.to(device)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax(Module):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """``x_i - log sum_j exp(x_j)`` along ``dim``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


class Softmin(Softmax):
    """``softmax(-x)`` along ``dim``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)


class _Elementwise(Module):
    """An activation without parameters: ``forward`` is one function of ``bp.nn.functional``.
    ``inplace`` is accepted for PyTorch's signature; outputs are always new tensors."""

    _fn = staticmethod(lambda x: x)

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input)


class SiLU(_Elementwise):
    """``x sigmoid(x)``"""

    _fn = staticmethod(F.silu)


class Mish(_Elementwise):
    """``x tanh(softplus(x))``"""

    _fn = staticmethod(F.mish)


class ReLU6(_Elementwise):
    """``min(max(0, x), 6)``"""

    _fn = staticmethod(F.relu6)


class SELU(_Elementwise):
    """``scale * elu(x, alpha)`` with the self-normalising constants."""

    _fn = staticmethod(F.selu)


class Hardswish(_Elementwise):
    """``x relu6(x + 3) / 6``"""

    _fn = staticmethod(F.hardswish)


class Hardsigmoid(_Elementwise):
    """``relu6(x + 3) / 6``"""

    _fn = staticmethod(F.hardsigmoid)


class LogSigmoid(_Elementwise):
    """``log(sigmoid(x))``"""

    _fn = staticmethod(F.logsigmoid)


class Softsign(_Elementwise):
    """``x / (1 + |x|)``"""

    _fn = staticmethod(F.softsign)


class Tanhshrink(_Elementwise):
    """``x - tanh(x)``"""

    _fn = staticmethod(F.tanhshrink)


class Hardtanh(Module):
    """``x`` clipped to ``[min_val, max_val]``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(
                f"Hardtanh: min_val {min_val} cannot be greater than max_val {max_val}"
            )
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class CELU(Module):
    """``x`` if ``x > 0`` else ``alpha (exp(x / alpha) - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}"


# Names the CLI and the checkpoint metadata use for the activations.
ACTIVATIONS = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "gelu": GELU,
    "gelu_tanh": lambda: GELU(approximate="tanh"),
    "softplus": Softplus,
    "elu": ELU,
    "leaky_relu": LeakyReLU,
    "prelu": PReLU,
}
