"""Reductions (sum, mean, max, min over dims) and their rules."""

from __future__ import annotations

import builtins

import numpy as np

from ..autograd import Function, OpError, OpIndexError

# ---------------------------------------------------------------------------- dims


def dim_index(dim, ndim: int, op: str = "", extra: int = 0) -> int:
    """``dim`` as an index in ``range(ndim + extra)``, refusing what is out of range with
    PyTorch's IndexError; a 0-d tensor takes dims 0 and -1, as in PyTorch. ``extra`` is 1 for
    ops that insert a dim (unsqueeze). The one dim check every op uses."""
    n = builtins.max(ndim + extra, 1)
    if hasattr(dim, "__index__") and not isinstance(dim, bool):
        dim = dim.__index__()
    else:
        raise TypeError(f"{op or 'dim'}: dim must be an integer, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise OpIndexError(
            f"{op + ': ' if op else ''}Dimension out of range (expected to be in range of "
            f"[{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def _dims(dim, ndim: int, op: str = "") -> tuple | None:
    """A reduction's dims as a tuple of indices (None: all); a 0-d tensor reduces over ()."""
    if dim is None:
        return None
    dims = (dim,) if not isinstance(dim, (tuple, list)) else tuple(dim)
    out = tuple(dim_index(d, ndim, op) for d in dims)
    if len(set(out)) != len(out):
        raise OpError(f"{op or 'reduce'}: dim {dims} appears multiple times in the list of dims")
    return out if ndim else ()


# ---------------------------------------------------------------------------- reductions


def _expand_back(g, shape, dims, keepdim):
    """Broadcast a reduced gradient back over the reduced dimensions (a view, no copy)."""
    if dims is not None and not keepdim:
        g = np.expand_dims(g, dims)
    return np.broadcast_to(g, shape)


class Sum(Function):
    name = "sum"
    formulas = ("d sum(s)/ds_i = 1",)

    def forward(self, a, dims, keepdim):
        self.shape, self.dims, self.keepdim = a.shape, dims, keepdim
        return a.sum(axis=dims, keepdims=keepdim)

    def backward(self, g):
        return (_expand_back(g, self.shape, self.dims, self.keepdim),)


class Mean(Function):
    name = "mean"
    formulas = ("d mean(s)/ds_i = 1/n",)

    def forward(self, a, dims, keepdim):
        self.shape, self.dims, self.keepdim = a.shape, dims, keepdim
        out = a.mean(axis=dims, keepdims=keepdim)
        self.n = a.size // out.size if out.size else 1
        return out

    def backward(self, g):
        return (_expand_back(g / self.n, self.shape, self.dims, self.keepdim),)


class Amax(Function):
    """max over dims; ties share the gradient equally (PyTorch's ``amax`` and full ``max``)."""

    name = "max"
    formulas = ("d max(s)/ds_i = 1/k if s_i is one of the k maxima, else 0",)
    _reduce = staticmethod(np.max)
    evenly = False
    saved_inputs = (0,)

    def forward(self, a, dims, keepdim):
        out = self._reduce(a, axis=dims, keepdims=True)
        self.saved = (a, out)
        self.dims, self.keepdim = dims, keepdim
        return out if keepdim else (out.reshape(()) if dims is None else np.squeeze(out, dims))

    def backward(self, g):
        a, out = self.saved
        mask = a == out
        if self.evenly:  # PyTorch's max(): a NaN maximum sends the gradient to the NaNs
            mask |= np.isnan(a) & np.isnan(out)
        count = mask.sum(axis=self.dims, keepdims=True)
        if not self.keepdim:
            g = g.reshape(out.shape)
        with np.errstate(divide="ignore", invalid="ignore"):  # amax over NaN: NaN, as torch
            return (mask * (g / count),)


class Amin(Amax):
    name = "min"
    formulas = ("d min(s)/ds_i = 1/k if s_i is one of the k minima, else 0",)
    _reduce = staticmethod(np.min)


class MaxDim(Function):
    """max along one dim with its index; the gradient goes to that index (PyTorch's max(dim))."""

    name = "max"
    formulas = ("d max(s)/ds_i = 1 at the index of the maximum, else 0",)
    _arg = staticmethod(np.argmax)

    def forward(self, a, dim, keepdim):
        idx = np.expand_dims(self._arg(a, axis=dim), dim)
        self.shape, self.dim, self.keepdim, self.idx = a.shape, dim, keepdim, idx
        out = np.take_along_axis(a, idx, axis=dim)
        return out if keepdim else np.squeeze(out, dim)

    def backward(self, g):
        if not self.keepdim:
            g = np.expand_dims(g, self.dim)
        grad = np.zeros_like(g, shape=self.shape)  # on g's device
        np.put_along_axis(grad, self.idx, g, axis=self.dim)
        return (grad,)


class MinDim(MaxDim):
    name = "min"
    formulas = ("d min(s)/ds_i = 1 at the index of the minimum, else 0",)
    _arg = staticmethod(np.argmin)


class MaxAll(Amax):
    """``max()`` of a whole tensor: as ``amax``, and a NaN maximum's gradient goes to the
    NaNs (PyTorch's ``evenly_distribute_backward``; ``amax`` gives NaN there)."""

    evenly = True


class MinAll(Amin):
    evenly = True


class SqrtAtZero(Function):
    """``sqrt`` whose derivative is taken as 0 where the output is 0: the last step of
    ``norm`` and ``std``, whose gradients PyTorch defines as 0 at a zero norm or spread."""

    name = "sqrt"
    formulas = ("d sqrt(s)/ds = 1 / (2 sqrt(s))  (0 where s = 0)",)
    saved_inputs = (-1,)

    def forward(self, a):
        out = np.sqrt(a)
        self.saved = out
        return out

    def backward(self, g):
        out = self.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.where(out == 0, 0, g / (2 * out)),)
