"""The losses of ``bp.nn.functional``, with PyTorch's signatures (re-exported there).

Each is a composite of the engine's primitives, so autograd differentiates it; values and
gradients equal PyTorch's (tested in float64). ``reduction`` is ``"mean"``, ``"sum"`` or
``"none"``; the legacy ``size_average``/``reduce`` arguments map onto it as in PyTorch.

>>> import backprop as bp
>>> import backprop.nn.functional as F
>>> F.huber_loss(bp.tensor([0.5, 3.0]), bp.tensor([0.0, 0.0]), reduction="none").tolist()
[0.125, 2.5]
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import OpError
from ..tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]


def _const(x: Tensor, value) -> Tensor:
    return Tensor._wrap(np.asarray(value, dtype=x._data.dtype))


def _legacy(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` pair, mapped onto ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else "mean" if size_average else "sum"


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
        raise OpError(
            f"{name}: input has shape {tuple(input.shape)} but target has shape "
            f"{tuple(target.shape)}; they must match (reshape one, e.g. target.reshape(-1, 1))"
        )


def _pair(name: str, input: Tensor, target) -> tuple[Tensor, Tensor]:
    target = _target(target, input)
    _check_same_shape(name, input, target)
    return input, target


# ---------------------------------------------------------------------------- regression


def mse_loss(
    input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``(input - target)^2``, averaged (or summed) over every element.

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> F.mse_loss(bp.tensor([1.0, 3.0]), bp.tensor([0.0, 0.0])).item()
    5.0
    """
    input, target = _pair("mse_loss", input, target)
    d = input - target
    return _reduce(d * d, _legacy(size_average, reduce, reduction))


def l1_loss(
    input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``|input - target|``, averaged (or summed) over every element."""
    input, target = _pair("l1_loss", input, target)
    return _reduce(ops.abs(input - target), _legacy(size_average, reduce, reduction))


def smooth_l1_loss(
    input: Tensor,
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``;
    ``beta = 0`` is the L1 loss)."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _pair("smooth_l1_loss", input, target)
    d = input - target
    ad = ops.abs(d)
    if beta == 0:
        loss = ad
    else:
        loss = ops.where(ad._data < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def huber_loss(
    input: Tensor, target, reduction: str = "mean", delta: float = 1.0, weight=None
) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``: ``delta`` times
    ``smooth_l1_loss`` with ``beta = delta``."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair("huber_loss", input, target)
    d = input - target
    ad = ops.abs(d)
    loss = ops.where(ad._data < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(
    input: Tensor,
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence of ``target`` from the log-probabilities ``input``:
    ``target (log target - input)`` pointwise (0 where ``target`` is 0), or with
    ``log_target`` ``exp(target) (target - input)``. ``reduction="batchmean"`` divides the sum
    by the batch size, which is the true KL divergence; ``"mean"`` averages every element, as
    PyTorch does."""
    target = _target(target, input)
    if log_target:
        loss = ops.exp(target) * (target - input)
    else:
        positive = target._data > 0
        safe = ops.where(positive, target, _const(target, 1.0))  # log(0) is never taken
        loss = ops.where(positive, target * (ops.log(safe) - input), _const(input, 0.0) * input)
    reduction = _legacy(size_average, reduce, reduction)
    if reduction == "batchmean":
        total = ops.sum(loss)
        return total / float(input.shape[0]) if input.ndim else total
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------- binary


def binary_cross_entropy(
    input: Tensor, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``-(y log p + (1 - y) log(1 - p))`` for probabilities ``p``; logs are clamped at -100
    as in PyTorch so ``p = 0`` or ``1`` gives a finite loss."""
    input, target = _pair("binary_cross_entropy", input, target)
    log_p = ops.clip(ops.log(input), min=-100.0)
    log_1mp = ops.clip(ops.log(1.0 - input), min=-100.0)
    loss = -(target * log_p + (1.0 - target) * log_1mp)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, _legacy(size_average, reduce, reduction))


def binary_cross_entropy_with_logits(
    input: Tensor,
    target,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight=None,
) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, computed from the logits without overflow:
    ``(1 - y) x + (1 + (pw - 1) y) softplus(-x)``, and ``softplus(-x) = max(-x, 0) +
    log(1 + exp(-|x|))``."""
    input, target = _pair("binary_cross_entropy_with_logits", input, target)
    sp_neg = ops.maximum(-input, _const(input, 0.0)) + ops.log(1.0 + ops.exp(-ops.abs(input)))
    if pos_weight is None:
        loss = (1.0 - target) * input + sp_neg
    else:
        loss = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * sp_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, _legacy(size_average, reduce, reduction))


# ---------------------------------------------------------------------------- classification


def _class_weight(weight, input: Tensor, class_dim: int) -> Tensor | None:
    """``weight`` (one per class) shaped to broadcast along the class dim: (1, C, 1, ...)."""
    if weight is None:
        return None
    w = weight if isinstance(weight, Tensor) else _const(input, weight)
    shape = [1] * input.ndim
    shape[class_dim] = -1
    return ops.reshape(w, tuple(shape))


def _indices(name: str, input: Tensor, target) -> np.ndarray:
    t = np.asarray(target._data if isinstance(target, Tensor) else target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold class indices (integers), got {t.dtype}")
    expected = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
    if t.shape != tuple(expected):
        raise ValueError(
            f"{name}: expected input (N, C, d1, ...) and target (N, d1, ...) (or input (C,) and "
            f"a 0-d target), got input {tuple(input.shape)} and target {tuple(t.shape)}"
        )
    return t


def nll_loss(
    input: Tensor,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``-input[n, target[n]]`` for log-probabilities ``input`` of shape (N, C) (or
    (N, C, d1, ...) with targets (N, d1, ...), or one sample (C,)). With ``weight`` (one per
    class) the mean is weighted, ``sum w_{y_n} l_n / sum w_{y_n}``, as PyTorch does; targets
    equal to ``ignore_index`` add nothing."""
    reduction = _legacy(size_average, reduce, reduction)
    t = _indices("nll_loss", input, target)
    c = input.shape[1] if input.ndim >= 2 else input.shape[0]
    if input.ndim > 2:  # move the class dim last and flatten: (N * d1 * ..., C)
        perm = (0, *range(2, input.ndim), 1)
        x = ops.reshape(ops.permute(input, perm), (-1, c))
    else:
        x = ops.reshape(input, (-1, c))
    flat = t.reshape(-1)
    valid = flat != ignore_index
    bad = valid & ((flat < 0) | (flat >= c))
    if bad.any():
        raise IndexError(f"nll_loss: target {int(flat[bad][0])} is out of bounds for {c} classes")
    safe = np.where(valid, flat, 0)
    picked = x[np.arange(flat.size), safe]  # (N * d1 * ...,)
    w = valid.astype(input._data.dtype)
    if weight is not None:
        w = w * np.asarray(weight._data if isinstance(weight, Tensor) else weight)[safe]
    loss = -picked if weight is None and valid.all() else -picked * _const(input, w)
    if reduction == "none":
        return ops.reshape(loss, t.shape)
    if reduction == "mean" and not (weight is None and valid.all()):
        return _safe_mean(ops.sum(loss), w.sum())
    return _reduce(loss, reduction)


def _safe_mean(total: Tensor, denom) -> Tensor:
    """``total / denom``; with nothing counted (every target ignored) NaN, as PyTorch, but
    with zero gradients rather than NaN ones."""
    if denom == 0:
        return total * 0.0 + float("nan")
    return total / _const(total, denom)


def cross_entropy(
    input: Tensor,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy from logits: ``nll_loss(log_softmax(input, 1), target)``.

    ``input`` is (N, C), (N, C, d1, ...) or (C,); ``target`` holds class indices (N, d1, ...),
    or class probabilities of the input's shape. ``label_smoothing`` mixes the target with the
    uniform distribution: ``(1 - eps) target + eps / C``.

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> round(F.cross_entropy(bp.tensor([[1000.0, 0.0]]), bp.tensor([1])).item(), 3)
    1000.0
    """
    from .functional import log_softmax

    reduction = _legacy(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if (
        weight is None
        and label_smoothing == 0.0
        and input.ndim == 2
        and t.dtype.kind in "iu"
        and t.ndim == 1
        and t.size
        and 0 <= t.min()
        and t.max() < input.shape[1]
        and not (t == ignore_index).any()
    ):  # the common case: one fused node
        return ops.softmax_cross_entropy(
            input, target if isinstance(target, Tensor) else t, reduction
        )
    class_dim = 1 if input.ndim >= 2 else 0
    c = input.shape[class_dim]
    logp = log_softmax(input, dim=class_dim)
    w = _class_weight(weight, input, class_dim)
    if t.dtype.kind == "f":  # class probabilities, over the class dim
        target = _target(target, input)
        _check_same_shape("cross_entropy", input, target)
        if label_smoothing:
            target = target * (1.0 - label_smoothing) + label_smoothing / c
        terms = logp * target if w is None else logp * target * w
        loss = -ops.sum(terms, dim=class_dim)
        if reduction == "mean":  # over samples, whatever the weights (PyTorch's choice)
            return ops.sum(loss) / float(max(input._data.size // c, 1))
        return _reduce(loss, reduction)
    nll = nll_loss(logp, t, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return nll
    # The smoothing term: -sum_c w_c log p_c per sample, ignored samples excluded.
    _indices("cross_entropy", input, t)
    valid = t != ignore_index
    smooth = -ops.sum(logp if w is None else logp * w, dim=class_dim)
    smooth = ops.where(valid, smooth, _const(input, 0.0))
    if reduction == "mean":
        if weight is None:
            denom = valid.sum()
        else:
            wt = np.asarray(weight._data if isinstance(weight, Tensor) else weight)
            denom = wt[t[valid]].sum()
        smooth = _safe_mean(ops.sum(smooth), denom)
    elif reduction == "sum":
        smooth = ops.sum(smooth)
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / c)
