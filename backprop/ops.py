"""The primitives: each op's forward computation, and right under it its derivative rule.

``backward(g)`` returns, for each input, the upstream gradient ``g`` times the local partial
derivative of that edge; ``formulas`` says the same in words for the explainer. Rules never
reduce broadcast dimensions (``autograd.unbroadcast`` does that for all of them) and return
``None`` for an input that needs no gradient. Composite functions (softmax, GELU, losses) are
written with these primitives and need no rule of their own.

>>> import backprop as bp
>>> Tanh.formulas[0]
'd tanh(s)/ds = 1 - tanh(s)^2'
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from . import backend
from .autograd import Function
from .tensor import Tensor

# ---------------------------------------------------------------------------- arithmetic


class Add(Function):
    name = "add"
    formulas = ("d(a+b)/da = 1", "d(a+b)/db = 1")

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    name = "sub"
    formulas = ("d(a-b)/da = 1", "d(a-b)/db = -1")

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_grad(1) else None)


class Mul(Function):
    name = "mul"
    formulas = ("d(a*b)/da = b", "d(a*b)/db = a")

    def forward(self, a, b):
        self.saved = (a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved
        return g * b, g * a


class Div(Function):
    name = "div"
    formulas = ("d(a/b)/da = 1/b", "d(a/b)/db = -a/b^2")

    def forward(self, a, b):
        self.saved = (a, b)
        return a / b

    def backward(self, g):
        a, b = self.saved
        ga = g / b
        return ga, (-ga * a / b if self.needs_grad(1) else None)


class Neg(Function):
    name = "neg"
    formulas = ("d(-a)/da = -1",)

    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Pow(Function):
    """``a ** p`` for a constant exponent ``p``."""

    name = "pow"
    formulas = ("d(a^p)/da = p * a^(p-1)",)

    def forward(self, a, p):
        self.saved = a
        self.p = p
        return a**p

    def backward(self, g):
        a, p = self.saved, self.p
        if p == 2:
            return (g * (2 * a),)
        if p == 0:  # a^0 is constant; p * a^-1 would be 0 * inf = NaN at a = 0
            return (np.zeros_like(g),)
        return (g * (p * a ** (p - 1)),)


class PowTensor(Function):
    """``a ** b`` where both may carry gradients."""

    name = "pow"
    formulas = ("d(a^b)/da = b * a^(b-1)", "d(a^b)/db = a^b * log(a)")

    def forward(self, a, b):
        out = a**b
        self.saved = (a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved
        ga = g * (b * a ** (b - 1)) if self.needs_grad(0) else None
        gb = None
        if self.needs_grad(1):
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = g * out * np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
        return ga, gb


# ---------------------------------------------------------------------------- elementwise


class Exp(Function):
    name = "exp"
    formulas = ("d exp(s)/ds = exp(s)",)

    def forward(self, a):
        out = np.exp(a)
        self.saved = out
        return out

    def backward(self, g):
        return (g * self.saved,)


class Log(Function):
    name = "log"
    formulas = ("d log(s)/ds = 1/s",)

    def forward(self, a):
        self.saved = a
        return np.log(a)

    def backward(self, g):
        return (g / self.saved,)


class Sqrt(Function):
    name = "sqrt"
    formulas = ("d sqrt(s)/ds = 1 / (2 sqrt(s))",)

    def forward(self, a):
        out = np.sqrt(a)
        self.saved = out
        return out

    def backward(self, g):
        return (g / (2 * self.saved),)


class Abs(Function):
    name = "abs"
    formulas = ("d |s|/ds = sign(s)  (0 at s = 0)",)

    def forward(self, a):
        self.saved = a
        return np.abs(a)

    def backward(self, g):
        return (g * np.sign(self.saved),)


class Tanh(Function):
    name = "tanh"
    formulas = ("d tanh(s)/ds = 1 - tanh(s)^2",)

    def forward(self, a):
        out = np.tanh(a)
        self.saved = out
        return out

    def backward(self, g):
        t = self.saved
        return (g * (1 - t * t),)


class Sigmoid(Function):
    name = "sigmoid"
    formulas = ("d sigma(s)/ds = sigma(s) (1 - sigma(s))",)

    def forward(self, a):
        out = backend.expit(a)
        self.saved = out
        return out

    def backward(self, g):
        s = self.saved
        return (g * (s * (1 - s)),)


class Relu(Function):
    name = "relu"
    formulas = ("d relu(s)/ds = 1 if s > 0 else 0  (0 at s = 0, as in PyTorch)",)

    def forward(self, a):
        out = np.maximum(a, backend.zero_row(a))
        self.saved = out
        return out

    def backward(self, g):
        return (g * (self.saved > 0),)


class Erf(Function):
    name = "erf"
    formulas = ("d erf(s)/ds = 2/sqrt(pi) exp(-s^2)",)

    def forward(self, a):
        self.saved = a
        return backend.erf(a)

    def backward(self, g):
        a = self.saved
        return (g * ((2 / math.sqrt(math.pi)) * np.exp(-(a * a))),)


class Maximum(Function):
    name = "maximum"
    formulas = (
        "d max(a,b)/da = 1 if a > b, 1/2 if a = b, else 0",
        "d max(a,b)/db = 1 if b > a, 1/2 if a = b, else 0",
    )
    _pick = staticmethod(np.greater)

    def forward(self, a, b):
        self.saved = (a, b)
        return np.maximum(a, b) if self._pick is np.greater else np.minimum(a, b)

    def backward(self, g):
        a, b = self.saved
        tie = (a == b) * 0.5
        ga = g * (self._pick(a, b) + tie) if self.needs_grad(0) else None
        gb = g * (self._pick(b, a) + tie) if self.needs_grad(1) else None
        return ga, gb


class Minimum(Maximum):
    name = "minimum"
    formulas = (
        "d min(a,b)/da = 1 if a < b, 1/2 if a = b, else 0",
        "d min(a,b)/db = 1 if b < a, 1/2 if a = b, else 0",
    )
    _pick = staticmethod(np.less)


class Where(Function):
    name = "where"
    formulas = ("d where(c,a,b)/da = 1 where c else 0", "d where(c,a,b)/db = 0 where c else 1")

    def forward(self, a, b, cond):
        self.cond = cond
        return np.where(cond, a, b)

    def backward(self, g):
        c = self.cond
        ga = np.where(c, g, 0) if self.needs_grad(0) else None
        gb = np.where(c, 0, g) if self.needs_grad(1) else None
        return ga, gb


class Clip(Function):
    name = "clip"
    formulas = ("d clip(s,lo,hi)/ds = 1 if lo <= s <= hi else 0",)

    def forward(self, a, lo, hi):
        self.saved = a
        self.lo, self.hi = lo, hi
        return np.clip(a, lo, hi)

    def backward(self, g):
        a = self.saved
        mask = np.ones(a.shape, bool)
        if self.lo is not None:
            mask &= a >= self.lo
        if self.hi is not None:
            mask &= a <= self.hi
        return (g * mask,)


class Cast(Function):
    name = "cast"
    formulas = ("d cast(s)/ds = 1 (the gradient is cast back)",)

    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return (g.astype(self.dtype),)


class ToDevice(Function):
    name = "to_device"
    formulas = ("d s/ds = 1 (the gradient moves back to the input's device)",)

    def forward(self, a, device):
        self.device = backend.device_of(a)
        return backend.to_device(a, device)

    def backward(self, g):
        return (backend.to_device(g, self.device),)


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
        grad = np.zeros(self.shape, dtype=g.dtype)
        np.put_along_axis(grad, self.idx, g, axis=self.dim)
        return (grad,)


class MinDim(MaxDim):
    name = "min"
    formulas = ("d min(s)/ds_i = 1 at the index of the minimum, else 0",)
    _arg = staticmethod(np.argmin)


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
        grad = np.zeros(self.shape, dtype=g.dtype)
        if _is_advanced(self.index):
            backend.scatter_add(grad, self.index, g)
        else:
            grad[self.index] = g
        return (grad,)


def _is_advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(
        isinstance(i, (list, np.ndarray)) or backend.is_array(i) for i in items
    )


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


# ---------------------------------------------------------------------------- matmul


class MatMul(Function):
    name = "matmul"
    formulas = ("d(A@B)/dA: dL/dA = dL/dY @ B^T", "d(A@B)/dB: dL/dB = A^T @ dL/dY")

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("both operands must have at least one dimension")
        k_a = a.shape[-1]
        k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k_a != k_b:
            raise ValueError(
                f"cannot multiply shapes {tuple(a.shape)} and {tuple(b.shape)}: "
                f"inner dimensions {k_a} and {k_b} differ"
            )
        self.saved = (a, b)
        return a @ b

    def backward(self, g):
        a, b = self.saved
        if a.ndim == 2 and b.ndim == 2:  # the common case: a layer's weights
            ga = g @ b.T if self.needs_grad(0) else None
            gb = a.T @ g if self.needs_grad(1) else None
            return ga, gb
        A = a if a.ndim > 1 else a[None, :]
        B = b if b.ndim > 1 else b[:, None]
        if a.ndim == 1 and b.ndim == 1:
            G = g.reshape(1, 1)
        elif a.ndim == 1:
            G = np.expand_dims(g, -2)
        elif b.ndim == 1:
            G = g[..., None]
        else:
            G = g
        ga = gb = None
        if self.needs_grad(0):
            ga = G @ np.swapaxes(B, -1, -2)
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if self.needs_grad(1):
            gb = np.swapaxes(A, -1, -2) @ G
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb


# ---------------------------------------------------------------------------- functional API


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _weak(x):
    """A NumPy scalar as a Python number, which keeps a float32 tensor float32 (as in PyTorch)."""
    return x.item() if isinstance(x, np.generic) else x


def add(a, b) -> Tensor:
    return Add.apply((a, b))


def sub(a, b) -> Tensor:
    return Sub.apply((a, b))


def mul(a, b) -> Tensor:
    return Mul.apply((a, b))


def div(a, b) -> Tensor:
    return Div.apply((a, b))


def neg(a) -> Tensor:
    return Neg.apply((a,))


def pow(a, p) -> Tensor:  # noqa: A001 - PyTorch's name
    if isinstance(p, Tensor):
        return PowTensor.apply((a, p))
    if isinstance(a, Tensor):
        return Pow.apply((a,), _weak(p))
    return PowTensor.apply((a, p))


def exp(a) -> Tensor:
    return Exp.apply((a,))


def log(a) -> Tensor:
    return Log.apply((a,))


def sqrt(a) -> Tensor:
    return Sqrt.apply((a,))


def abs(a) -> Tensor:  # noqa: A001
    return Abs.apply((a,))


def tanh(a) -> Tensor:
    return Tanh.apply((a,))


def sigmoid(a) -> Tensor:
    return Sigmoid.apply((a,))


def relu(a) -> Tensor:
    return Relu.apply((a,))


def erf(a) -> Tensor:
    return Erf.apply((a,))


def maximum(a, b) -> Tensor:
    return Maximum.apply((a, b))


def minimum(a, b) -> Tensor:
    return Minimum.apply((a, b))


def where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (the condition carries no gradient)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return Where.apply((a, b), cond)


def clip(a, min=None, max=None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply((a,), _weak(min), _weak(max))


clamp = clip


def _reduce_args(a: Tensor, dim, keepdim, axis, keepdims):
    if axis is not None:
        dim = axis
    return _dims(dim, a.data.ndim), bool(keepdim or keepdims)


def sum(a, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    a = _t(a)
    dims, keep = _reduce_args(a, dim, keepdim, axis, keepdims)
    return Sum.apply((a,), dims, keep)


def mean(a, dim=None, keepdim=False, *, axis=None, keepdims=False) -> Tensor:
    a = _t(a)
    dims, keep = _reduce_args(a, dim, keepdim, axis, keepdims)
    return Mean.apply((a,), dims, keep)


MinMax = namedtuple("MinMax", ["values", "indices"])


def _minmax(a, dim, keepdim, axis, keepdims, whole, along, argfn):
    a = _t(a)
    if axis is not None:
        dim = axis
    keep = bool(keepdim or keepdims)
    if dim is None:
        return whole.apply((a,), None, keep)
    d = dim % a.data.ndim
    values = along.apply((a,), d, keep)
    idx = argfn(a.data, axis=d)
    return MinMax(values, Tensor._wrap(np.expand_dims(idx, d) if keep else idx))


def max(a, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    """Whole-tensor max (a tensor), or along ``dim`` a (values, indices) pair as in PyTorch."""
    return _minmax(a, dim, keepdim, axis, keepdims, Amax, MaxDim, np.argmax)


def min(a, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    return _minmax(a, dim, keepdim, axis, keepdims, Amin, MinDim, np.argmin)


def amax(a, dim=None, keepdim=False) -> Tensor:
    a = _t(a)
    return Amax.apply((a,), _dims(dim, a.data.ndim), keepdim)


def amin(a, dim=None, keepdim=False) -> Tensor:
    a = _t(a)
    return Amin.apply((a,), _dims(dim, a.data.ndim), keepdim)


def reshape(a, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply((a,), shape)


def permute(a, *dims) -> Tensor:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    a = _t(a)
    if sorted(d % a.data.ndim for d in dims) != list(range(a.data.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the dims of {a.shape}")
    return Permute.apply((a,), tuple(d % a.data.ndim for d in dims))


def transpose(a, dim0: int = -2, dim1: int = -1) -> Tensor:
    a = _t(a)
    axes = list(range(a.data.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return Permute.apply((a,), tuple(axes))


def _T(a: Tensor) -> Tensor:
    return Permute.apply((a,), tuple(reversed(range(a.data.ndim))))


def expand(a, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    a = _t(a)
    # PyTorch's -1 keeps a dimension's size
    lead = len(shape) - a.data.ndim
    shape = tuple(a.data.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return Expand.apply((a,), shape)


def broadcast_to(a, shape) -> Tensor:
    return Expand.apply((_t(a),), tuple(shape))


def flatten(a, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    a = _t(a)
    shape = a.data.shape
    if not shape:
        return reshape(a, (1,))
    s, e = start_dim % len(shape), end_dim % len(shape)
    return reshape(a, shape[:s] + (-1,) + shape[e + 1 :])


def squeeze(a, dim=None) -> Tensor:
    a = _t(a)
    shape = a.data.shape
    if dim is None:
        new = tuple(n for n in shape if n != 1)
    else:
        d = dim % len(shape)
        new = shape[:d] + shape[d + 1 :] if shape[d] == 1 else shape
    return reshape(a, new)


def unsqueeze(a, dim: int) -> Tensor:
    a = _t(a)
    shape = a.data.shape
    d = dim % (len(shape) + 1)
    return reshape(a, shape[:d] + (1,) + shape[d:])


def getitem(a, index) -> Tensor:
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    elif isinstance(index, list):
        index = np.asarray(index)
    return Index.apply((a,), index)


def cat(tensors, dim: int = 0) -> Tensor:
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return Concat.apply(tensors, dim)


concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    return Stack.apply(tensors, dim)


def matmul(a, b) -> Tensor:
    return MatMul.apply((a, b))


def _rsub(a, b):
    return Sub.apply((b, a))


def _rdiv(a, b):
    return Div.apply((b, a))


def _rpow(a, b):
    return PowTensor.apply((b, a))


def _rmatmul(a, b):
    return MatMul.apply((b, a))


def _compare(fn):
    def op(a, b):
        return Tensor._wrap(fn(a.data, b.data if isinstance(b, Tensor) else b))

    return op


def bind_tensor_methods(cls) -> None:
    """Attach the operators and methods to ``Tensor`` (done once, by tensor.py)."""
    methods = {
        "__add__": add, "__radd__": add, "__sub__": sub, "__rsub__": _rsub,
        "__mul__": mul, "__rmul__": mul, "__truediv__": div, "__rtruediv__": _rdiv,
        "__neg__": neg, "__pow__": pow, "__rpow__": _rpow,
        "__matmul__": matmul, "__rmatmul__": _rmatmul, "__getitem__": getitem,
        "__lt__": _compare(np.less), "__le__": _compare(np.less_equal),
        "__gt__": _compare(np.greater), "__ge__": _compare(np.greater_equal),
        "__eq__": _compare(np.equal), "__ne__": _compare(np.not_equal),
        "add": add, "sub": sub, "mul": mul, "div": div, "neg": neg, "pow": pow,
        "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "tanh": tanh, "sigmoid": sigmoid,
        "relu": relu, "erf": erf, "maximum": maximum, "minimum": minimum, "clip": clip,
        "clamp": clip, "sum": sum, "mean": mean, "max": max, "min": min, "amax": amax,
        "amin": amin, "reshape": reshape, "view": reshape, "permute": permute,
        "transpose": transpose, "expand": expand, "broadcast_to": broadcast_to,
        "flatten": flatten, "squeeze": squeeze, "unsqueeze": unsqueeze, "matmul": matmul,
    }
    for k, v in methods.items():
        setattr(cls, k, v)
    cls.T = property(_T)
    cls.__hash__ = object.__hash__  # by identity, in C (state dicts are keyed by tensors)


bind_tensor_methods(Tensor)


# ---------------------------------------------------------------------------- fused primitives
# Composites written with the primitives above are correct but make one node, one temporary
# array and one elementwise pass per step. The two nodes below are what every classifier
# spends its time in; each is one node whose rule is the textbook formula (lectures 003, 005).


class Linear(Function):
    """``x @ W^T + b`` in one node (PyTorch's layout: ``W`` is (out, in))."""

    name = "linear"
    formulas = (
        "dL/dx = dL/dy @ W",
        "dL/dW = (dL/dy)^T @ x",
        "dL/db = sum over rows of dL/dy",
    )

    out = None  # a buffer to write into, set by backprop.compile for replays

    def forward(self, x, w, b):
        self.saved = (x, w)
        y = np.matmul(x, w.T, out=self.out)  # w.T is a view: BLAS reads it as is, no copy
        if b is not None:
            y += b  # in place: the matmul's result is ours
        return y

    def backward(self, g):
        x, w = self.saved
        x_in, w_in, b_in = self.parents
        gx = g @ w if getattr(x_in, "requires_grad", False) else None
        if g.ndim != 2:  # (..., out): the weight's gradient sums over every leading dim
            g, x = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        gw = g.T @ x if w_in.requires_grad else None  # (out, in)
        gb = np.add.reduce(g, axis=0) if getattr(b_in, "requires_grad", False) else None
        return gx, gw, gb


class SoftmaxCrossEntropy(Function):
    """Mean (or summed) cross-entropy of ``softmax(logits)`` against integer class targets.

    The backward is ``(softmax(logits) - onehot(target)) / n``: one pass, no log-softmax
    graph. The softmax is computed stably (the row maximum is subtracted first).
    """

    name = "softmax_cross_entropy"
    formulas = ("dL/dz = softmax(z) - onehot(t)  (divided by n for the mean)", "")
    rows = np.arange(0)  # the row indices, kept by a node that a compiled step replays

    def forward(self, logits, target, reduction):
        # ufunc reductions called directly: the ndarray methods add a Python layer per call
        z = logits - np.maximum.reduce(logits, axis=-1, keepdims=True)
        rows = self.rows if len(self.rows) == z.shape[0] else np.arange(z.shape[0])
        picked = z[rows, target]  # a copy: the shifted logit of each row's class
        np.exp(z, out=z)  # z now holds exp(z - max)
        total = np.add.reduce(z, axis=-1, keepdims=True)
        losses = np.log(total[:, 0]) - picked  # log-sum-exp: finite for any logits
        z /= total  # softmax probabilities, reusing the same buffer
        self.saved = z
        self.rows, self.target, self.reduction = rows, target, reduction
        if reduction == "none":
            return losses
        total_loss = np.add.reduce(losses)
        return total_loss / z.shape[0] if reduction == "mean" else total_loss

    def backward(self, g):
        p = self.saved
        if self.reduction == "none":
            scale = g[:, None]
            grad = p * scale
            grad[self.rows, self.target] -= g
        else:
            scale = g / p.shape[0] if self.reduction == "mean" else g
            grad = p * scale
            grad[self.rows, self.target] -= scale
        return grad, None


def linear(x, weight, bias=None) -> Tensor:
    """``x @ weight.T + bias`` as one fused node (the body of ``nn.Linear``).

    >>> import backprop as bp
    >>> x, w, b = bp.ones(2, 3), bp.ones(4, 3), bp.zeros(4)
    >>> linear(x, w, b).shape
    (2, 4)
    """
    return Linear.apply((x, weight, bias))


def softmax_cross_entropy(logits, target, reduction: str = "mean") -> Tensor:
    """Cross-entropy of ``softmax(logits)`` (shape (n, classes)) against class indices (n,).

    >>> import backprop as bp
    >>> z = bp.zeros(2, 4, requires_grad=True)
    >>> round(softmax_cross_entropy(z, bp.tensor([0, 3])).item(), 4)  # log(4)
    1.3863
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"softmax_cross_entropy: unknown reduction {reduction!r}")
    return SoftmaxCrossEntropy.apply((logits, target), reduction)
