"""``bp.special``: PyTorch's ``torch.special`` names, each an alias of an op defined in
``backprop.ops`` (the rules live there).

>>> import backprop as bp
>>> bp.special.expit(bp.tensor([0.0])).tolist()
[0.5]
"""

from __future__ import annotations

from .ops import erf, sigmoid
from .ops.scan import logsumexp
from .ops.special import (
    digamma,
    entr,
    erfc,
    erfinv,
    i0,
    logit,
    mvlgamma,
    ndtr,
    polygamma,
    psi,
    sinc,
    xlog1py,
    xlogy,
)
from .ops.special import lgamma as gammaln
from .ops.unary import exp2, expm1, log1p, round

expit = sigmoid


def softmax(input, dim: int, *, dtype=None):
    from .nn.functional import softmax as _softmax

    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim: int, *, dtype=None):
    from .nn.functional import log_softmax as _log_softmax

    return _log_softmax(input, dim, dtype=dtype)


def erfcx(input):
    """``exp(x^2) erfc(x)``, composed (large positive x lose precision)."""
    return (input * input).exp() * erfc(input)


__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammaln",
    "i0",
    "log1p",
    "log_softmax",
    "logit",
    "logsumexp",
    "mvlgamma",
    "ndtr",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlog1py",
    "xlogy",
]
