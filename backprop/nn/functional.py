"""Layers, activations and losses as functions (``bp.nn.functional``, imported as ``F``).

Every function here is a composite of the engine's primitives (``ops``), so none needs a
derivative rule of its own: autograd differentiates the pieces. Where PyTorch picks a value
at a kink (ReLU'(0) = 0, LeakyReLU'(0) = slope, ELU'(0) = alpha) the composition is chosen to
give the same one.

>>> import backprop as bp
>>> import backprop.nn.functional as F
>>> x = bp.tensor([-1.0, 0.0, 2.0])
>>> F.leaky_relu(x, 0.1).tolist()
[-0.10000000149011612, 0.0, 2.0]
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from .. import random as _random
from ..tensor import Tensor

_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _const(x: Tensor, value) -> Tensor:
    """A constant in ``x``'s dtype: keeps float64 networks in float64 and float32 in float32."""
    return Tensor._wrap(np.asarray(value, dtype=x._data.dtype))


# ---------------------------------------------------------------------------- layers


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with ``weight`` of shape (out_features, in_features).

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> F.linear(bp.ones(1, 2), bp.tensor([[1.0, 2.0]]), bp.tensor([0.5])).tolist()
    [[3.5]]
    """
    return ops.linear(input, weight, bias)  # one fused node: matmul and bias, (batch, out)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    The mask comes from ``bp.random.default_generator()``, so ``bp.manual_seed`` fixes it.

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> F.dropout(bp.ones(3), 0.5, training=False).tolist()
    [1.0, 1.0, 1.0]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * _const(input, 0.0)
    keep = _random.default_generator().random(input.shape) >= p
    return input * _const(input, keep / (1.0 - p))


# ---------------------------------------------------------------------------- activations


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``; its derivative is ``sigma(x) (1 - sigma(x))``."""
    return ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """``(e^x - e^-x) / (e^x + e^-x)``; its derivative is ``1 - tanh(x)^2``."""
    return ops.tanh(input)


def relu(input: Tensor) -> Tensor:
    """``max(0, x)``; the derivative at 0 is taken as 0, as in PyTorch."""
    return ops.relu(input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x Phi(x) = x/2 (1 + erf(x / sqrt 2))``, or with ``approximate="tanh"``
    ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> round(F.gelu(bp.tensor(1.0)).item(), 4), round(F.gelu(bp.tensor(1.0), "tanh").item(), 4)
    (0.8413, 0.8412)
    """
    if approximate == "none":
        return input * 0.5 * (1.0 + ops.erf(input * (1.0 / _SQRT_2)))
    if approximate == "tanh":
        inner = (input + 0.044715 * input * input * input) * _SQRT_2_OVER_PI
        return input * 0.5 * (1.0 + ops.tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``.

    Written as ``max(z, 0) + log(1 + exp(-|z|))`` so ``exp`` never overflows; at ``z = 0``
    ``max`` and ``|.|`` split their tie so the derivative is ``sigmoid(0) = 1/2``.
    """
    z = input * beta if beta != 1.0 else input
    soft = ops.maximum(z, _const(z, 0.0)) + ops.log(1.0 + ops.exp(-ops.abs(z)))
    if beta != 1.0:
        soft = soft * (1.0 / beta)
    return ops.where(z._data > threshold, input, soft)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha (exp(x) - 1)``.

    ``exp`` sees ``min(x, 0)`` (via clip) so large inputs cannot overflow into the unused
    branch, where a 0 * inf in the backward pass would make NaN.
    """
    neg = alpha * (ops.exp(ops.clip(input, max=0.0)) - 1.0)
    return ops.where(input._data > 0, input, neg)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    return ops.where(input._data > 0, input, input * negative_slope)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU whose slope ``weight`` is learned: one value, or one per channel (dim 1)."""
    if weight._data.size > 1 and input.ndim >= 2:
        weight = ops.reshape(weight, (-1,) + (1,) * (input.ndim - 2))  # (C, 1, ...)
    return ops.where(input._data > 0, input, input * weight)


def _shift(input: Tensor, dim: int) -> Tensor:
    # Subtracting the max leaves softmax unchanged and keeps exp from overflowing. The max
    # is a constant here: its gradient would cancel exactly anyway.
    return input - Tensor._wrap(np.max(input._data, axis=dim, keepdims=True))


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``.

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> F.softmax(bp.tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
    """
    e = ops.exp(_shift(input, dim))
    return e / ops.sum(e, dim=dim, keepdim=True)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    """``x_i - log sum_j exp(x_j)`` along ``dim``, stable for large logits."""
    z = _shift(input, dim)
    return z - ops.log(ops.sum(ops.exp(z), dim=dim, keepdim=True))


# ---------------------------------------------------------------------------- losses


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _target(target, like: Tensor) -> Tensor:
    if isinstance(target, Tensor):
        return target
    return Tensor._wrap(np.asarray(target, dtype=like._data.dtype))


def _check_same_shape(name: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input has shape {tuple(input.shape)} but target has shape "
            f"{tuple(target.shape)}; they must match (reshape one, e.g. target.reshape(-1, 1))"
        )


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """``(input - target)^2``, averaged (or summed) over every element.

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> F.mse_loss(bp.tensor([1.0, 3.0]), bp.tensor([0.0, 0.0])).item()
    5.0
    """
    target = _target(target, input)
    _check_same_shape("mse_loss", input, target)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """``|input - target|``, averaged (or summed) over every element."""
    target = _target(target, input)
    _check_same_shape("l1_loss", input, target)
    return _reduce(ops.abs(input - target), reduction)


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """``-(y log p + (1 - y) log(1 - p))`` for probabilities ``p``; logs are clamped at -100
    as in PyTorch so ``p = 0`` or ``1`` gives a finite loss."""
    target = _target(target, input)
    _check_same_shape("binary_cross_entropy", input, target)
    log_p = ops.clip(ops.log(input), min=-100.0)
    log_1mp = ops.clip(ops.log(1.0 - input), min=-100.0)
    loss = -(target * log_p + (1.0 - target) * log_1mp)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target, weight=None, reduction: str = "mean", pos_weight=None
) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, computed from the logits without overflow:
    ``(1 - y) x + (1 + (pw - 1) y) softplus(-x)``, and ``softplus(-x) = max(-x, 0) +
    log(1 + exp(-|x|))``."""
    target = _target(target, input)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    sp_neg = ops.maximum(-input, _const(input, 0.0)) + ops.log(1.0 + ops.exp(-ops.abs(input)))
    if pos_weight is None:
        loss = (1.0 - target) * input + sp_neg
    else:
        loss = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * sp_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def nll_loss(
    input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """``-input[n, target[n]]`` for log-probabilities ``input`` of shape (N, C) and class
    indices ``target`` of shape (N,). With ``weight`` (one per class) the mean is weighted,
    ``sum_n w_{y_n} l_n / sum_n w_{y_n}``, as PyTorch does; targets equal to ``ignore_index``
    add nothing."""
    t = np.asarray(target._data if isinstance(target, Tensor) else target)
    if input.ndim == 1:  # one unbatched sample
        input, t = ops.unsqueeze(input, 0), t.reshape(1)
    if input.ndim != 2 or t.shape != input.shape[:1]:
        raise ValueError(
            f"nll_loss: expected input (N, C) and target (N,), got {tuple(input.shape)} "
            f"and {tuple(t.shape)}"
        )
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices (integers), got {t.dtype}")
    n, c = input.shape
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"nll_loss: target {int(t[bad][0])} is out of bounds for {c} classes")
    safe = np.where(valid, t, 0)
    picked = input[np.arange(n), safe]  # (N,)
    if weight is None and valid.all():
        return _reduce(-picked, reduction)
    w = valid.astype(input._data.dtype)
    if weight is not None:
        w = w * np.asarray(weight._data if isinstance(weight, Tensor) else weight)[safe]
    loss = -picked * _const(input, w)
    if reduction == "mean":
        return ops.sum(loss) / _const(input, w.sum())
    return _reduce(loss, reduction)


def cross_entropy(
    input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Softmax cross-entropy from logits: ``nll_loss(log_softmax(input, 1), target)``.

    ``target`` holds class indices (N,), or class probabilities of the input's shape.

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> round(F.cross_entropy(bp.tensor([[1000.0, 0.0]]), bp.tensor([1])).item(), 3)
    1000.0
    """
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if (
        weight is None
        and input.ndim == 2
        and t.dtype.kind in "iu"
        and t.size
        and 0 <= t.min()
        and t.max() < input.shape[1]
        and not (t == ignore_index).any()
    ):  # the common case: one fused node
        return ops.softmax_cross_entropy(
            input, target if isinstance(target, Tensor) else t, reduction
        )
    logp = log_softmax(input, dim=1 if input.ndim > 1 else 0)
    if t.dtype.kind == "f":  # probabilities
        target = _target(target, input)
        _check_same_shape("cross_entropy", input, target)
        loss = -(target * logp)
        if weight is not None:
            loss = loss * weight
        loss = ops.sum(loss, dim=-1)
        return _reduce(loss, reduction)
    return nll_loss(logp, t, weight, ignore_index, reduction)
