"""Order statistics and counting: mode, kthvalue, quantile and nanquantile, nanmedian (whole
tensor or along a dim), and the ops without a gradient: histc, bincount, unique,
unique_consecutive, searchsorted, bucketize.

The values along a dim come from a ``Gather`` at the chosen index (the gradient goes to that
element, as PyTorch's); ``quantile`` is ``sort`` followed by a ``lerp`` between the two
neighbouring order statistics, which is how PyTorch computes it and so its gradient.

>>> import backprop as bp
>>> x = bp.tensor([1.0, 4.0, 2.0, 3.0], requires_grad=True)
>>> q = x.quantile(0.5)  # halfway between 2 and 3
>>> q.backward()
>>> q.item(), x.grad.tolist()
(2.5, [0.0, 0.0, 0.5, 0.5])
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..tensor import Tensor
from .index import Gather, _dim, sort
from .scan import Median
from .unary import _t

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


# ---------------------------------------------------------------------------- primitives


class ModeValues(Gather):
    name = "mode"
    formulas = ("d mode(s)/ds_i = 1 at the mode's index, else 0",)


class KthValues(Gather):
    name = "kthvalue"
    formulas = ("d kthvalue(s)/ds_i = 1 if s_i is the k-th smallest, else 0",)


class NanMedianDim(Gather):
    name = "nanmedian"
    formulas = ("d nanmedian(s)/ds_i = 1 at the median's index, else 0",)


class NanMedian(Median):
    """The lower median of the elements that are not NaN; the gradient is shared among the
    elements equal to it, as PyTorch's ``nanmedian()``."""

    name = "nanmedian"
    formulas = ("d nanmedian(s)/ds_i = 1/k if s_i is one of the k elements equal to it",)

    def forward(self, a):
        flat = a.reshape(-1)
        if flat.dtype.kind == "f":
            flat = flat[~np.isnan(flat)]
        flat = np.sort(flat, kind="stable")
        value = flat[(flat.size - 1) // 2] if flat.size else np.nan
        self.saved = (a, value)
        return np.asarray(value, dtype=a.dtype)


# ---------------------------------------------------------------------------- helpers


def _along(input: Tensor, dim, op: str, fn, keepdim: bool, cls) -> ValuesIndices:
    """(values, indices) of a selection along ``dim``: ``fn(array, dim)`` returns the index
    (kept dim of size 1) of the element chosen in each row."""
    x = input.reshape(1) if input._data.ndim == 0 else input
    d = _dim(dim, input._data.ndim, op)
    if x._data.shape[d] == 0:
        raise IndexError(f"{op}: cannot select along dimension {d} of size 0 (shape {x.shape})")
    index = fn(x._data, d)
    values = cls.apply((x,), d, index)
    if not keepdim or input._data.ndim == 0:
        values, index = values.squeeze(d), np.squeeze(index, d)
    if input._data.ndim == 0:
        values, index = values.reshape(()), index.reshape(())
    return ValuesIndices(values, Tensor._wrap(index.astype(np.int64)))


def _mode_index(a, dim: int):
    """The index of the smallest most frequent value of each row (its last occurrence)."""
    rows = np.moveaxis(a, dim, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    out = np.empty(flat.shape[0], dtype=np.int64)
    for r, row in enumerate(flat):
        values, counts = np.unique(row, return_counts=True)
        best = values[np.argmax(counts)]  # np.unique is sorted: the smallest on ties
        same = np.nonzero((row == best) | (np.isnan(row) & np.isnan(best)))[0]
        out[r] = same[-1]
    return np.expand_dims(out.reshape(rows.shape[:-1]), dim)


# ---------------------------------------------------------------------------- functional API


def mode(input, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The most frequent value along ``dim`` (the smallest on ties) and its last index."""
    return _along(_t(input), dim, "mode", _mode_index, keepdim, ModeValues)


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
    """The ``k``-th smallest value along ``dim`` (1-based) and its index."""
    input = _t(input)
    d = _dim(dim, input._data.ndim, "kthvalue")
    n = input._data.shape[d] if input._data.ndim else 1
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue: k ({k}) is out of range for dimension {d} of size {n}")

    def pick(a, d):
        order = np.argsort(a, axis=d, kind="stable")  # NaN sorts last, as in PyTorch
        return np.take(order, [k - 1], axis=d)

    return _along(input, dim, "kthvalue", pick, keepdim, KthValues)


def _nanmedian_index(a, dim: int):
    order = np.argsort(a, axis=dim, kind="stable")
    valid = np.sum(~np.isnan(a), axis=dim, keepdims=True) if a.dtype.kind == "f" else None
    if valid is None:
        valid = np.full(a.shape[:dim] + (1,) + a.shape[dim + 1 :], a.shape[dim])
    rank = np.maximum((valid - 1) // 2, 0)
    return np.take_along_axis(order, rank, dim)


def nanmedian(input, dim=None, keepdim: bool = False):
    """``median`` ignoring NaN: a tensor over all elements, or (values, indices) along
    ``dim``; NaN where every element is NaN."""
    input = _t(input)
    if dim is None:
        return NanMedian.apply((input,))
    return _along(input, dim, "nanmedian", _nanmedian_index, keepdim, NanMedianDim)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, op):
    input = _t(input)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: input must be float32 or float64, got {input._data.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"{op}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, "
            f"not {interpolation!r}"
        )
    qs = q._data if isinstance(q, Tensor) else np.asarray(q, dtype=np.float64)
    scalar_q = qs.ndim == 0
    if qs.ndim > 1:
        raise RuntimeError(f"{op}: q must be a number or a 1-D tensor, got {qs.ndim} dims")
    if qs.size and (np.isnan(qs).any() or qs.min() < 0 or qs.max() > 1):
        raise RuntimeError(f"{op}: q values must be in the range [0, 1]")
    qs = qs.reshape(-1).astype(np.float64)
    shape = input._data.shape
    if dim is None:
        x = input.reshape(-1)
        d = 0
    else:
        d = _dim(dim, input._data.ndim, op)
        x = input.reshape(1) if input._data.ndim == 0 else input
    if x._data.shape[d] == 0:
        raise IndexError(f"{op}: cannot compute a quantile of an empty dimension ({shape})")
    x = x.movedim(d, -1)
    values = sort(x, dim=-1).values  # NaN last
    n = values._data.shape[-1]
    nan = np.isnan(values._data)
    if ignore_nan:
        count = np.sum(~nan, axis=-1, keepdims=True)
        ranks = np.maximum(qs * (count - 1), 0)  # (..., nq); rows of NaN read a NaN
    else:
        ranks = np.where(nan.any(-1, keepdims=True), n - 1.0, qs * (n - 1.0))
    if interpolation == "lower":
        ranks = np.floor(ranks)
    elif interpolation == "higher":
        ranks = np.ceil(ranks)
    elif interpolation == "nearest":
        ranks = np.round(ranks)  # half to even, as PyTorch's round
    below = ranks.astype(np.int64)
    out = values.gather(-1, below)
    if interpolation in ("linear", "midpoint"):
        above = np.ceil(ranks).astype(np.int64)
        weight = ranks - below if interpolation == "linear" else 0.5 * (above > below)
        weight = Tensor._wrap(weight.astype(values._data.dtype))
        out = out.lerp(values.gather(-1, above), weight)
    out = out.movedim(-1, 0)  # (nq, ...)
    if keepdim:
        if dim is None:
            out = out.reshape((len(qs),) + (1,) * len(shape))
        else:
            out = out.unsqueeze(d + 1) if len(shape) else out
    if scalar_q:
        out = out.squeeze(0)
    return out


def quantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
    """The ``q``-th quantiles (a number or a 1-D tensor in [0, 1]) over ``dim`` (all elements
    when None), interpolating as ``interpolation`` says; NaN where a row holds a NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
    """``quantile`` over the elements that are not NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


# ---------------------------------------------------------------------------- no gradient


def histc(input, bins: int = 100, min=0, max=0) -> Tensor:  # noqa: A002 - PyTorch's names
    """A histogram of ``bins`` equal bins over ``[min, max]`` (the data's range when both
    are 0); elements outside are left out. No gradient, as in PyTorch."""
    data = _t(input)._data
    if data.dtype.kind != "f":
        raise RuntimeError(f"histc: input must be floating point, got {data.dtype}")
    lo, hi = float(min), float(max)
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"histc: max ({hi}) must be larger than min ({lo})")
    counts, _ = np.histogram(data[~np.isnan(data)], bins=int(bins), range=(lo, hi))
    return Tensor._wrap(counts.astype(data.dtype))


def bincount(input, weights=None, minlength: int = 0) -> Tensor:
    """How often each value of the 1-D non-negative integer ``input`` occurs (the sum of
    ``weights`` at those places, if given)."""
    data = _t(input)._data
    if data.ndim != 1 or data.dtype.kind not in "iub":
        raise RuntimeError(
            f"bincount: input must be a 1-D integer tensor, got shape {data.shape} {data.dtype}"
        )
    if data.size and data.min() < 0:
        raise RuntimeError("bincount: input must be non-negative")
    if weights is None:
        return Tensor._wrap(np.bincount(data, minlength=minlength).astype(np.int64))
    w = _t(weights)._data
    out = np.bincount(data, weights=w, minlength=minlength)
    dtype = w.dtype if w.dtype.kind == "f" else np.float64
    return Tensor._wrap(out.astype(dtype))


def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts=False, dim=None):  # noqa: A002
    """The distinct values (sorted), or distinct slices along ``dim``; with
    ``return_inverse`` where each element went, with ``return_counts`` how many there were."""
    data = _t(input)._data
    if dim is None:
        values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(data.shape)
    else:
        d = _dim(dim, data.ndim, "unique")
        values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True, axis=d)
        inverse = inverse.reshape(-1)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def _unique_result(values, inverse, counts, return_inverse, return_counts):
    out = [Tensor._wrap(values)]
    if return_inverse:
        out.append(Tensor._wrap(inverse.astype(np.int64)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse: bool = False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (or slices along ``dim``) to one."""
    data = _t(input)._data
    if dim is None:
        flat = data.reshape(-1)
        if not flat.size:
            return _unique_result(
                flat, flat.astype(np.int64), flat.astype(np.int64), return_inverse, return_counts
            )
        new = np.concatenate([[True], flat[1:] != flat[:-1]])
        values = flat[new]
        inverse = (np.cumsum(new) - 1).reshape(data.shape)
    else:
        d = _dim(dim, data.ndim, "unique_consecutive")
        moved = np.moveaxis(data, d, 0)
        rows = moved.reshape(moved.shape[0], -1)
        new = np.concatenate([[True], (rows[1:] != rows[:-1]).any(axis=1)])
        values = np.moveaxis(moved[new], 0, d)
        inverse = np.cumsum(new) - 1
    counts = np.diff(np.append(np.nonzero(new)[0], new.size))
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where ``input``'s values would be inserted into ``sorted_sequence`` (whose last dim is
    sorted; the leading dims match ``input``'s) to keep it sorted; no gradient."""
    seq = _t(sorted_sequence)._data
    vals = input._data if isinstance(input, Tensor) else np.asarray(input)
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', not {side!r}")
        if right and side == "left":
            raise RuntimeError("searchsorted: side='left' and right=True contradict each other")
        right = side == "right"
    how = "right" if right else "left"
    if sorter is not None:
        seq = np.take_along_axis(seq, _t(sorter)._data, -1)
    if seq.ndim <= 1:
        out = np.searchsorted(seq, vals, side=how)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError(
                f"searchsorted: the leading dims of sorted_sequence {seq.shape} and input "
                f"{vals.shape} must match"
            )
        s2 = seq.reshape(-1, seq.shape[-1])
        v2 = vals.reshape(-1, vals.shape[-1])
        out = np.stack([np.searchsorted(s, v, side=how) for s, v in zip(s2, v2)])
        out = out.reshape(vals.shape)
    return Tensor._wrap(np.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False) -> Tensor:
    """The bucket of each element of ``input`` given the sorted 1-D ``boundaries``."""
    b = _t(boundaries)._data
    if b.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries must be 1-D, got shape {b.shape}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


METHODS = {
    "mode": mode,
    "kthvalue": kthvalue,
    "nanmedian": nanmedian,
    "quantile": quantile,
    "nanquantile": nanquantile,
    "histc": histc,
    "bincount": bincount,
    "unique": unique,
    "unique_consecutive": unique_consecutive,
}
