"""More of ``nn.functional``: group, instance, RMS and local-response normalisation, GLU,
shrinkage, RReLU, bilinear, pdist, channel shuffle, alpha dropout, Gumbel-softmax and the
in-place activations (``relu_``, ...). Composites of existing ops: no rules of their own.
Re-exported by ``functional``.

>>> import backprop as bp
>>> import backprop.nn.functional as F
>>> F.glu(bp.tensor([1.0, 0.0])).tolist()
[0.5]
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from .. import random as _random
from ..ops.layout import chunk
from ..tensor import Tensor


def _c(x: Tensor, value) -> Tensor:
    return Tensor._wrap(np.asarray(value, dtype=x._data.dtype))


def _affine(out: Tensor, weight, bias, shape) -> Tensor:
    if weight is not None:
        out = out * ops.reshape(weight, shape)
    if bias is not None:
        out = out + ops.reshape(bias, shape)
    return out


def group_norm(input: Tensor, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalise each sample over groups of ``C / num_groups`` channels (and all positions),
    then scale and shift per channel."""
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(
            f"group_norm: Expected number of channels in input to be divisible by num_groups, "
            f"but got input of shape {list(input.shape)} and num_groups={num_groups}"
        )
    x = input.reshape(n, num_groups, -1)
    mu = ops.mean(x, dim=-1, keepdim=True)
    d = x - mu
    var = ops.mean(d * d, dim=-1, keepdim=True)
    out = (d / ops.sqrt(var + eps)).reshape(*input.shape)
    return _affine(out, weight, bias, (1, -1) + (1,) * (input.ndim - 2))


def instance_norm(
    input: Tensor,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
):
    """Normalise each channel of each sample over its positions (running statistics, when
    given, are the batch's average, and are used when ``use_input_stats`` is False)."""
    shape = (1, -1) + (1,) * (input.ndim - 2)
    dims = tuple(range(2, input.ndim))
    if use_input_stats:
        mu = ops.mean(input, dim=dims, keepdim=True)
        d = input - mu
        var = ops.mean(d * d, dim=dims, keepdim=True)
        if running_mean is not None:
            k = int(np.prod(input.shape[2:]))
            m = momentum
            running_mean._data *= 1 - m
            running_mean._data += m * mu._data.reshape(input.shape[:2]).mean(0)
            running_var._data *= 1 - m
            unbiased = var._data.reshape(input.shape[:2]) * (k / max(k - 1, 1))
            running_var._data += m * unbiased.mean(0)
        out = d / ops.sqrt(var + eps)
    else:
        rm = _c(input, running_mean._data.reshape(shape))
        rv = _c(input, running_var._data.reshape(shape))
        out = (input - rm) / ops.sqrt(rv + eps)
    return _affine(out, weight, bias, shape)


def rms_norm(input: Tensor, normalized_shape, weight=None, eps: float | None = None):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last dims (``eps`` defaults to the
    dtype's machine epsilon, as PyTorch)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape) :]) != shape:
        raise RuntimeError(
            f"rms_norm: normalized_shape {list(shape)} does not match the input's last dims "
            f"{list(input.shape)}"
        )
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input / ops.sqrt(ops.mean(input * input, dim=dims, keepdim=True) + eps)
    return out * weight if weight is not None else out


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
):
    """``x / (k + alpha/size * sum of x^2 over ``size`` neighbouring channels)^beta``."""
    if input.ndim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)"
        )
    c = input.shape[1]
    sq = input * input
    widths = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    padded = ops.layout.pad(sq, tuple(widths))
    total = padded[:, 0:c]
    for j in range(1, size):
        total = total + padded[:, j : j + c]
    div = (total * (alpha / size) + k) ** beta
    return input / div


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """``a * sigmoid(b)`` with ``a, b`` the two halves of ``input`` along ``dim``."""
    if input.shape[dim] % 2:
        raise RuntimeError(
            f"glu: Halving dimension must be even, but dimension {dim % input.ndim} is size "
            f"{input.shape[dim]}"
        )
    a, b = chunk(input, 2, dim=dim)
    return a * ops.sigmoid(b)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    return ops.where((input._data > lambd) | (input._data < -lambd), input, _c(input, 0.0))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    zero = _c(input, 0.0)
    return ops.where(
        input._data > lambd, input - lambd, ops.where(input._data < -lambd, input + lambd, zero)
    )


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Leaky ReLU with a random slope in ``[lower, upper]`` per element while training, and
    the mean slope ``(lower + upper) / 2`` in evaluation."""
    if not training:
        slope = _c(input, (lower + upper) / 2)
    else:
        u = _random.batch_random(input.shape)
        slope = _c(input, lower + (upper - lower) * u)
    return ops.where(input._data >= 0, input, input * slope)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias=None) -> Tensor:
    """``y_k = x1^T W_k x2 + b_k`` with ``weight`` of shape (out, in1, in2)."""
    out, in1, in2 = weight.shape
    w = ops.transpose(weight, 0, 1).reshape(in1, out * in2)
    t = ops.matmul(input1, w).reshape(*input1.shape[:-1], out, in2)
    y = ops.sum(t * ops.unsqueeze(input2, -2), dim=-1)
    return y + bias if bias is not None else y


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between the rows of an (N, M) input, for each pair i < j."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    i, j = np.triu_indices(input.shape[0], 1)
    return ops.norm(input[i] - input[j], p, dim=-1)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups (ShuffleNet's shuffle)."""
    n, c = input.shape[0], input.shape[1]
    rest = tuple(input.shape[2:])
    x = input.reshape(n, groups, c // groups, *rest)
    return ops.transpose(x, 1, 2).reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle

_SELU_ALPHA = 1.7580993408473766


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's negative saturation value and
    an affine map keeps the mean and variance (PyTorch's formula)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * _c(input, 0.0)
    keep = (_random.batch_random(input.shape) >= p).astype(input._data.dtype)
    a = 1.0 / math.sqrt((_SELU_ALPHA**2 * p + 1) * (1 - p))
    b = (keep - 1) * _SELU_ALPHA * a + _SELU_ALPHA * a * p
    return input * _c(input, keep * a) + _c(input, b)


def gumbel_softmax(
    logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """Softmax of ``(logits + Gumbel noise) / tau``; with ``hard`` the one-hot of its
    argmax in the forward pass and the soft sample's gradient (straight-through)."""
    from .functional import softmax

    u = _random.batch_random(logits.shape)
    gumbels = -np.log(-np.log(np.clip(u, 1e-20, 1.0)) + 1e-20)
    y = softmax((logits + _c(logits, gumbels)) / tau, dim=dim)
    if not hard:
        return y
    idx = np.argmax(y._data, axis=dim)
    onehot = np.zeros_like(y._data)
    np.put_along_axis(onehot, np.expand_dims(idx, dim), 1.0, axis=dim)
    return y - y.detach() + _c(y, onehot)


def _inplace(name: str, fn):
    def op(input: Tensor, *args, **kwargs) -> Tensor:
        return input._update(name, lambda t, *a: fn(t, *args, **kwargs))

    op.__name__ = name
    op.__doc__ = f"In-place ``{name[:-1]}``: the result is written into ``input``."
    return op
