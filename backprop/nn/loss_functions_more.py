"""More of ``bp.nn.functional``'s losses, with PyTorch's signatures (re-exported there):
ranking and embedding losses, margin losses, triplet losses, Poisson and Gaussian NLL.

Each is a composite of the engine's primitives, so autograd differentiates it; values and
gradients equal PyTorch's (tested in float64 in ``tests/test_nn_losses_more.py``).

>>> import backprop as bp
>>> import backprop.nn.functional as F
>>> F.margin_ranking_loss(bp.tensor([1.0, 2.0]), bp.tensor([2.0, 1.0]), bp.tensor([1.0, 1.0]),
...                       reduction="none").tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..tensor import Tensor
from .loss_functions import _const, _legacy, _reduce, _target

__all__ = [
    "cosine_embedding_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


def _zero(x: Tensor) -> Tensor:
    return _const(x, 0.0)


def _hinge(x: Tensor) -> Tensor:
    """``max(x, 0)`` as PyTorch's ``clamp_min``: the gradient passes at the kink (x = 0)."""
    return ops.where(x._data >= 0, x, _zero(x))


def _hinge_strict(x: Tensor) -> Tensor:
    """``max(x, 0)`` with gradient 0 at the kink, as PyTorch's multi-margin kernels
    (``if (z > 0)``)."""
    return ops.where(x._data > 0, x, _zero(x))


def _softplus(z: Tensor) -> Tensor:
    """``log(1 + exp(z))`` without overflow (derivative ``sigmoid(z)``, 1/2 at 0)."""
    return ops.maximum(z, _zero(z)) + ops.log(1.0 + ops.exp(-ops.abs(z)))


def _values(x) -> np.ndarray:
    return np.asarray(x._data if isinstance(x, Tensor) else x)


# ---------------------------------------------------------------------------- pairs


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, -y (x1 - x2) + margin)``: ``y = 1`` asks for ``x1`` ranked above ``x2``."""
    if not (input1.ndim == input2.ndim == np.ndim(_values(target))):
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {tuple(input1.shape)}, input2: {tuple(input2.shape)}, "
            f"target: {tuple(np.shape(_values(target)))} "
        )
    target = _target(target, input1)
    loss = _hinge(-target * (input1 - input2) + margin)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def hinge_embedding_loss(
    input: Tensor,
    target,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``x`` where ``y = 1``, ``max(0, margin - x)`` where ``y = -1`` (``x`` is typically a
    distance between two inputs)."""
    t = _values(target)
    clamp = _hinge(margin - input)
    loss = ops.where(t != 1, clamp, _zero(input)) + ops.where(t != -1, input, _zero(input))
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``1 - cos(x1, x2)`` where ``y = 1``, ``max(0, cos(x1, x2) - margin)`` where ``y = -1``;
    the cosine is over the last dim of (N, D) or (D,) inputs."""
    if input1.ndim not in (1, 2) or input1.shape != input2.shape:
        raise RuntimeError(
            f"cosine_embedding_loss: expected input1 and input2 of the same shape, (N, D) or "
            f"(D,), got {tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    t = _values(target)
    eps = 1e-12  # PyTorch's EPSILON
    prod = ops.sum(input1 * input2, dim=-1)
    mag1 = ops.sum(input1 * input1, dim=-1) + eps
    mag2 = ops.sum(input2 * input2, dim=-1) + eps
    cos = prod / ops.sqrt(mag1 * mag2)
    zero = _zero(cos)
    loss = ops.where(t == 1, 1.0 - cos, zero) + ops.where(t == -1, _hinge(cos - margin), zero)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


# ---------------------------------------------------------------------------- soft margin


def soft_margin_loss(
    input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``log(1 + exp(-y x))`` for labels ``y`` in {1, -1}: the two-class logistic loss."""
    target = _target(target, input)
    loss = _softplus(-target * input)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def multilabel_soft_margin_loss(
    input: Tensor,
    target,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """One-vs-all logistic loss over C labels, ``-(y log sigmoid(x) + (1 - y) log
    sigmoid(-x))`` averaged over the classes (last dim); ``weight`` (one per class) scales
    each class's term."""
    target = _target(target, input)
    loss = target * _softplus(-input) + (1.0 - target) * _softplus(input)
    if weight is not None:
        loss = loss * weight
    c = input.shape[-1] if input.ndim else 1
    loss = ops.sum(loss, dim=input.ndim - 1) / float(c) if input.ndim else loss
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def _class_targets(name: str, input: Tensor, target) -> tuple[Tensor, np.ndarray]:
    t = _values(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold class indices (integers), got {t.dtype}")
    if input.ndim not in (1, 2):
        raise ValueError(
            f"{name}: expected input of shape (N, C) or (C,), got {tuple(input.shape)}"
        )
    return input, t


def multi_margin_loss(
    input: Tensor,
    target,
    p: int = 1,
    margin: float = 1.0,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """The multi-class hinge: ``sum_{i != y} max(0, margin - x[y] + x[i])^p / C`` per sample
    (``p`` is 1 or 2), each sample's term scaled by ``weight[y]`` when given."""
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    input, t = _class_targets("multi_margin_loss", input, target)
    x = input if input.ndim == 2 else ops.reshape(input, (1, -1))
    n, c = x.shape
    flat = t.reshape(-1)
    if flat.shape != (n,):
        raise ValueError(
            f"multi_margin_loss: expected a target of shape ({n},) for input "
            f"{tuple(input.shape)}, got {tuple(t.shape)}"
        )
    if flat.size and (flat.min() < 0 or flat.max() >= c):
        raise IndexError(f"multi_margin_loss: target out of bounds for {c} classes")
    picked = ops.reshape(x[np.arange(n), flat], (n, 1))
    z = _hinge_strict(x - picked + margin)
    if p == 2:
        z = z * z
    if weight is not None:
        w = _values(weight)[flat].reshape(n, 1).astype(x._data.dtype)
        z = z * _const(x, w)
    others = np.ones((n, c), dtype=x._data.dtype)
    others[np.arange(n), flat] = 0.0
    loss = ops.sum(z * _const(x, others), dim=1) / float(c)
    if input.ndim == 1:
        loss = ops.reshape(loss, ())
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def multilabel_margin_loss(
    input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Multi-label hinge: for each target class ``j`` (the indices in ``target`` up to the
    first -1) and each non-target class ``i``, ``max(0, 1 - (x[j] - x[i]))``, summed and
    divided by C."""
    input, t = _class_targets("multilabel_margin_loss", input, target)
    if t.shape != tuple(input.shape):
        raise ValueError(
            f"multilabel_margin_loss: target must have the input's shape {tuple(input.shape)}, "
            f"got {tuple(t.shape)}"
        )
    x = input if input.ndim == 2 else ops.reshape(input, (1, -1))
    n, c = x.shape
    tt = t.reshape(n, c)
    count = np.zeros((n, c), dtype=x._data.dtype)  # how often class j is listed as a target
    is_target = np.zeros((n, c), dtype=bool)
    for row in range(n):
        for j in tt[row]:
            if j < 0:
                break
            if j >= c:
                raise IndexError(f"multilabel_margin_loss: target {j} out of bounds for {c}")
            count[row, j] += 1
            is_target[row, j] = True
    mask = count[:, :, None] * (~is_target)[:, None, :]  # (n, j, i)
    diff = 1.0 - ops.reshape(x, (n, c, 1)) + ops.reshape(x, (n, 1, c))
    loss = ops.sum(ops.sum(_hinge_strict(diff) * _const(x, mask), dim=2), dim=1) / float(c)
    if input.ndim == 1:
        loss = ops.reshape(loss, ())
    return _reduce(loss, _legacy(size_average, reduce, reduction))


# ---------------------------------------------------------------------------- triplets


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` the ``p``-norm distance
    (``F.pairwise_distance``); ``swap`` uses ``min(d(a, n), d(p, n))`` (Balntas et al.)."""
    from .functional import pairwise_distance

    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = ops.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = _hinge(d_pos - d_neg + margin)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function=None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """``triplet_margin_loss`` with any ``distance_function(x1, x2)`` (default
    ``F.pairwise_distance``)."""
    from .functional import pairwise_distance

    if margin <= 0:
        raise ValueError(f"TripletMarginWithDistanceLoss: expected margin > 0, got {margin}")
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = ops.minimum(d_neg, dist(positive, negative))
    loss = _hinge(d_pos - d_neg + margin)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------- likelihoods


def poisson_nll_loss(
    input: Tensor,
    target,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of ``target`` under Poisson(rate): ``exp(x) - y x`` with
    ``log_input`` (``x`` is the log-rate), else ``x - y log(x + eps)``; ``full`` adds
    Stirling's ``y log y - y + log(2 pi y) / 2`` where ``y > 1``."""
    target = _target(target, input)
    if log_input:
        loss = ops.exp(input) - target * input
    else:
        loss = input - target * ops.log(input + eps)
    if full:
        y = target._data
        big = y > 1
        safe = np.where(big, y, 1.0)
        stirling = safe * np.log(safe) - safe + 0.5 * np.log(2 * math.pi * safe)
        loss = loss + _const(input, np.where(big, stirling, 0.0))
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def gaussian_nll_loss(
    input: Tensor,
    target,
    var,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of ``target`` under N(input, var):
    ``(log var + (input - target)^2 / var) / 2`` (+ ``log(2 pi) / 2`` with ``full``). ``var``
    has the input's shape, or one dim fewer / one dim of size 1 (one variance shared);
    it is clamped at ``eps`` for stability, the clamp passing the gradient through as
    PyTorch's in-place clamp does."""
    target = _target(target, input)
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _const(input, np.full(input.shape, float(var)))
    else:
        var = _target(var, input)
        if (var._data < 0).any():
            raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = ops.unsqueeze(var, -1)
        elif input.ndim == var.ndim and (
            sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1
        ):
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    clamped = np.maximum(var._data, eps)
    if (clamped != var._data).any():  # the value clamped, the gradient as if not
        var = var + _const(var, clamped - var._data)
    d = input - target
    loss = (ops.log(var) + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
