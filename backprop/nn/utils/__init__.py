"""``bp.nn.utils``: gradient clipping and flat parameter vectors, as in ``torch.nn.utils``.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([3.0, 4.0]))
>>> (w * w).sum().backward()                     # grad = 2w = [6, 8], norm 10
>>> float(bp.nn.utils.clip_grad_norm_([w], max_norm=1.0))
10.0
>>> [round(v, 4) for v in w.grad.tolist()]
[0.6, 0.8]
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Iterable

import numpy as np

from ... import ops
from ...tensor import Tensor

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "get_total_norm",
    "parameters_to_vector",
    "remove_weight_norm",
    "skip_init",
    "weight_norm",
    "vector_to_parameters",
]


def _params(parameters) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _norm(arrays: list[np.ndarray], norm_type: float) -> float:
    if not arrays:
        return 0.0
    if norm_type == math.inf:
        return float(max((np.abs(a).max() for a in arrays if a.size), default=0.0))
    if norm_type == 2:
        return float(math.sqrt(sum(float(np.vdot(a, a)) for a in arrays)))
    per = [float(np.sum(np.abs(a.astype(np.float64)) ** norm_type)) for a in arrays]
    return float(sum(per) ** (1.0 / norm_type))


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` together, as one 0-d tensor."""
    arrays = [t._data for t in _params(tensors)]
    total = _norm(arrays, float(norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {float(norm_type)} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    dtype = arrays[0].dtype if arrays else np.float32
    return Tensor._wrap(np.asarray(total, dtype=dtype))


def clip_grad_norm_(
    parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach=None,
) -> Tensor:
    """Scale all gradients together so their total ``norm_type``-norm is at most
    ``max_norm``; returns the norm before clipping (a 0-d tensor).

    The scale is ``max_norm / (norm + 1e-6)`` capped at 1, PyTorch's formula, so clipped
    gradients equal PyTorch's.
    """
    params = [p for p in _params(parameters) if p._grad is not None]
    if not params:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    grads = [p._grad for p in params]
    total = get_total_norm([Tensor._wrap(g) for g in grads], norm_type, error_if_nonfinite)
    coef = float(max_norm) / (float(total._data) + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= g.dtype.type(coef)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]``, in place."""
    c = float(clip_value)
    for p in _params(parameters):
        if p._grad is not None:
            np.clip(p._grad, -c, c, out=p._grad)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    return ops.cat([ops.reshape(p, (-1,)) for p in _params(parameters)])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters (in place, no graph)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected a Tensor, but got {type(vec).__name__}")
    params = _params(parameters)
    total = sum(p._data.size for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(
            f"vector_to_parameters: vec has shape {tuple(vec.shape)} but the parameters hold "
            f"{total} elements"
        )
    offset = 0
    for p in params:
        n = p._data.size
        p._data[...] = vec._data[offset : offset + n].reshape(p._data.shape)
        offset += n


from . import (  # noqa: E402
    parametrizations,
    parametrize,
    rnn,  # noqa: E402  (nn.utils.rnn: pad_sequence, pack_padded_sequence, ...)
)
from .weight_norm import remove_weight_norm, weight_norm  # noqa: E402


def clip_grad_norm(
    parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach=None,
):
    """PyTorch's deprecated name for ``clip_grad_norm_`` (it warns the same)."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated "
        "in favor of `torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def skip_init(module_cls, *args, **kwargs):
    """Build ``module_cls(*args, **kwargs)`` whose parameters are to be overwritten anyway.
    PyTorch builds it on the meta device and allocates uninitialised memory; here the module
    is built as usual (its values are unspecified either way). ``module_cls`` must take a
    ``device`` argument, as PyTorch requires."""
    from ..module import Module

    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs.setdefault("device", "cpu")
    return module_cls(*args, **kwargs)
