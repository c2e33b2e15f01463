"""Shape primitives (reshape, permute, expand, indexing, cat, stack) and their rules."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function

# ---------------------------------------------------------------------------- shapes


class Reshape(Function):
    name = "reshape"
    formulas = ("d reshape(s)/ds = 1 (the gradient is reshaped back)",)

    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)


class Permute(Function):
    name = "permute"
    formulas = ("d permute(s)/ds = 1 (the gradient is permuted back)",)

    def forward(self, a, axes):
        self.inverse = tuple(np.argsort(axes))
        return a.transpose(axes)

    def backward(self, g):
        return (g.transpose(self.inverse),)


class Expand(Function):
    name = "expand"
    formulas = ("d expand(s)/ds = 1 (copies' gradients are summed)",)

    def forward(self, a, shape):
        return np.broadcast_to(a, shape)

    def backward(self, g):
        return (g,)  # autograd.unbroadcast sums the copies back to the input's shape


class Index(Function):
    name = "index"
    formulas = ("d s[i]/ds_j = 1 if j is i else 0 (repeated indices accumulate)",)

    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, g):
        grad = np.zeros_like(g, shape=self.shape)  # on g's device
        if _is_advanced(self.index):
            backend.scatter_add(grad, self.index, g)
        else:
            grad[self.index] = g
        return (grad,)


def _is_advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (list, np.ndarray)) or backend.is_array(i) for i in items)


class Concat(Function):
    name = "cat"
    formulas = ("d cat(s_1..s_k)/ds_i = 1 on s_i's slice",)

    def forward(self, *args):
        *arrays, dim = args
        self.dim = dim
        self.splits = np.cumsum([a.shape[dim] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=dim)

    def backward(self, g):
        return tuple(np.split(g, self.splits, axis=self.dim))


class Stack(Function):
    name = "stack"
    formulas = ("d stack(s_1..s_k)/ds_i = 1 on slice i",)

    def forward(self, *args):
        *arrays, dim = args
        self.dim = dim
        return np.stack(arrays, axis=dim)

    def backward(self, g):
        return tuple(np.moveaxis(g, self.dim, 0))
