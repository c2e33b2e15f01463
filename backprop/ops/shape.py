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


def _plain(i):
    """An index item with backprop tensors (also inside lists) replaced by their arrays."""
    data = getattr(i, "_data", None)
    if data is not None and not isinstance(i, np.ndarray):
        return data
    if isinstance(i, list) and any(getattr(j, "_data", None) is not None for j in i):
        return [_plain(j) for j in i]
    return i


def _is_int(i) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def torch_index_steps(index) -> list:
    """PyTorch's reading of ``index`` as a list of NumPy indices to apply one after another.

    NumPy counts an integer among the advanced indices, so in ``x[1, :, idx]`` the integer and
    ``idx`` are "separated by a slice" and the indexed dim moves to the front. PyTorch selects
    the integers first and only then applies ``idx``, which keeps its place. When both integers
    and index arrays are present, the integers are applied in a first (basic, view) step."""
    if isinstance(index, tuple):
        index = tuple(_plain(i) for i in index)
    else:
        index = _plain(index)
        if isinstance(index, list):
            index = np.asarray(index)
        return [index]
    index = tuple(np.asarray(i) if isinstance(i, tuple) else i for i in index)  # (2, 1, 0)
    arrays = [isinstance(i, (list, np.ndarray)) or backend.is_array(i) for i in index]
    if not any(arrays) or not any(_is_int(i) for i in index):
        return [index]
    first, second = [], []
    for i, adv in zip(index, arrays):
        if adv:
            a = np.asarray(i) if isinstance(i, list) else i
            width = a.ndim if a.dtype == bool else 1
            first.extend([slice(None)] * width)
            second.append(a)
        elif _is_int(i):
            first.append(i)
        elif i is None:
            first.append(None)
            second.append(slice(None))
        elif i is Ellipsis:
            first.append(Ellipsis)
            second.append(Ellipsis)
        else:  # a slice: applied in the first step, kept whole in the second
            first.append(i)
            second.append(slice(None))
    return [tuple(first), tuple(second)]
