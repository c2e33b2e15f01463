"""Factories: tensors made from a shape, a range, random numbers or another tensor, with
PyTorch's signatures (``dtype=``, ``device=``, ``requires_grad=``).

>>> import backprop as bp
>>> bp.arange(5.5, 10.5, 2.5)
tensor([5.5000, 8.0000])
>>> bp.linspace(0, 1, 3).dtype
dtype('float32')
"""

from __future__ import annotations

import numpy as np

from . import random as _random
from .autograd import OpError
from .device import place
from .tensor import Tensor, _resolve_dtype, _to_array, get_default_dtype, tensor  # noqa: F401


def _factory(arr, requires_grad: bool, name=None, device=None) -> Tensor:
    t = Tensor._wrap(place(arr, device))
    t.name = name
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    if len(size) == 1 and not isinstance(size[0], (int, np.integer)):
        return tuple(size[0])  # a torch.Size-like sequence
    return tuple(int(n) for n in size)


def _dt(dtype) -> np.dtype:
    return _resolve_dtype(dtype) or get_default_dtype()


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, name=None) -> Tensor:
    return _factory(np.zeros(_shape(size), _dt(dtype)), requires_grad, name, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, name=None) -> Tensor:
    return _factory(np.ones(_shape(size), _dt(dtype)), requires_grad, name, device)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, name=None) -> Tensor:
    """Uninitialised values in PyTorch; zeros here (NumPy's empty would expose stale memory)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad, name=name)


def _fill_dtype(fill_value, dtype):
    if dtype is not None:
        return _resolve_dtype(dtype)
    if isinstance(fill_value, bool):
        return np.dtype(np.bool_)
    if isinstance(fill_value, (int, np.integer)):
        return np.dtype(np.int64)
    return get_default_dtype()


def full(
    size, fill_value, *, dtype=None, device=None, requires_grad: bool = False, name=None
) -> Tensor:
    """``size`` filled with ``fill_value``; its dtype follows the value, as in PyTorch."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    arr = np.full(size, fill_value, _fill_dtype(fill_value, dtype))
    return _factory(arr, requires_grad, name, device)


def _like(t: Tensor, dtype, make, device=None, requires_grad=False) -> Tensor:
    dt = _resolve_dtype(dtype) or t._data.dtype
    arr = make(t._data.shape, dt)
    dev = device if device is not None else t.device
    return _factory(arr, requires_grad, None, dev)


def zeros_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(input, dtype, np.zeros, device, requires_grad)


def ones_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(input, dtype, np.ones, device, requires_grad)


def empty_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(input, dtype, np.zeros, device, requires_grad)


def full_like(
    input: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    return _like(input, dtype, lambda s, d: np.full(s, fill_value, d), device, requires_grad)


def rand_like(input: Tensor, dtype=None, device=None, requires_grad=False, generator=None):
    dt = _resolve_dtype(dtype) or input._data.dtype
    return rand(
        *input.shape,
        dtype=dt,
        device=device or input.device,
        requires_grad=requires_grad,
        generator=generator,
    )


def randn_like(input: Tensor, dtype=None, device=None, requires_grad=False, generator=None):
    dt = _resolve_dtype(dtype) or input._data.dtype
    return randn(
        *input.shape,
        dtype=dt,
        device=device or input.device,
        requires_grad=requires_grad,
        generator=generator,
    )


def randint_like(input: Tensor, low=0, high=None, dtype=None, device=None, generator=None):
    if high is None:
        low, high = 0, low
    return randint(
        low,
        high,
        input.shape,
        dtype=dtype or input._data.dtype,
        device=device or input.device,
        generator=generator,
    )


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False):
    return _factory(np.eye(n, m, dtype=_dt(dtype)), requires_grad, None, device)


def arange(
    start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """As ``torch.arange``: int64 for integer arguments, else the default float dtype."""
    if end is None:
        start, end = 0, start
    vals = [start, end, step]
    vals = [v.item() if isinstance(v, (Tensor, np.generic)) else v for v in vals]
    if dtype is not None:
        dt = _resolve_dtype(dtype)
    elif all(isinstance(v, (int, np.integer)) for v in vals):
        dt = np.dtype(np.int64)
    else:
        dt = get_default_dtype()
    start, end, step = vals
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    # computed in float64 and cast, as PyTorch does (no float32 rounding drift)
    n = max(int(np.ceil((end - start) / step)), 0)
    arr = (start + step * np.arange(n, dtype=np.float64)).astype(dt)
    if dt.kind in "iu":
        arr = np.arange(start, end, step, dtype=dt)
    return _factory(arr, requires_grad, None, device)


def linspace(
    start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end)]
    if dtype is not None and _dt(dtype) == np.bool_:
        raise OpError("linspace: not implemented for bool (as in PyTorch)")
    arr = np.linspace(vals[0], vals[1], int(steps), dtype=np.float64).astype(_dt(dtype))
    return _factory(arr, requires_grad, None, device)


def logspace(
    start,
    end,
    steps: int,
    base: float = 10.0,
    *,
    dtype=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    arr = np.logspace(start, end, int(steps), base=base, dtype=np.float64).astype(_dt(dtype))
    return _factory(arr, requires_grad, None, device)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None, name=None):
    """Standard-normal samples from backprop's generator (``bp.manual_seed`` seeds it)."""
    rng = generator or _random.default_generator()
    arr = rng.standard_normal(_shape(size)).astype(_dt(dtype))
    return _factory(arr, requires_grad, name, device)


def normal(
    mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False
):
    """Samples of N(mean, std^2): ``mean``/``std`` numbers with ``size``, or tensors (the
    samples take their broadcast shape and dtype), as ``torch.normal``. No gradient flows to
    ``mean`` or ``std`` (PyTorch's has none either)."""
    rng = generator or _random.default_generator()
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if tensors:
        if size is not None:
            raise TypeError("normal: give size only with number mean and std")
        shape = np.broadcast_shapes(*(np.shape(v) for v in (m, s)))
        dt = np.result_type(*(t._data.dtype for t in tensors)) if dtype is None else _dt(dtype)
    else:
        if size is None:
            raise TypeError("normal: give size with number mean and std")
        shape, dt = _shape((size,)), _dt(dtype)
    if np.any(np.asarray(s) < 0):
        raise RuntimeError("normal: std must be >= 0")
    arr = (np.asarray(m) + np.asarray(s) * rng.standard_normal(shape)).astype(dt)
    return _factory(arr, requires_grad, None, device)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None, name=None):
    """Uniform samples on [0, 1) from backprop's generator."""
    rng = generator or _random.default_generator()
    return _factory(rng.random(_shape(size)).astype(_dt(dtype)), requires_grad, name, device)


def randint(
    low, high=None, size=None, *, dtype=None, device=None, generator=None, requires_grad=False
) -> Tensor:
    """Integers in [low, high) (int64 unless ``dtype``): ``randint(10, (3,))`` or
    ``randint(2, 10, (3,))``, as in PyTorch."""
    if size is None:  # randint(high, size)
        if high is None:
            raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
        low, high, size = 0, low, high
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    rng = generator or _random.default_generator()
    dt = _resolve_dtype(dtype) or np.dtype(np.int64)
    return _factory(rng.integers(low, high, size).astype(dt), requires_grad, None, device)


def randperm(n: int, *, dtype=None, device=None, generator=None) -> Tensor:
    rng = generator or _random.default_generator()
    dt = _resolve_dtype(dtype) or np.dtype(np.int64)
    return _factory(rng.permutation(int(n)).astype(dt), False, None, device)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``arr`` (changes show in both), keeping its dtype."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(arr).__name__})")
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"from_numpy: can't convert an array of dtype {arr.dtype}")
    return Tensor._wrap(arr)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, without a copy when it already is one (or an array) of that
    dtype and device."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    dt = _resolve_dtype(dtype)
    if (
        isinstance(data, np.ndarray)
        and data.dtype.kind in "biufc"
        and (dt is None or dt == data.dtype)
    ):
        return _factory(data, False, None, device)
    return _factory(_to_array(data, dtype), False, None, device)
