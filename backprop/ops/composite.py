"""Ops composed from primitives, so their gradients come from the primitives' rules: diff,
trapezoid and cumulative_trapezoid, cross, kron, rot90, trace, cdist, and the index ops
index_add, index_copy, index_fill, put, take (with their in-place ``_`` forms for tensors
outside a graph, as ``scatter_``).

>>> import backprop as bp
>>> bp.diff(bp.tensor([1.0, 4.0, 9.0, 16.0])).tolist()
[3.0, 5.0, 7.0]
>>> bp.cross(bp.tensor([1.0, 0.0, 0.0]), bp.tensor([0.0, 1.0, 0.0])).tolist()
[0.0, 0.0, 1.0]
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .index import _dim, _in_place, _index_array, masked_fill, scatter, scatter_add
from .layout import flip, narrow
from .unary import _t


def _along_dim(arr, dim: int, ndim: int):
    """A 1-D array shaped to broadcast along ``dim`` of an ``ndim``-dim tensor."""
    shape = [1] * ndim
    shape[dim] = -1
    return arr.reshape(shape)


# ---------------------------------------------------------------------------- differences


def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim``, after putting ``prepend`` and
    ``append`` on either end."""
    from . import cat

    input = _t(input)
    if input._data.ndim == 0:
        raise RuntimeError("diff: expects input to be at least one-dimensional")
    d = _dim(dim, input._data.ndim, "diff")
    parts = [_t(p) for p in (prepend, input, append) if p is not None]
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        m = x._data.shape[d]
        if m == 0:
            break
        hi, lo = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        if x._data.dtype == bool:
            x = Tensor._wrap(np.logical_xor(hi._data, lo._data))
        else:
            x = hi - lo
    return x


def _spacing(y: Tensor, x, dx, d: int, op: str):
    """The widths of the trapezoids along ``d``: from the sample points ``x`` or ``dx``."""
    if x is None:
        return 1.0 if dx is None else dx
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x._data.ndim == 1:
        if x._data.shape[0] != y._data.shape[d]:
            raise RuntimeError(
                f"{op}: x has {x._data.shape[0]} points but y has {y._data.shape[d]} along dim {d}"
            )
        return diff(x).reshape(_along_dim(np.empty(x._data.shape[0] - 1), d, y.ndim).shape)
    return diff(x, dim=d - y.ndim)


def trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The integral of ``y`` along ``dim`` by the trapezoid rule (points ``x``, or equal
    spacing ``dx``, 1 by default)."""
    from . import sum as _sum

    y = _t(y)
    d = _dim(dim, y._data.ndim, "trapezoid")
    n = y._data.shape[d]
    if n == 0:
        return _sum(y, d)
    h = _spacing(y, x, dx, d, "trapezoid")
    mid = narrow(y, d, 1, n - 1) + narrow(y, d, 0, n - 1)
    return _sum(mid * h, d) / 2


def trapz(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running integral of ``y`` along ``dim`` (one element fewer than ``y``)."""
    y = _t(y)
    d = _dim(dim, y._data.ndim, "cumulative_trapezoid")
    n = y._data.shape[d]
    if n == 0:
        return y
    h = _spacing(y, x, dx, d, "cumulative_trapezoid")
    mid = narrow(y, d, 1, n - 1) + narrow(y, d, 0, n - 1)
    return (mid * h / 2).cumsum(d)


# ---------------------------------------------------------------------------- products


def cross(input, other, dim=None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the first dim of size 3 when None, as
    ``torch.cross``; ``linalg.cross`` uses the last); the inputs broadcast."""
    a, b = _t(input), _t(other)
    shape = np.broadcast_shapes(a._data.shape, b._data.shape)
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in input of shape {shape}")
    d = _dim(dim, len(shape), "cross")
    if shape[d] != 3:
        raise RuntimeError(
            f"cross: inputs dimension {dim} must have length 3, got shapes "
            f"{a._data.shape} and {b._data.shape}"
        )
    if a._data.shape != shape:
        a = a.expand(*shape)
    if b._data.shape != shape:
        b = b.expand(*shape)
    nxt, prv = np.array([1, 2, 0]), np.array([2, 0, 1])
    return a.index_select(d, nxt) * b.index_select(d, prv) - a.index_select(
        d, prv
    ) * b.index_select(d, nxt)


def kron(input, other) -> Tensor:
    """The Kronecker product: block ``(i, j)`` is ``input[i, j] * other``."""
    a, b = _t(input), _t(other)
    nd = max(a._data.ndim, b._data.ndim)
    sa = (1,) * (nd - a._data.ndim) + a._data.shape
    sb = (1,) * (nd - b._data.ndim) + b._data.shape
    ia = tuple(x for s in sa for x in (s, 1))
    ib = tuple(x for s in sb for x in (1, s))
    out = a.reshape(ia) * b.reshape(ib)
    return out.reshape(tuple(p * q for p, q in zip(sa, sb)))


def rot90(input, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane ``dims`` (from the first toward the
    second)."""
    input = _t(input)
    dims = tuple(dims)
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = _dim(dims[0], nd, "rot90"), _dim(dims[1], nd, "rot90")
    if d0 == d1:
        raise RuntimeError(f"rot90: rotation dims must differ, got {dims}")
    k %= 4
    if k == 1:
        return flip(input, (d1,)).transpose(d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return flip(input, (d0,)).transpose(d0, d1)
    return input.clone()


def trace(input) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor (``Tensor.trace``; ``bp.trace`` is the
    explainer's step-by-step backward)."""
    input = _t(input)
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with shape {input.shape}")
    return input.diagonal().sum()


def cdist(x1, x2, p: float = 2.0, compute_mode=None) -> Tensor:
    """The ``p``-norm distance between each row of ``x1`` (..., P, M) and each row of ``x2``
    (..., R, M): shape (..., P, R)."""
    from .linalg import vector_norm

    a, b = _t(x1), _t(x2)
    if a._data.ndim < 2 or b._data.ndim < 2 or a._data.shape[-1] != b._data.shape[-1]:
        raise RuntimeError(
            f"cdist: x1 {tuple(a.shape)} and x2 {tuple(b.shape)} must be (..., P, M) and "
            f"(..., R, M) with the same M"
        )
    if p < 0:
        raise RuntimeError(f"cdist: p must be non-negative, got {p}")
    d = a.unsqueeze(-2) - b.unsqueeze(-3)
    return vector_norm(d, p, dim=-1)


# ---------------------------------------------------------------------------- index ops


def _slices_index(input: Tensor, dim: int, index, source_shape, op: str):
    """``index`` (1-D) as a full index for scatter along ``dim`` over ``source_shape``."""
    idx = _index_array(index, op).reshape(-1)
    n = input._data.shape[dim] if input._data.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{op}: index out of range for dimension {dim} of size {n}")
    if len(source_shape) and source_shape[dim] != idx.size:
        raise RuntimeError(
            f"{op}: source has {source_shape[dim]} slices along dim {dim} but index has "
            f"{idx.size} entries"
        )
    idx = idx % max(n, 1)
    if not len(source_shape):
        return idx
    return np.broadcast_to(_along_dim(idx, dim, len(source_shape)), source_shape).copy()


def _check_source(input: Tensor, dim: int, source: Tensor, op: str) -> None:
    s, t = input._data.shape, source._data.shape
    if len(s) != len(t) or any(a != b for i, (a, b) in enumerate(zip(s, t)) if i != dim):
        raise RuntimeError(
            f"{op}: source of shape {t} must match the input {s} in every dim but {dim}"
        )


def index_add(input, dim: int, index, source, *, alpha=1) -> Tensor:
    """``input`` with ``alpha * source``'s slices added at ``index`` along ``dim``
    (repeated indices accumulate)."""
    input, source = _t(input), _t(source)
    d = _dim(dim, input._data.ndim, "index_add")
    if alpha != 1:
        source = source * alpha
    if input._data.ndim == 0:
        return input + source.sum()
    _check_source(input, d, source, "index_add")
    idx = _slices_index(input, d, index, source._data.shape, "index_add")
    return scatter_add(input, d, idx, source)


def index_copy(input, dim: int, index, source) -> Tensor:
    """``input`` with ``source``'s slices written at ``index`` along ``dim``."""
    input, source = _t(input), _t(source)
    d = _dim(dim, input._data.ndim, "index_copy")
    if input._data.ndim == 0:
        return source.reshape(()) * 1
    _check_source(input, d, source, "index_copy")
    idx = _slices_index(input, d, index, source._data.shape, "index_copy")
    return scatter(input, d, idx, source)


def index_fill(input, dim: int, index, value) -> Tensor:
    """``input`` with the slices at ``index`` along ``dim`` set to ``value`` (a number or a
    0-d tensor, which gets their gradient)."""
    input = _t(input)
    nd = input._data.ndim
    d = _dim(dim, nd, "index_fill")
    n = input._data.shape[d] if nd else 1
    idx = _slices_index(input, d, index, (), "index_fill")
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return masked_fill(input, _along_dim(mask, d, nd) if nd else mask.reshape(()), value)


def _flat_index(input: Tensor, index, op: str):
    idx = _index_array(index, op)
    n = input._data.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{op}: index out of range for a tensor of {n} elements")
    return idx % max(n, 1)


def take(input, index) -> Tensor:
    """The elements of ``input`` read as a flat 1-D tensor at ``index`` (the index's shape)."""
    input = _t(input)
    idx = _flat_index(input, index, "take")
    return input.reshape(-1)[idx]


def put(input, index, source, accumulate: bool = False) -> Tensor:
    """``input`` with ``source``'s elements written (or added, ``accumulate=True``) at the
    flat positions ``index``."""
    input, source = _t(input), _t(source)
    idx = _flat_index(input, index, "put").reshape(-1)
    if idx.size != source._data.size:
        raise RuntimeError(f"put: index has {idx.size} elements but source has {source._data.size}")
    flat, src = input.reshape(-1), source.reshape(-1)
    out = scatter_add(flat, 0, idx, src) if accumulate else scatter(flat, 0, idx, src)
    return out.reshape(input._data.shape)


def _index_add_(self, dim, index, source, *, alpha=1):
    return _in_place(self, index_add(self, dim, index, source, alpha=alpha), "index_add")


def _index_copy_(self, dim, index, source):
    return _in_place(self, index_copy(self, dim, index, source), "index_copy")


def _index_fill_(self, dim, index, value):
    return _in_place(self, index_fill(self, dim, index, value), "index_fill")


def _put_(self, index, source, accumulate=False):
    return _in_place(self, put(self, index, source, accumulate), "put")


METHODS = {
    "diff": diff,
    "cross": cross,
    "kron": kron,
    "rot90": rot90,
    "trace": trace,
    "index_add": index_add,
    "index_add_": _index_add_,
    "index_copy": index_copy,
    "index_copy_": _index_copy_,
    "index_fill": index_fill,
    "index_fill_": _index_fill_,
    "take": take,
    "put": put,
    "put_": _put_,
}
