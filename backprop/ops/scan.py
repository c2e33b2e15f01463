"""Reductions beyond sum/mean/max (prod, logsumexp, median) and scans along a dim (cumsum,
cumprod, cummax, cummin, logcumsumexp), plus the composites PyTorch programs reach for
(std_mean, var_mean, nansum, count_nonzero, aminmax).

``prod``'s rule is the product of the other elements, computed from prefix and suffix
products, so it is exact when inputs are zero (PyTorch's values); ``cumprod``'s likewise.

>>> import backprop as bp
>>> x = bp.tensor([2.0, 0.0, 3.0], requires_grad=True)
>>> x.prod().backward()
>>> x.grad
tensor([0., 6., 0.])
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .index import Gather, _dim
from .unary import _floating, _t

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
MinMax = namedtuple("MinMax", ["min", "max"])


def _last(a, dim):
    """``a`` with ``dim`` moved last and the rest flattened: (rows, n)."""
    a = np.moveaxis(a, dim, -1)
    if not a.ndim:
        return a.reshape(1, 1)
    return a.reshape(int(np.prod(a.shape[:-1])), a.shape[-1])


def _unlast(rows, shape, dim):
    moved = tuple(np.delete(np.array(shape, dtype=int), dim)) + (shape[dim],)
    return np.moveaxis(rows.reshape(moved), -1, dim)


def _others_product(a, dim):
    """For each element, the product of the other elements along ``dim`` (exact at zeros)."""
    rows = _last(a, dim)
    ones = np.ones_like(rows[:, :1])
    before = np.concatenate([ones, np.cumprod(rows, axis=1)[:, :-1]], axis=1)
    after = np.concatenate([np.cumprod(rows[:, ::-1], axis=1)[:, -2::-1], ones], axis=1)
    return _unlast(before * after, a.shape, dim)


def _reversed_cumsum(a, axis):
    return np.flip(np.cumsum(np.flip(a, axis), axis=axis), axis)


# ---------------------------------------------------------------------------- reductions


class Prod(Function):
    name = "prod"
    formulas = ("d prod(s)/ds_i = the product of the other s_j",)

    def forward(self, a, dim, keepdim):
        self.saved, self.dim, self.keepdim = a, dim, keepdim
        return np.prod(a, axis=dim, keepdims=keepdim)

    def backward(self, g):
        a, dim = self.saved, self.dim
        if dim is None:
            others = _others_product(a.reshape(-1), 0).reshape(a.shape)
            return (g * others,)
        if not self.keepdim:
            g = np.expand_dims(g, dim)
        return (g * _others_product(a, dim),)


class LogSumExp(Function):
    name = "logsumexp"
    formulas = ("d logsumexp(s)/ds_i = exp(s_i - logsumexp(s)) = softmax(s)_i",)

    def forward(self, a, dims, keepdim):
        m = np.max(a, axis=dims, keepdims=True) if a.size else np.zeros((1,) * a.ndim)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(a - m), axis=dims, keepdims=True)) + m
        self.saved, self.dims, self.keepdim = (a, out), dims, keepdim
        return out if keepdim else np.squeeze(out, dims)

    def backward(self, g):
        a, out = self.saved
        if not self.keepdim:
            g = np.expand_dims(g, self.dims if self.dims is not None else tuple(range(a.ndim)))
        with np.errstate(invalid="ignore"):
            return (g * np.exp(a - out),)


class Median(Function):
    """The lower median of all elements; the gradient is shared among the elements equal to
    it (NaN is the median if present), as PyTorch's ``median()``."""

    name = "median"
    formulas = ("d median(s)/ds_i = 1/k if s_i is one of the k elements equal to the median",)

    def forward(self, a):
        flat = np.sort(a.reshape(-1), kind="stable")
        value = flat[(flat.size - 1) // 2] if not np.isnan(flat).any() else np.nan
        self.saved = (a, value)
        return np.asarray(value, dtype=a.dtype)

    def backward(self, g):
        a, v = self.saved
        mask = np.isnan(a) if np.isnan(v) else a == v
        return (mask * (g / mask.sum()),)


class MedianDim(Gather):
    name = "median"
    formulas = ("d median(s)/ds_i = 1 at the median's index, else 0",)


def _median_index(a, dim: int):
    """The index of the lower median along ``dim`` (of the first NaN where there is one)."""
    order = np.argsort(a, axis=dim, kind="stable")  # NaN sorts last, in its original order
    n = a.shape[dim]
    rank = np.full(_keep_shape(a, dim), (n - 1) // 2)
    if a.dtype.kind == "f":
        nans = np.isnan(a)
        valid = np.sum(~nans, axis=dim, keepdims=True)
        rank = np.where(valid < n, valid, rank)
    return np.take_along_axis(order, rank, dim)


def _keep_shape(a, dim):
    return a.shape[:dim] + (1,) + a.shape[dim + 1 :]


# ---------------------------------------------------------------------------- scans


class CumSum(Function):
    name = "cumsum"
    formulas = ("d cumsum(s)_j/ds_i = 1 if i <= j (the gradient is a reversed cumsum)",)

    def forward(self, a, dim):
        self.dim = dim
        return np.cumsum(a, axis=dim)

    def backward(self, g):
        return (_reversed_cumsum(g, self.dim),)


class CumProd(Function):
    name = "cumprod"
    formulas = ("d cumprod(s)_j/ds_i = prod of s_k for k <= j, k != i (if i <= j)",)

    def forward(self, a, dim):
        out = np.cumprod(a, axis=dim)
        self.saved, self.dim = (a, out), dim
        return out

    def backward(self, g):
        a, out = self.saved
        dim = self.dim
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = _reversed_cumsum(g * out, dim) / a
        zero_rows = np.nonzero((_last(a, dim) == 0).any(axis=1))[0]
        if zero_rows.size:  # exact where a row holds a zero: no division by it
            rows, gr, gradr = _last(a, dim), _last(g, dim), _last(grad, dim).copy()
            for r in zero_rows:
                gradr[r] = _cumprod_row_grad(rows[r], gr[r])
            grad = _unlast(gradr, a.shape, dim)
        return (grad,)


def _cumprod_row_grad(x, g):
    """The gradient of cumprod for one row holding a zero (first at ``z``): before ``z`` the
    usual formula; at ``z`` the products that skip it; after ``z`` nothing (PyTorch's)."""
    z = int(np.argmax(x == 0))
    out = np.zeros_like(g)
    head = np.cumprod(x[:z])
    if z:
        out[:z] = _reversed_cumsum(g[:z] * head, 0) / x[:z]
    before = head[-1] if z else 1
    tail = np.cumprod(x[z + 1 :])
    out[z] = before * (g[z] + np.sum(g[z + 1 :] * tail))
    return out


class CumMax(Gather):
    name = "cummax"
    formulas = ("d cummax(s)_j/ds_i = 1 if s_i is the running maximum at j",)


class CumMin(Gather):
    name = "cummin"
    formulas = ("d cummin(s)_j/ds_i = 1 if s_i is the running minimum at j",)


def _running_index(a, dim: int, better):
    """Where the running max (``better`` = >=) or min (<=) along ``dim`` comes from: ties
    take the later index and a NaN, once seen, stays (PyTorch's cummax and cummin)."""
    rows = _last(a, dim)
    index = np.zeros(rows.shape, dtype=np.int64)
    if not rows.size:
        return _unlast(index, a.shape, dim)
    cur, at = rows[:, 0].copy(), np.zeros(rows.shape[0], dtype=np.int64)
    for i in range(rows.shape[1]):
        x = rows[:, i]
        take = better(x, cur)
        if rows.dtype.kind == "f":
            take |= np.isnan(x)
        cur = np.where(take, x, cur)
        at = np.where(take, i, at)
        index[:, i] = at
    return _unlast(index, a.shape, dim)


class LogCumSumExp(Function):
    name = "logcumsumexp"
    formulas = ("d logcumsumexp(s)_j/ds_i = exp(s_i - logcumsumexp(s)_j) if i <= j",)

    def forward(self, a, dim):
        out = np.logaddexp.accumulate(a, axis=dim)
        self.saved, self.dim = (a, out), dim
        return out

    def backward(self, g):
        # sum over j >= i of g_j exp(s_i - out_j), with the positive and negative parts of g
        # summed in log space so that nothing overflows
        a, out = self.saved
        dim = self.dim
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):

            def part(gp):
                terms = np.log(gp) - out
                return np.exp(a + np.flip(np.logaddexp.accumulate(np.flip(terms, dim), dim), dim))

            return (part(np.maximum(g, 0)) - part(np.maximum(-g, 0)),)


# ---------------------------------------------------------------------------- functional API


def _dims(dim, ndim: int, op: str):
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(_dim(d, ndim, op) for d in dims)


def _cast(input: Tensor, dtype) -> Tensor:
    return input if dtype is None else input.to(dtype)


def prod(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None) -> Tensor:
    """The product of all elements, or along ``dim``; integers and bools give int64."""
    input = _cast(_t(input), dtype)
    dim = axis if dim is None else dim
    if input._data.dtype.kind in "bi" and dtype is None:
        input = Tensor._wrap(input._data.astype(np.int64))
    if dim is None:
        return Prod.apply((input,), None, False)
    d = _dim(dim, input._data.ndim, "prod")
    if input._data.ndim == 0:
        return input.clone() if input.requires_grad else Tensor._wrap(input._data.copy())
    return Prod.apply((input,), d, bool(keepdim))


def logsumexp(input, dim=None, keepdim: bool = False, *, axis=None) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim`` without overflow; its gradient is softmax."""
    input = _floating(input)
    dim = axis if dim is None else dim
    if input._data.ndim == 0:
        _dims(dim, 0, "logsumexp")
        return input.clone()
    return LogSumExp.apply((input,), _dims(dim, input._data.ndim, "logsumexp"), bool(keepdim))


def _scan(cls, op):
    def fn(input, dim: int, *, dtype=None, axis=None) -> Tensor:
        input = _cast(_t(input), dtype)
        dim = axis if axis is not None else dim
        if input._data.dtype.kind in "bi" and dtype is None and op in ("cumsum", "cumprod"):
            input = Tensor._wrap(input._data.astype(np.int64))
        if input._data.ndim == 0:
            _dim(dim, 0, op)
            return cls.apply((input.reshape(1),), 0).reshape(())
        return cls.apply((input,), _dim(dim, input._data.ndim, op))

    fn.__name__ = op
    fn.__doc__ = f"``{op}`` along ``dim`` (same shape as the input)."
    return fn


cumsum = _scan(CumSum, "cumsum")
cumprod = _scan(CumProd, "cumprod")
_logcumsumexp = _scan(LogCumSumExp, "logcumsumexp")


def logcumsumexp(input, dim: int) -> Tensor:
    """``log(cumsum(exp(input)))`` along ``dim``, without overflow."""
    return _logcumsumexp(_floating(input), dim)


def _cumextreme(cls, better, op):
    def fn(input, dim: int) -> ValuesIndices:
        input = _t(input)
        x = input.reshape(1) if input._data.ndim == 0 else input
        d = _dim(dim, input._data.ndim, op)
        index = _running_index(x._data, d, better)
        values = cls.apply((x,), d, index)
        if input._data.ndim == 0:
            values, index = values.reshape(()), index.reshape(())
        return ValuesIndices(values, Tensor._wrap(index))

    fn.__name__ = op
    fn.__doc__ = f"``{op}`` along ``dim``: (values, indices) as in PyTorch."
    return fn


cummax = _cumextreme(CumMax, np.greater_equal, "cummax")
cummin = _cumextreme(CumMin, np.less_equal, "cummin")


def median(input, dim=None, keepdim: bool = False):
    """The lower median of all elements (a tensor), or along ``dim`` (values, indices)."""
    input = _t(input)
    if dim is None:
        return Median.apply((input,))
    d = _dim(dim, input._data.ndim, "median")
    x = input.reshape(1) if input._data.ndim == 0 else input
    index = _median_index(x._data, d)
    values = MedianDim.apply((x,), d, index)
    if not keepdim or input._data.ndim == 0:
        values, index = values.squeeze(d), np.squeeze(index, d)
    if input._data.ndim == 0:
        values, index = values.reshape(()), index.reshape(())
    return ValuesIndices(values, Tensor._wrap(index))


def var_mean(input, dim=None, keepdim: bool = False, *, correction=1, unbiased=None) -> tuple:
    """``(var, mean)`` over ``dim`` in one call (Bessel's ``correction``, 1 by default)."""
    from . import mean, var

    if unbiased is not None:
        correction = 1 if unbiased else 0
    input = _floating(input)
    return var(input, dim, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, keepdim: bool = False, *, correction=1, unbiased=None) -> tuple:
    """``(std, mean)`` over ``dim`` in one call."""
    from . import mean, std

    if unbiased is not None:
        correction = 1 if unbiased else 0
    input = _floating(input)
    return std(input, dim, keepdim, correction=correction), mean(input, dim, keepdim)


def nansum(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``sum`` treating NaN as zero (their gradient is 0)."""
    from . import sum, where

    input = _cast(_t(input), dtype)
    return sum(where(np.isnan(input._data), 0.0, input), dim, keepdim)


def nanmean(input, dim=None, keepdim: bool = False) -> Tensor:
    """``mean`` over the elements that are not NaN."""
    input = _floating(input)
    count = np.sum(
        ~np.isnan(input._data), axis=_dims(dim, input._data.ndim, "nanmean"), keepdims=keepdim
    )
    return nansum(input, dim, keepdim) / Tensor._wrap(count.astype(input._data.dtype))


def count_nonzero(input, dim=None) -> Tensor:
    """The number of non-zero elements (over ``dim``), as int64."""
    data = _t(input)._data
    dims = _dims(dim, data.ndim, "count_nonzero")
    return Tensor._wrap(np.asarray(np.count_nonzero(data, axis=dims), dtype=np.int64))


def aminmax(input, *, dim=None, keepdim: bool = False) -> MinMax:
    from . import amax, amin

    return MinMax(amin(input, dim, keepdim), amax(input, dim, keepdim))


METHODS = {
    "prod": prod,
    "logsumexp": logsumexp,
    "cumsum": cumsum,
    "cumprod": cumprod,
    "cummax": cummax,
    "cummin": cummin,
    "logcumsumexp": logcumsumexp,
    "median": median,
    "nansum": nansum,
    "nanmean": nanmean,
    "count_nonzero": count_nonzero,
    "aminmax": aminmax,
}
