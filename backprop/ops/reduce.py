"""Reductions (sum, mean, max, min over dims) and their rules."""

from __future__ import annotations

import numpy as np

from ..autograd import Function

# ---------------------------------------------------------------------------- reductions


def _dims(dim, ndim: int) -> tuple | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(d % ndim if ndim else 0 for d in dims)


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

    def forward(self, a, dims, keepdim):
        out = self._reduce(a, axis=dims, keepdims=True)
        self.saved = (a, out)
        self.dims, self.keepdim = dims, keepdim
        return out if keepdim else (out.reshape(()) if dims is None else np.squeeze(out, dims))

    def backward(self, g):
        a, out = self.saved
        mask = a == out
        count = mask.sum(axis=self.dims, keepdims=True)
        if not self.keepdim:
            g = g.reshape(out.shape)
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
