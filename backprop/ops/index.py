"""Indexing by index tensors: gather, the scatters, sort and topk, index_select, masked_fill,
masked_select, nonzero.

``gather`` reads ``out[i][j] = s[i][index[i][j]]`` (for ``dim=1``); its rule sends each
upstream gradient back to the element it was read from, adding where an element was read
twice. The scatters write the other way round, and their rules are PyTorch's, including
``scatter_reduce`` with ``prod`` at zeros and ``amax``/``amin`` at ties (the gradient is
shared equally among the elements equal to the result).

>>> import backprop as bp
>>> x = bp.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> x.gather(1, bp.tensor([[1, 1], [0, 1]])).sum().backward()
>>> x.grad
tensor([[0., 2.],
       [1., 1.]])
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd import Function, OpError, mode
from ..tensor import Tensor
from .unary import _t

SortResult = namedtuple("SortResult", ["values", "indices"])


def _dim(dim: int, ndim: int, op: str) -> int:
    """One dim as a non-negative int; out of range raises IndexError as in PyTorch (a 0-d
    tensor accepts 0 and -1)."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], "
            f"but got {dim})"
        )
    return dim % n


def _index_array(index, op: str):
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected an integer index tensor, got {idx.dtype}")
    return idx


def _grid(index, dim: int) -> tuple:
    """Full index arrays for ``out[i][j] = s[i][index[i][j]]``: ``index`` along ``dim``,
    the position itself along every other dim."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def _crop(a, shape, dim: int):
    """``a`` cut to ``shape`` in every dim but ``dim`` (PyTorch lets index be smaller)."""
    return a[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(shape))]


def _crop_src(a, shape):
    """A scatter's ``src`` cut to the index's shape in every dim (PyTorch reads
    ``src[i][j][k]`` only where ``index[i][j][k]`` exists)."""
    return a[tuple(slice(0, n) for n in shape)]


def _check_index(idx, shape, dim: int, op: str) -> None:
    if idx.ndim != len(shape):
        raise RuntimeError(
            f"{op}: index has {idx.ndim} dims but the input has {len(shape)}; they must match"
        )
    for d, (m, n) in enumerate(zip(idx.shape, shape)):
        if d != dim and m > n:
            raise RuntimeError(f"{op}: index size {m} exceeds the input's size {n} in dim {d}")
    if idx.size and (idx.min() < 0 or idx.max() >= shape[dim]):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(
            f"{op}: index {bad} is out of bounds for dimension {dim} with size {shape[dim]}"
        )


def _scatter_add_along(shape, dim: int, index, src):
    """Zeros of ``shape`` with ``src`` added at ``_grid(index, dim)`` (repeats accumulate)."""
    out = np.zeros_like(src, shape=shape)
    np.add.at(out, _grid(index, dim), _crop_src(src, index.shape))
    return out


# ---------------------------------------------------------------------------- primitives


class Gather(Function):
    name = "gather"
    formulas = ("d gather(s)_j/ds_i = 1 if the index at j points at i (repeats accumulate)",)

    def forward(self, a, dim, index):
        self.shape, self.dim, self.index = a.shape, dim, index
        return np.take_along_axis(_crop(a, index.shape, dim), index, axis=dim)

    def backward(self, g):
        return (_scatter_add_along(self.shape, self.dim, self.index, g),)


class SortValues(Gather):
    name = "sort"
    formulas = ("d sort(s)_j/ds_i = 1 if s_i went to place j, else 0",)


class TopKValues(Gather):
    name = "topk"
    formulas = ("d topk(s)_j/ds_i = 1 if s_i is the j-th kept value, else 0",)


class Scatter(Function):
    """``out = s`` with ``src`` written at the index (``src`` a tensor or a number)."""

    name = "scatter"
    formulas = (
        "d scatter(s,src)/ds = 1 where not overwritten, else 0",
        "d scatter(s,src)_i/dsrc_j = 1 if src_j was written to i",
    )

    def forward(self, a, src, dim, index):
        self.dim, self.index, self.src_shape = dim, index, np.shape(src)
        out = a.copy()
        grid = _grid(index, dim)
        out[grid] = _crop_src(src, index.shape) if np.ndim(src) else src
        return out

    def backward(self, g):
        ga = g.copy()
        ga[_grid(self.index, self.dim)] = 0
        gsrc = None
        if self.needs_grad(1):
            gsrc = np.zeros_like(g, shape=self.src_shape)
            _crop_src(gsrc, self.index.shape)[...] = np.take_along_axis(
                g, self.index, axis=self.dim
            )
        return ga, gsrc


class ScatterReduce(Function):
    """``scatter_reduce`` (and ``scatter_add``): combine ``src`` into ``s`` at the index with
    sum, prod, mean, amax or amin, counting ``s`` itself when ``include_self``."""

    name = "scatter_reduce"
    formulas = (
        "d scatter_reduce(s,src)/ds: sum 1, mean 1/n, prod (product of the others), "
        "amax/amin 1/k if s is one of the k extremes",
        "d scatter_reduce(s,src)/dsrc: the same rule, read back at src's index",
    )
    _UFUNC = {"sum": np.add, "prod": np.multiply, "mean": np.add, "amax": np.maximum}
    _UFUNC["amin"] = np.minimum
    _START = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}

    def forward(self, a, src, dim, index, reduce, include_self):
        self.dim, self.index, self.reduce, self.include_self = dim, index, reduce, include_self
        grid = _grid(index, dim)
        src = _crop_src(src, index.shape)
        out = a.copy()
        if not include_self:
            start = self._START[reduce]
            if a.dtype.kind != "f" and np.isinf(start):
                info = np.iinfo(a.dtype)
                start = info.min if start < 0 else info.max
            out[grid] = start
        self._UFUNC[reduce].at(out, grid, src)
        if reduce == "mean":
            count = np.zeros(a.shape, dtype=out.dtype)
            np.add.at(count, grid, 1)
            count += 1 if include_self else 0
            count[count == 0] = 1
            self.count = count
            out = out / count if a.dtype.kind == "f" else out // count
        self.saved = (a, src, out)
        return out

    def backward(self, g):
        a, src, out = self.saved
        dim, index, reduce = self.dim, self.index, self.reduce
        grid = _grid(index, dim)

        def take(x):
            return np.take_along_axis(x, index, axis=dim)

        if reduce == "sum":
            ga, gsrc = g.copy(), take(g)
        elif reduce == "mean":
            ga = g / self.count
            gsrc = take(ga)
        elif reduce == "prod":
            ga, gsrc = self._prod_grads(g, a, src, out, grid, take)
        else:  # amax, amin: shared equally among the elements equal to the result
            value = take(out)
            count = (a == out).astype(g.dtype)
            np.add.at(count, grid, (src == value).astype(g.dtype))
            share = g / count
            ga = (a == out) * share
            gsrc = (src == value) * take(share)
        if not self.include_self:
            ga[grid] = 0
        full = np.zeros_like(g, shape=self.parents[1].shape)
        _crop_src(full, index.shape)[...] = gsrc
        return ga, full

    def _prod_grads(self, g, a, src, out, grid, take):
        """PyTorch's rule: products of the others, computed without dividing by a zero."""
        masked_self = np.where(a == 0, 1, a)
        self_result = masked_self.copy()
        if not self.include_self:
            self_result[grid] = 1
        np.multiply.at(self_result, grid, src)
        ga = g * self_result / masked_self
        src_zero = src == 0
        zeros_at = np.zeros(a.shape)
        np.add.at(zeros_at, grid, src_zero)
        single_zero = src_zero & (take(zeros_at) == 1)
        masked_src_result = a.copy()
        if not self.include_self:
            masked_src_result[grid] = 1
        np.multiply.at(masked_src_result, grid, np.where(single_zero, 1, src))
        gsrc = np.where(
            single_zero,
            take(g * masked_src_result),
            take(g * out) / np.where(src_zero, 1, src),
        )
        return ga, gsrc


# ---------------------------------------------------------------------------- functional API


def gather(input, dim: int, index) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` for ``dim=1`` (and likewise for any dim);
    ``index`` has input's number of dims and may be smaller in the others."""
    input = _t(input)
    dim = _dim(dim, input._data.ndim, "gather")
    idx = _index_array(index, "gather")
    _check_index(idx, input._data.shape, dim, "gather")
    return Gather.apply((input,), dim, idx)


def take_along_dim(input, indices, dim=None) -> Tensor:
    """``gather`` with broadcasting (NumPy's ``take_along_axis``); the flat input if no dim."""
    input = _t(input)
    idx = _index_array(indices, "take_along_dim")
    if dim is None:
        return gather(input.reshape(-1), 0, idx.reshape(-1))
    dim = _dim(dim, input._data.ndim, "take_along_dim")
    shape = list(np.broadcast_shapes(input._data.shape, idx.shape))
    shape_in, shape_idx = list(shape), list(shape)
    shape_in[dim], shape_idx[dim] = input._data.shape[dim], idx.shape[dim]
    return gather(input.expand(*shape_in), dim, np.broadcast_to(idx, shape_idx))


def _src(src, like: Tensor, op: str = "scatter"):
    """A scatter's source: a tensor (of the input's dtype, as PyTorch requires), or a number
    in the input's dtype."""
    if isinstance(src, Tensor):
        if src._data.dtype != like._data.dtype:
            raise OpError(
                f"{op}: src has dtype {src._data.dtype} but the input has "
                f"{like._data.dtype}; they must be equal (convert one with .to())"
            )
        return src
    return like._data.dtype.type(src)


def scatter(input, dim: int, index, src=None, value=None, reduce=None) -> Tensor:
    """``input`` with ``src`` (a tensor, or the number ``value``) written at ``index`` along
    ``dim``; ``reduce="add"`` or ``"multiply"`` combines instead of overwriting."""
    input = _t(input)
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    dim = _dim(dim, input._data.ndim, "scatter")
    idx = _index_array(index, "scatter")
    _check_index(idx, input._data.shape, dim, "scatter")
    if reduce is not None:
        how = {"add": "sum", "multiply": "prod"}.get(reduce)
        if how is None:
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply', not {reduce!r}")
        if not isinstance(src, Tensor):
            src = Tensor._wrap(np.full(idx.shape, src, dtype=input._data.dtype))
        return ScatterReduce.apply((input, src), dim, idx, how, True)
    return Scatter.apply((input, _src(src, input)), dim, idx)


def scatter_add(input, dim: int, index, src) -> Tensor:
    """``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate)."""
    return scatter_reduce(input, dim, index, src, "sum")


def scatter_reduce(input, dim: int, index, src, reduce: str, *, include_self=True) -> Tensor:
    """Combine ``src`` into ``input`` at ``index`` with ``reduce``: "sum", "prod", "mean",
    "amax" or "amin"; ``include_self=False`` leaves ``input``'s values out where written."""
    input = _t(input)
    if reduce not in ScatterReduce._START:
        raise OpError(
            f"scatter_reduce: reduce must be one of sum, prod, mean, amax, amin, not {reduce!r}"
        )
    dim = _dim(dim, input._data.ndim, "scatter_reduce")
    idx = _index_array(index, "scatter_reduce")
    _check_index(idx, input._data.shape, dim, "scatter_reduce")
    src = _src(_t(src), input, "scatter_reduce")
    return ScatterReduce.apply((input, src), dim, idx, reduce, bool(include_self))


def _in_place(self: Tensor, out: Tensor, op: str) -> Tensor:
    """Make ``self`` hold ``out``: PyTorch's in-place op, for tensors outside a graph."""
    if self.requires_grad and mode.grad_enabled:
        raise RuntimeError(
            f"{op}_: in-place on a tensor that requires grad is not supported; write "
            f"x = x.{op}(...) (or do it under bp.no_grad())"
        )
    if out.requires_grad:  # a fresh tensor filled from one that needs a gradient
        # the node read self's old values as a constant: give it its own handle on them, or
        # self would become its own parent
        old = Tensor._wrap(self._data)
        node = out._ctx
        node.parents = tuple(old if p is self else p for p in node.parents)
        self._data, self._ctx, self.requires_grad = out._data, node, True
        self._bump()
    else:
        from ..inplace import _write

        _write(self, out._data, f"{op}_")  # bumps the version, as every in-place op does
    return self


def _scatter_(self, dim, index, src=None, value=None, reduce=None):
    return _in_place(self, scatter(self, dim, index, src, value, reduce), "scatter")


def _scatter_add_(self, dim, index, src):
    return _in_place(self, scatter_add(self, dim, index, src), "scatter_add")


def _scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    out = scatter_reduce(self, dim, index, src, reduce, include_self=include_self)
    return _in_place(self, out, "scatter_reduce")


def _sort_order(a, dim: int, descending: bool):
    """Stable sort order along ``dim``; NaN counts as the largest value, as in PyTorch."""
    if a.dtype == bool:
        a = a.astype(np.int8)
    if not descending:
        return np.argsort(a, axis=dim, kind="stable")
    nan_last = ~np.isnan(a) if a.dtype.kind == "f" else np.ones(a.shape, dtype=bool)
    return np.lexsort((-a, nan_last), axis=dim)


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
    """``(values, indices)`` sorted along ``dim``; ties keep their order; NaN sorts last
    (first when ``descending``); the gradient goes back to where each value came from."""
    input = _t(input)
    if input._data.ndim == 0:
        return SortResult(input.clone(), Tensor._wrap(np.zeros((), np.int64)))
    dim = _dim(dim, input._data.ndim, "sort")
    order = _sort_order(input._data, dim, descending)
    return SortResult(SortValues.apply((input,), dim, order), Tensor._wrap(order))


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    input = _t(input)
    if input._data.ndim == 0:
        return Tensor._wrap(np.zeros((), np.int64))
    return Tensor._wrap(
        _sort_order(input._data, _dim(dim, input._data.ndim, "argsort"), descending)
    )


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> SortResult:  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    input = _t(input)
    dim = _dim(dim, input._data.ndim, "topk")
    n = input._data.shape[dim] if input._data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {n}")
    if input._data.ndim == 0:
        return SortResult(input.clone(), Tensor._wrap(np.zeros((), np.int64)))
    order = _sort_order(input._data, dim, largest)
    keep = np.take(order, np.arange(k), axis=dim)
    return SortResult(TopKValues.apply((input,), dim, keep), Tensor._wrap(keep))


def index_select(input, dim: int, index) -> Tensor:
    """The slices at ``index`` (a 1-D integer tensor) along ``dim``; repeats accumulate."""
    input = _t(input)
    dim = _dim(dim, input._data.ndim, "index_select")
    idx = _index_array(index, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be 0-d or 1-d, got {idx.ndim} dims")
    n = input._data.shape[dim] if input._data.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"index_select: index out of range for dimension {dim} of size {n}")
    if input._data.ndim == 0:
        return input.reshape(1)[idx.reshape(-1)].reshape(idx.shape)
    return input[(slice(None),) * dim + (idx.reshape(-1),)]


def masked_fill(input, mask, value) -> Tensor:
    """``value`` where ``mask`` (a bool tensor broadcast to input) is True; the gradient
    flows to input elsewhere, and to ``value`` where it is a tensor."""
    from .elementwise import Where

    input = _t(input)
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"masked_fill: expected a bool mask, got {m.dtype}")
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise ValueError("masked_fill: value must be a number or a 0-d tensor")
        if value._data.dtype != input._data.dtype and not value.requires_grad:
            value = Tensor._wrap(value._data.astype(input._data.dtype))
    else:
        value = input._data.dtype.type(value)
    out = Where.apply((value, input), m)
    if out._data.shape != input._data.shape:
        raise RuntimeError(
            f"masked_fill: mask of shape {m.shape} does not broadcast to {input.shape}"
        )
    return out


def _masked_fill_(self, mask, value):
    return _in_place(self, masked_fill(self, mask, value), "masked_fill")


def masked_select(input, mask) -> Tensor:
    """The elements where ``mask`` is True, as a 1-D tensor (both broadcast first)."""
    input = _t(input)
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    shape = np.broadcast_shapes(input._data.shape, m.shape)
    if input._data.shape != shape:
        input = input.expand(*shape)
    return input[np.broadcast_to(m, shape)]


def nonzero(input, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim
    with ``as_tuple=True``."""
    data = _t(input)._data
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(data)))
    return Tensor._wrap(np.argwhere(data).astype(np.int64))


def argwhere(input) -> Tensor:
    return nonzero(input)


METHODS = {
    "gather": gather,
    "take_along_dim": take_along_dim,
    "scatter": scatter,
    "scatter_": _scatter_,
    "scatter_add": scatter_add,
    "scatter_add_": _scatter_add_,
    "scatter_reduce": scatter_reduce,
    "scatter_reduce_": _scatter_reduce_,
    "sort": sort,
    "argsort": argsort,
    "topk": topk,
    "index_select": index_select,
    "masked_fill": masked_fill,
    "masked_fill_": _masked_fill_,
    "masked_select": masked_select,
    "nonzero": nonzero,
    "argwhere": argwhere,
}
