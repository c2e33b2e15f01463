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

import builtins
import math

import numpy as np

from .. import ops
from .. import random as _random
from ..autograd import OpError
from ..ops.conv import (  # noqa: F401  (convolution, pooling, im2col: primitives with rules)
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    fold,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
    unfold,
)
from ..ops.layout import pad  # noqa: F401  (F.pad: constant, reflect, replicate, circular)
from ..tensor import Tensor

builtins_max = builtins.max
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


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    The mask comes from ``bp.random.default_generator()``, so ``bp.manual_seed`` fixes it.
    ``inplace`` is accepted for PyTorch's signature; the result is always a new tensor.

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
    keep = _random.batch_random(input.shape) >= p
    return input * _const(input, keep / (1.0 - p))


# ---------------------------------------------------------------------------- activations


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``; its derivative is ``sigma(x) (1 - sigma(x))``."""
    return ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """``(e^x - e^-x) / (e^x + e^-x)``; its derivative is ``1 - tanh(x)^2``."""
    return ops.tanh(input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
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


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha (exp(x) - 1)``.

    ``exp`` sees ``min(x, 0)`` (via clip) so large inputs cannot overflow into the unused
    branch, where a 0 * inf in the backward pass would make NaN.
    """
    neg = alpha * (ops.exp(ops.clip(input, max=0.0)) - 1.0)
    return ops.where(input._data > 0, input, neg)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    return ops.where(input._data > 0, input, input * negative_slope)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU whose slope ``weight`` is learned: one value, or one per channel (dim 1)."""
    if weight._data.size > 1 and input.ndim >= 2:
        weight = ops.reshape(weight, (-1,) + (1,) * (input.ndim - 2))  # (C, 1, ...)
    return ops.where(input._data > 0, input, input * weight)


def _strict(input: Tensor, lo: float, hi: float) -> np.ndarray:
    return (input._data > lo) & (input._data < hi)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]``; the derivative is 1 strictly inside, 0 at
    and beyond the ends (PyTorch's choice at the kinks)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} cannot be greater than max_val {max_val}")
    clipped = _const(input, np.clip(input._data, min_val, max_val))
    return ops.where(_strict(input, min_val, max_val), input, clipped)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(0, x), 6)``: ``hardtanh(x, 0, 6)``."""
    return hardtanh(input, 0.0, 6.0)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x sigmoid(x)`` (also called swish)."""
    return input * ops.sigmoid(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x tanh(softplus(x))``."""
    return input * ops.tanh(softplus(input))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with Klambauer et al.'s constants (self-normalising)."""
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha (exp(x / alpha) - 1)``."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    neg = alpha * (ops.exp(ops.clip(input, max=0.0) * (1.0 / alpha)) - 1.0)
    return ops.where(input._data > 0, input, neg)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x relu6(x + 3) / 6``: 0 below -3, ``x`` above 3, ``x (x + 3) / 6`` between
    (derivative ``x/3 + 1/2`` strictly between; 0 at -3 and 1 at 3, as PyTorch)."""
    x = input
    middle = x * (x + 3.0) * (1.0 / 6.0)
    out = ops.where(x._data < 3.0, middle, x)
    return ops.where(x._data <= -3.0, _const(x, 0.0), out)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 at or below -3, 1 at or above 3, ``x/6 + 1/2`` between."""
    x = input
    out = ops.where(_strict(x, -3.0, 3.0), x * (1.0 / 6.0) + 0.5, _const(x, 0.0))
    return ops.where(x._data >= 3.0, _const(x, 1.0), out)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``."""
    return -softplus(-input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return input / (ops.abs(input) + 1.0)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return input - ops.tanh(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    return ops.where(input._data > threshold, input, _const(input, value))


# ---------------------------------------------------------------------------- normalisation


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim`` (unit vectors; zero vectors stay zero).

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> F.normalize(bp.tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    return input / _clamped_norm(input, p, dim, eps, keepdim=True)


def _clamped_norm(x: Tensor, p: float, dim: int, eps: float, keepdim: bool) -> Tensor:
    if p == 2:  # clamp the square: sqrt's derivative at 0 would be infinite
        return ops.sqrt(ops.clip(ops.sum(x * x, dim=dim, keepdim=keepdim), min=eps * eps))
    return ops.clip(ops.norm(x, p, dim, keepdim), min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``x1 . x2 / (max(||x1||, eps) max(||x2||, eps))`` along ``dim`` (broadcasting)."""
    n1 = _clamped_norm(x1, 2, dim, eps, keepdim=True)
    n2 = _clamped_norm(x2, 2, dim, eps, keepdim=True)
    return ops.sum((x1 / n1) * (x2 / n2), dim=dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim."""
    d = x1 - x2 + eps
    return ops.norm(d, p, dim=-1, keepdim=keepdim)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices to rows of 0s with a 1 at the index: shape ``(*tensor.shape, C)``,
    int64, with ``C = max + 1`` when ``num_classes`` is -1.

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> F.one_hot(bp.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    idx = np.asarray(tensor._data if isinstance(tensor, Tensor) else tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensors, got {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise ValueError("one_hot: class values must be non-negative")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    elif idx.size and idx.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes {num_classes}")
    return Tensor._wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))


def layer_norm(
    input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5
) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last
    ``len(normalized_shape)`` dims (biased variance, as PyTorch)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape) :]) != shape:
        raise ValueError(
            f"layer_norm: normalized_shape {list(shape)} does not match the input's last dims "
            f"{list(input.shape)}"
        )
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    mu = ops.mean(input, dim=dims, keepdim=True)
    centred = input - mu
    var = ops.mean(centred * centred, dim=dims, keepdim=True)
    out = centred / ops.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(
    input: Tensor,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) over the batch (and any dims after the channel).

    Training uses the batch's mean and biased variance and updates ``running_mean`` and
    ``running_var`` in place (``(1 - momentum) old + momentum new``, the unbiased variance);
    evaluation uses the running statistics.
    """
    if input.ndim < 2:
        raise ValueError(
            f"batch_norm: expected input of shape (N, C) or (N, C, L), got {input.shape}"
        )
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, -1) + (1,) * (input.ndim - 2)  # (1, C, 1...) broadcasts over the channel
    if training:
        n = input._data.size // input.shape[1]
        if n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {tuple(input.shape)}"
            )
        mu = ops.mean(input, dim=dims, keepdim=True)
        centred = input - mu
        var = ops.mean(centred * centred, dim=dims, keepdim=True)
        if running_mean is not None:
            m = momentum
            running_mean._data *= 1 - m
            running_mean._data += m * mu._data.reshape(-1)
            running_var._data *= 1 - m
            running_var._data += m * var._data.reshape(-1) * (n / (n - 1))
        out = centred / ops.sqrt(var + eps)
    else:
        rm = _const(input, running_mean._data.reshape(shape))
        rv = _const(input, running_var._data.reshape(shape))
        out = (input - rm) / ops.sqrt(rv + eps)
    if weight is not None:
        out = out * ops.reshape(weight, shape)
    if bias is not None:
        out = out + ops.reshape(bias, shape)
    return out


def embedding(
    input,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm=None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; the row ``padding_idx`` gets no
    gradient."""
    idx = np.asarray(input._data if isinstance(input, Tensor) else input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {idx.dtype}")
    num = weight.shape[0]
    if idx.size and (idx.min() < -num or idx.max() >= num):
        raise IndexError(f"embedding: index out of range for {num} embeddings")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(
            "embedding: max_norm, scale_grad_by_freq and sparse are not supported"
        )
    out = weight[idx]
    if padding_idx is not None:
        keep = (idx != (padding_idx % num))[..., None]
        out = ops.where(keep, out, Tensor._wrap(weight._data[idx]))
    return out


def _shift(input: Tensor, dim: int) -> Tensor:
    # Subtracting the max leaves softmax unchanged and keeps exp from overflowing. The max
    # is a constant here: its gradient would cancel exactly anyway.
    return input - Tensor._wrap(np.max(input._data, axis=dim, keepdims=True))


def _softmax_args(name: str, input: Tensor, dim, dtype) -> tuple[Tensor, int]:
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:  # PyTorch's implicit choice (deprecated there): 0 for 0-, 1- and 3-D
        dim = 0 if input.ndim in (0, 1, 3) else 1
    ndim = builtins_max(input.ndim, 1)
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"{name}: dim {dim} is out of range for a {input.ndim}-D tensor "
            f"(expected to be in range of [{-ndim}, {ndim - 1}])"
        )
    return input, dim


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``.

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> F.softmax(bp.tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
    """
    input, dim = _softmax_args("softmax", input, dim, dtype)
    if input.ndim == 0:
        return softmax(ops.reshape(input, (1,)), 0).reshape(())
    e = ops.exp(_shift(input, dim))
    return e / ops.sum(e, dim=dim, keepdim=True)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x_i - log sum_j exp(x_j)`` along ``dim``, stable for large logits."""
    input, dim = _softmax_args("log_softmax", input, dim, dtype)
    if input.ndim == 0:
        return log_softmax(ops.reshape(input, (1,)), 0).reshape(())
    z = _shift(input, dim)
    return z - ops.log(ops.sum(ops.exp(z), dim=dim, keepdim=True))


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)`` along ``dim``: the largest weight on the smallest entry."""
    input, dim = _softmax_args("softmin", input, dim, dtype)
    return softmax(-input, dim)


# ---------------------------------------------------------------------------- images and attention


def _feature_dropout(name: str, input: Tensor, p: float, training: bool, nd: int) -> Tensor:
    """Zero whole channels: one draw per (sample, channel) of an (N, C, *spatial) input."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p must be between 0 and 1, got {p}")
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{name}: expected a {nd + 1}-D or {nd + 2}-D input, got shape {tuple(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    lead = input.ndim - nd
    shape = tuple(input.shape[:lead]) + (1,) * nd
    if p == 1.0:
        return input * _const(input, 0.0)
    keep = _random.batch_random(shape) >= p
    return input * _const(input, keep / (1.0 - p))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each channel of (N, C, L) with probability ``p``, scale the rest by ``1/(1-p)``."""
    return _feature_dropout("dropout1d", input, p, training, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each channel (a whole feature map) of (N, C, H, W) with probability ``p``.

    A 2-D input (N, C) is taken as PyTorch takes it, with a warning: channels without
    spatial dims, one draw per element (``dropout``'s behaviour)."""
    if getattr(input, "ndim", None) == 2:
        import warnings

        warnings.warn(
            "dropout2d: Received a 2-D input to dropout2d, which is deprecated (as in "
            "PyTorch); use dropout instead. It is taken as (N, C): one draw per element.",
            UserWarning,
            stacklevel=2,
        )
        return _feature_dropout("dropout2d", input.unsqueeze(-1), p, training, 1).squeeze(-1)
    return _feature_dropout("dropout2d", input, p, training, 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    return _feature_dropout("dropout3d", input, p, training, 3)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) to (*, C, H r, W r): sub-pixel convolution's rearrangement."""
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(
            f"pixel_shuffle: the channels of input {tuple(input.shape)} ({c}) are not "
            f"divisible by upscale_factor^2 = {r * r}"
        )
    n = len(lead)
    x = ops.reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = ops.permute(x, (*range(n), n, n + 3, n + 1, n + 4, n + 2))
    return ops.reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) to (*, C r^2, H, W): the inverse of ``pixel_shuffle``."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise ValueError(
            f"pixel_unshuffle: height and width of input {tuple(input.shape)} are not "
            f"divisible by downscale_factor {r}"
        )
    n = len(lead)
    x = ops.reshape(input, (*lead, c, h // r, r, w // r, r))
    x = ops.permute(x, (*range(n), n, n + 2, n + 4, n + 1, n + 3))
    return ops.reshape(x, (*lead, c * r * r, h // r, w // r))


_INTERP_DIMS = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _interp_sizes(input, size, scale_factor, nd, recompute):
    spatial = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out = (int(size),) * nd if isinstance(size, (int, np.integer)) else tuple(size)
        if len(out) != nd:
            raise ValueError(
                f"interpolate: size {out} does not match the {nd} spatial dims of input "
                f"{tuple(input.shape)}"
            )
        return spatial, tuple(int(o) for o in out), (None,) * nd
    sf = (scale_factor,) * nd if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
    if len(sf) != nd:
        raise ValueError(
            f"interpolate: scale_factor {sf} does not match the {nd} spatial dims of input "
            f"{tuple(input.shape)}"
        )
    out = tuple(int(math.floor(n * float(f))) for n, f in zip(spatial, sf))
    return spatial, out, (None,) * nd if recompute else sf


def _src_scale(n: int, o: int, sf, align_corners: bool) -> float:
    if align_corners:
        return (n - 1) / (o - 1) if o > 1 else 0.0
    return 1.0 / float(sf) if sf is not None and sf > 0 else n / o


def _nearest_index(n: int, o: int, sf, exact: bool) -> np.ndarray:
    # PyTorch computes the scale and the index in float32 (floorf(dst * scale))
    scale = np.float32(1.0 / float(sf)) if sf is not None and sf > 0 else np.float32(n) / o
    dst = np.arange(o, dtype=np.float32) + (np.float32(0.5) if exact else 0)
    return np.minimum(np.floor(dst * scale).astype(np.int64), n - 1)


def _linear_matrix(n: int, o: int, sf, align_corners: bool, dtype) -> np.ndarray:
    """(o, n): row ``j`` holds the two weights output ``j`` gives its neighbouring inputs."""
    ft = np.float64 if dtype == np.float64 else np.float32
    scale = ft(_src_scale(n, o, sf, align_corners))
    dst = np.arange(o, dtype=ft)
    src = dst * scale if align_corners else np.maximum((dst + ft(0.5)) * scale - ft(0.5), 0)
    i0 = np.minimum(src.astype(np.int64), n - 1)
    lam = (src - i0).astype(dtype)
    i1 = np.minimum(i0 + 1, n - 1)
    m = np.zeros((o, n), dtype)
    rows = np.arange(o)
    np.add.at(m, (rows, i0), 1 - lam)
    np.add.at(m, (rows, i1), lam)
    return m


def _linear_uint8(a: np.ndarray, spatial, out, sfs, align_corners: bool) -> np.ndarray:
    """Linear interpolation of a uint8 image as PyTorch's CPU kernel does it: one dim at a
    time from the last, weights as int16 with the most precision bits the largest weight
    allows, each pass rounded half up and clipped to 0..255 before the next."""
    nd = len(spatial)
    for d in reversed(range(nd)):
        n, o, sf = spatial[d], out[d], sfs[d]
        m = _linear_matrix(n, o, sf, align_corners, np.float64)
        w_max = float(np.abs(m).max())
        bits = 0
        while bits < 15 and int(0.5 + w_max * (1 << (bits + 1))) < (1 << 15):
            bits += 1
        w = np.where(m < 0, -0.5, 0.5) + m * (1 << bits)
        w = np.trunc(w).astype(np.int64)
        moved = np.moveaxis(a.astype(np.int64), 2 + d, -1)
        acc = moved @ w.T + (1 << (bits - 1))
        a = np.moveaxis(np.clip(acc >> bits, 0, 255).astype(np.uint8), -1, 2 + d)
    return np.ascontiguousarray(a)


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of (N, C, *spatial) by ``size`` or ``scale_factor``: modes
    ``nearest``, ``nearest-exact``, ``linear``/``bilinear``/``trilinear`` (with
    ``align_corners``) and ``area`` (adaptive average pooling), as PyTorch. A composite:
    nearest picks indices, linear modes multiply each spatial dim by a (out, in) matrix of
    interpolation weights, so autograd differentiates them.

    >>> import backprop as bp
    >>> import backprop.nn.functional as F
    >>> F.interpolate(bp.tensor([[[1.0, 3.0]]]), scale_factor=2, mode="linear").tolist()
    [[[1.0, 1.5, 2.5, 3.0]]]
    """
    nd = input.ndim - 2
    if nd < 1:
        raise ValueError(
            f"interpolate: expected a 3-D to 5-D input, got shape {tuple(input.shape)}"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    linear_modes = ("linear", "bilinear", "trilinear")
    if mode in linear_modes and _INTERP_DIMS[mode] != nd:
        raise ValueError(
            f"interpolate: mode {mode!r} needs a {_INTERP_DIMS[mode] + 2}-D input, got shape "
            f"{tuple(input.shape)}"
        )
    if align_corners is not None and mode not in linear_modes + ("bicubic",):
        raise ValueError(
            "interpolate: align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    spatial, out, sfs = _interp_sizes(input, size, scale_factor, nd, recompute_scale_factor)
    if any(o < 1 for o in out):
        raise ValueError(f"interpolate: output size {out} must be positive")
    x = input
    if mode in ("nearest", "nearest-exact"):
        for d, (n, o, sf) in enumerate(zip(spatial, out, sfs)):
            idx = _nearest_index(n, o, sf, mode == "nearest-exact")
            x = x[(slice(None),) * (2 + d) + (idx,)]
        return x
    if mode in linear_modes:
        kind = x._data.dtype
        if kind == np.uint8:  # 8-bit images: PyTorch's fixed-point kernel, bit for bit
            return Tensor._wrap(_linear_uint8(x._data, spatial, out, sfs, bool(align_corners)))
        if kind.kind != "f":  # other integers: interpolate in float32, round back
            x = x.float()
        for d, (n, o, sf) in enumerate(zip(spatial, out, sfs)):
            m = _linear_matrix(n, o, sf, bool(align_corners), x._data.dtype)
            x = ops.matmul(x.movedim(2 + d, -1), Tensor._wrap(np.ascontiguousarray(m.T)))
            x = x.movedim(-1, 2 + d)
        if kind.kind != "f":
            x = x.round().to(kind)
        return x
    if mode == "area":
        return [adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d][nd - 1](input, out)
    raise NotImplementedError(f"interpolate: mode {mode!r} is not supported")


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """``interpolate`` under its older name."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(q k^T * scale + mask) v`` over the last two dims (L, E) and (S, E);
    ``scale`` is ``1/sqrt(E)`` by default; a bool ``attn_mask`` marks the allowed pairs,
    a float one is added; ``is_causal`` allows position ``i`` to see ``j <= i``."""
    e = query.shape[-1]
    if key.shape[-1] != e:
        raise ValueError(
            f"scaled_dot_product_attention: query {tuple(query.shape)} and key "
            f"{tuple(key.shape)} differ in their last dim"
        )
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, dim=-3)
        value = value.repeat_interleave(rep, dim=-3)
    s = 1.0 / math.sqrt(e) if scale is None else scale
    attn = ops.matmul(query, ops.transpose(key, -2, -1)) * s
    n_q, n_k = query.shape[-2], key.shape[-2]
    if is_causal:
        if attn_mask is not None:
            raise OpError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
        attn_mask = Tensor._wrap(np.tril(np.ones((n_q, n_k), dtype=bool)))
    if attn_mask is not None:
        mask = attn_mask if isinstance(attn_mask, Tensor) else Tensor(attn_mask)
        if mask.dtype == np.bool_:
            attn = attn.masked_fill(Tensor._wrap(~mask._data), float("-inf"))
        else:
            attn = attn + mask
    attn = softmax(attn, dim=-1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p)
    return ops.matmul(attn, value)


# ---------------------------------------------------------------------------- losses
# Kept in their own file (loss_functions.py) and re-exported here, where PyTorch has them.
from .loss_functions import (  # noqa: E402
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "fold",
    "interpolate",
    "lp_pool1d",
    "lp_pool2d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "pad",
    "pixel_shuffle",
    "pixel_unshuffle",
    "scaled_dot_product_attention",
    "unfold",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "batch_norm",
    "celu",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "elu",
    "embedding",
    "gelu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsigmoid",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pairwise_distance",
    "prelu",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softmin",
    "softplus",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
]

from .functional_more import (  # noqa: E402
    _inplace,
    alpha_dropout,
    bilinear,
    channel_shuffle,
    glu,
    group_norm,
    gumbel_softmax,
    hardshrink,
    instance_norm,
    local_response_norm,
    native_channel_shuffle,
    pdist,
    rms_norm,
    rrelu,
    softshrink,
)
from .loss_functions_more import *  # noqa: E402, F403
from .loss_functions_more import __all__ as _more_losses  # noqa: E402

relu_ = _inplace("relu_", relu)
elu_ = _inplace("elu_", elu)
leaky_relu_ = _inplace("leaky_relu_", leaky_relu)
hardtanh_ = _inplace("hardtanh_", hardtanh)
threshold_ = _inplace("threshold_", threshold)
selu_ = _inplace("selu_", selu)
celu_ = _inplace("celu_", celu)
rrelu_ = _inplace("rrelu_", rrelu)

__all__ += [
    "alpha_dropout",
    "bilinear",
    "celu_",
    "channel_shuffle",
    "elu_",
    "glu",
    "group_norm",
    "gumbel_softmax",
    "hardshrink",
    "hardtanh_",
    "instance_norm",
    "leaky_relu_",
    "local_response_norm",
    "native_channel_shuffle",
    "pdist",
    "relu_",
    "rms_norm",
    "rrelu",
    "rrelu_",
    "selu_",
    "softshrink",
    "threshold_",
]
__all__ += _more_losses
