"""The primitives: each op's forward computation, and right under it its derivative rule.

``backward(g)`` returns, for each input, the upstream gradient ``g`` times the local partial
derivative of that edge; ``formulas`` says the same in words for the explainer. Rules never
reduce broadcast dimensions (``autograd.unbroadcast`` does that for all of them) and return
``None`` for an input that needs no gradient. Composite functions (softmax, GELU, losses) are
written with these primitives and need no rule of their own.

Where each rule lives: ``elementwise.py`` (arithmetic, exp, log, tanh, sigmoid, relu, erf,
maximum, where, clip, casts), ``unary.py`` (trig, hyperbolic, logs, rounding, predicates),
``binary.py`` (atan2, fmod, remainder, lerp, clamp with tensor bounds, logic),
``reduce.py`` (sum, mean, max, min), ``scan.py`` (prod, logsumexp, median, cumulative ops),
``shape.py`` (reshape, permute, expand, indexing, cat, stack), ``index.py`` (gather,
scatter, sort, topk, masks), ``layout.py`` (flip, roll, unfold, pad, diagonals, repeat,
split), ``matmul.py``, ``products.py`` (einsum, mm, bmm, addmm) and ``fused.py`` (a linear
layer and softmax cross-entropy as one node each). Each of the newer files keeps its
functional wrappers beside its primitives and a ``METHODS`` table for ``Tensor``. This file
is the functional API (``ops.add``, ``ops.sum``, ...) and attaches the operators to
``Tensor``.

>>> import backprop as bp
>>> Tanh.formulas[0]
'd tanh(s)/ds = 1 - tanh(s)^2'
"""

from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from ..autograd import OpError
from ..dtypes import promote_args
from ..tensor import Tensor, get_default_dtype

# more primitives, each file with its wrappers and METHODS table
from . import binary, composite, index, layout, linalg, products, scan, special, stats, unary
from .binary import clamp  # noqa: F401  (number or tensor bounds)
from .elementwise import (  # noqa: F401  (re-exported: ops.Tanh, ops.Linear, ...)
    Abs,
    Add,
    Cast,
    Clip,
    Clone,
    Div,
    Erf,
    Exp,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    PowTensor,
    Relu,
    Sigmoid,
    Sign,
    Sqrt,
    Sub,
    Tanh,
    ToDevice,
    Where,
)
from .fused import (  # noqa: F401  (re-exported: ops.Tanh, ops.Linear, ...)
    Linear,
    SoftmaxCrossEntropy,
)
from .matmul import (  # noqa: F401  (re-exported: ops.Tanh, ops.Linear, ...)
    MatMul,
)
from .reduce import (  # noqa: F401  (re-exported: ops.Tanh, ops.Linear, ...)
    Amax,
    Amin,
    MaxAll,
    MaxDim,
    Mean,
    MinAll,
    MinDim,
    SqrtAtZero,
    Sum,
    _dims,
    dim_index,
)
from .shape import (  # noqa: F401  (re-exported: ops.Tanh, ops.Linear, ...)
    Concat,
    Expand,
    Index,
    Permute,
    Reshape,
    Stack,
    _is_advanced,
)

# ---------------------------------------------------------------------------- functional API


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _weak(x):
    """A NumPy scalar as a Python number, which keeps a float32 tensor float32 (as in PyTorch)."""
    return x.item() if isinstance(x, np.generic) else x


def add(a, b, *, alpha=1) -> Tensor:
    if alpha != 1:
        b = mul(b, alpha)
    return Add.apply((a, b))


def sub(a, b, *, alpha=1) -> Tensor:
    if alpha != 1:
        b = mul(b, alpha)
    return Sub.apply((a, b))


def mul(a, b) -> Tensor:
    return Mul.apply((a, b))


def div(a, b, *, rounding_mode=None) -> Tensor:
    """``a / b``; ``rounding_mode="trunc"`` or ``"floor"`` rounds the quotient (gradient 0)."""
    if rounding_mode is not None:
        return binary.div_rounded(a, b, rounding_mode)
    return Div.apply((a, b))


def neg(a) -> Tensor:
    return Neg.apply((a,))


def pow(a, p) -> Tensor:  # noqa: A001 - PyTorch's name
    if isinstance(p, Tensor):
        return PowTensor.apply((a, p))
    if isinstance(a, Tensor):
        p = _weak(p)
        if a._data.dtype.kind in "iub":
            if isinstance(p, float):  # an integer tensor to a float power: the default float
                a = Tensor._wrap(a._data.astype(get_default_dtype()))
            elif isinstance(p, int) and p < 0:
                raise OpError("pow: Integers to negative integer powers are not allowed.")
        return Pow.apply((a,), p)
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


def where(condition, a=None, b=None) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (the condition carries no gradient);
    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``."""
    if a is None and b is None:
        return index.nonzero(condition, as_tuple=True)
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):  # two numbers: PyTorch's dtype
        a, b = Tensor(a), Tensor(b)
    return Where.apply((a, b), cond)


def clip(a, min=None, max=None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply((a,), _weak(min), _weak(max))


def _reduce_args(a: Tensor, dim, keepdim, axis, keepdims, op: str = ""):
    if axis is not None:
        dim = axis
    return _dims(dim, a._data.ndim, op), bool(keepdim or keepdims)


def sum(a, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    a = _t(a) if dtype is None else _t(a).to(dtype)
    dims, keep = _reduce_args(a, dim, keepdim, axis, keepdims, "sum")
    return Sum.apply((a,), dims, keep)


def mean(a, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False) -> Tensor:
    a = _t(a) if dtype is None else _t(a).to(dtype)
    dims, keep = _reduce_args(a, dim, keepdim, axis, keepdims, "mean")
    return Mean.apply((a,), dims, keep)


MinMax = namedtuple("MinMax", ["values", "indices"])


def _minmax(a, dim, keepdim, axis, keepdims, whole, along, argfn):
    a = _t(a)
    if axis is not None:
        dim = axis
    keep = bool(keepdim or keepdims)
    if isinstance(dim, Tensor):  # max(a, b): the elementwise maximum, as torch.max(a, b)
        return (Maximum if along is MaxDim else Minimum).apply((a, dim))
    if dim is None:
        return whole.apply((a,), None, keep)
    d = dim_index(dim, a._data.ndim, along.name)
    if a._data.ndim == 0:  # PyTorch: the value itself, at index 0
        return MinMax(Clone.apply((a,)), Tensor._wrap(np.zeros((), np.int64)))
    values = along.apply((a,), d, keep)
    idx = argfn(a._data, axis=d)
    return MinMax(values, Tensor._wrap(np.expand_dims(idx, d) if keep else idx))


def max(a, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    """Whole-tensor max (a tensor), or along ``dim`` a (values, indices) pair as in PyTorch."""
    return _minmax(a, dim, keepdim, axis, keepdims, MaxAll, MaxDim, np.argmax)


def min(a, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    return _minmax(a, dim, keepdim, axis, keepdims, MinAll, MinDim, np.argmin)


def amax(a, dim=None, keepdim=False) -> Tensor:
    a = _t(a)
    return Amax.apply((a,), _dims(dim, a._data.ndim, "amax"), keepdim)


def amin(a, dim=None, keepdim=False) -> Tensor:
    a = _t(a)
    return Amin.apply((a,), _dims(dim, a._data.ndim, "amin"), keepdim)


def reshape(a, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply((a,), shape)


def permute(a, *dims) -> Tensor:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    a = _t(a)
    nd = a._data.ndim
    axes = tuple(dim_index(d, nd, "permute") for d in dims) if nd else ()
    if sorted(axes) != list(range(nd)):
        raise OpError(f"permute: {dims} is not a permutation of the dims of {tuple(a.shape)}")
    return Permute.apply((a,), axes)


def transpose(a, dim0: int = -2, dim1: int = -1) -> Tensor:
    a = _t(a)
    nd = a._data.ndim
    d0, d1 = dim_index(dim0, nd, "transpose"), dim_index(dim1, nd, "transpose")
    if nd == 0:
        return Reshape.apply((a,), ())
    axes = list(range(nd))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply((a,), tuple(axes))


def _T(a: Tensor) -> Tensor:
    return Permute.apply((a,), tuple(reversed(range(a._data.ndim))))


def expand(a, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    a = _t(a)
    # PyTorch's -1 keeps a dimension's size
    lead = len(shape) - a._data.ndim
    shape = tuple(a._data.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return Expand.apply((a,), shape)


def broadcast_to(a, shape) -> Tensor:
    return Expand.apply((_t(a),), tuple(shape))


def flatten(a, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    a = _t(a)
    shape = a._data.shape
    s, e = dim_index(start_dim, len(shape), "flatten"), dim_index(end_dim, len(shape), "flatten")
    if not shape:
        return reshape(a, (1,))
    if s > e:
        raise OpError("flatten: start_dim cannot come after end_dim")
    return reshape(a, shape[:s] + (int(np.prod(shape[s : e + 1])),) + shape[e + 1 :])


def squeeze(a, dim=None) -> Tensor:
    a = _t(a)
    shape = a._data.shape
    if dim is None:
        new = tuple(n for n in shape if n != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        drop = {dim_index(d, len(shape), "squeeze") for d in dims}
        new = tuple(n for i, n in enumerate(shape) if not (i in drop and n == 1))
    return reshape(a, new)


def unsqueeze(a, dim: int) -> Tensor:
    a = _t(a)
    shape = a._data.shape
    d = dim_index(dim, len(shape), "unsqueeze", extra=1)
    return reshape(a, shape[:d] + (1,) + shape[d:])


def getitem(a, index) -> Tensor:
    if isinstance(index, Tensor):
        index = index._data
    elif isinstance(index, tuple):
        index = tuple(i._data if isinstance(i, Tensor) else i for i in index)
    elif isinstance(index, list):
        index = np.asarray(index)
    return Index.apply((a,), index)


def cat(tensors, dim: int = 0) -> Tensor:
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return Concat.apply(tensors, dim)


concatenate = concat = cat


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    return Stack.apply(tensors, dim)


def clone(a) -> Tensor:
    """A copy of ``a`` that stays in the graph (gradient 1)."""
    return Clone.apply((a,))


def var(a, dim=None, keepdim=False, *, correction=None, unbiased=None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default, as in PyTorch;
    ``unbiased=False`` is correction 0); composed of primitives, so it needs no rule."""
    a = _t(a)
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    dims = _dims(dim, a._data.ndim, "var")
    n = a._data.size if dims is None else int(np.prod([a._data.shape[d] for d in dims]))
    centred = a - mean(a, dims, keepdim=True)
    return sum(centred * centred, dims, keepdim) / builtins.max(n - correction, 1)


def std(a, dim=None, keepdim=False, *, correction=None, unbiased=None) -> Tensor:
    """Standard deviation; its gradient is 0 where it is 0 (a constant), as in PyTorch."""
    return SqrtAtZero.apply((var(a, dim, keepdim, correction=correction, unbiased=unbiased),))


def norm(a, p="fro", dim=None, keepdim=False, dtype=None) -> Tensor:
    """The p-norm (2 by default) over ``dim`` (all elements when None), from primitives;
    the 2-norm's gradient is 0 at a zero vector, as in PyTorch."""
    a = _t(a) if dtype is None else _t(a).to(dtype)
    if p in (2, "fro", None):
        return SqrtAtZero.apply((sum(a * a, dim, keepdim),))
    if p == 1:
        return sum(abs(a), dim, keepdim)
    if p in (float("inf"), "inf"):
        return amax(abs(a), dim, keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(abs(a), dim, keepdim)
    return sum(abs(a) ** p, dim, keepdim) ** (1.0 / p)


def _no_grad_result(fn):
    """Ops with no derivative (argmax, comparisons, any/all): a plain tensor, no node."""

    def op(a, *args, **kwargs):
        return Tensor._wrap(np.asarray(fn(a._data, *args, **kwargs)))

    return op


def _argmax(a, dim=None, keepdim=False):
    return np.argmax(a, axis=dim, keepdims=keepdim)


def _argmin(a, dim=None, keepdim=False):
    return np.argmin(a, axis=dim, keepdims=keepdim)


def _any(a, dim=None, keepdim=False):
    return np.any(a, axis=dim, keepdims=keepdim)


def _all(a, dim=None, keepdim=False):
    return np.all(a, axis=dim, keepdims=keepdim)


argmax = _no_grad_result(_argmax)
argmin = _no_grad_result(_argmin)


def sign(a) -> Tensor:
    """-1, 0 or 1; in the graph with a zero gradient, as in PyTorch."""
    return Sign.apply((_t(a),))


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


def _compare(fn, name: str):
    """A comparison: a bool tensor, no graph; operands promoted as for arithmetic."""

    def op(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
        a = input._data if isinstance(input, Tensor) else input
        b = other._data if isinstance(other, Tensor) else other
        if not hasattr(b, "dtype") and not isinstance(b, (int, float, complex, np.generic)):
            if isinstance(b, (list, tuple)):
                b = np.asarray(b)
            else:
                raise TypeError(f"{name}: cannot compare a tensor with {type(other).__name__}")
        try:
            a, b = promote_args([a, b])
            return Tensor._wrap(np.asarray(fn(a, b)))
        except ValueError as e:
            raise OpError(f"{name}: {e}") from e

    op.__name__ = name
    return op


def _operator(fn):
    """The ``==``-style operator: NotImplemented for what is not a tensor or a number, so
    ``t == None`` is False and ``t in [a, b]`` works, as in PyTorch."""

    def op(a, b):
        if b is None or isinstance(b, (str, dict, set)):
            return NotImplemented
        return fn(a, b)

    return op


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = less = _compare(np.less, "lt")
le = less_equal = _compare(np.less_equal, "le")
gt = greater = _compare(np.greater, "gt")
ge = greater_equal = _compare(np.greater_equal, "ge")
not_equal = ne


def equal(input, other) -> bool:  # noqa: A002
    """True when both have the same shape and values, as ``torch.equal``."""
    a, b = _t(input)._data, _t(other)._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def bind_tensor_methods(cls) -> None:
    """Attach the operators and methods to ``Tensor`` (done once, by tensor.py)."""
    methods = {
        "__add__": add,
        "__radd__": add,
        "__sub__": sub,
        "__rsub__": _rsub,
        "__mul__": mul,
        "__rmul__": mul,
        "__truediv__": div,
        "__rtruediv__": _rdiv,
        "__neg__": neg,
        "__pow__": pow,
        "__rpow__": _rpow,
        "__matmul__": matmul,
        "__rmatmul__": _rmatmul,
        "__getitem__": getitem,
        "__lt__": _operator(lt),
        "__le__": _operator(le),
        "__gt__": _operator(gt),
        "__ge__": _operator(ge),
        "__eq__": _operator(eq),
        "__ne__": _operator(ne),
        "eq": eq,
        "ne": ne,
        "lt": lt,
        "le": le,
        "gt": gt,
        "ge": ge,
        "less": lt,
        "less_equal": le,
        "greater": gt,
        "greater_equal": ge,
        "not_equal": ne,
        "equal": equal,
        "add": add,
        "sub": sub,
        "mul": mul,
        "div": div,
        "neg": neg,
        "pow": pow,
        "exp": exp,
        "log": log,
        "sqrt": sqrt,
        "abs": abs,
        "tanh": tanh,
        "sigmoid": sigmoid,
        "relu": relu,
        "erf": erf,
        "maximum": maximum,
        "minimum": minimum,
        "clip": clip,
        "clamp": clip,
        "sum": sum,
        "mean": mean,
        "max": max,
        "min": min,
        "amax": amax,
        "amin": amin,
        "reshape": reshape,
        "view": reshape,
        "permute": permute,
        "transpose": transpose,
        "expand": expand,
        "broadcast_to": broadcast_to,
        "flatten": flatten,
        "squeeze": squeeze,
        "unsqueeze": unsqueeze,
        "matmul": matmul,
        "clone": clone,
        "var": var,
        "std": std,
        "norm": norm,
        "argmax": argmax,
        "argmin": argmin,
        "sign": sign,
        "any": _no_grad_result(_any),
        "all": _no_grad_result(_all),
    }
    for table in (
        unary.METHODS,
        binary.METHODS,
        scan.METHODS,
        index.METHODS,
        layout.METHODS,
        products.METHODS,
        special.METHODS,
        stats.METHODS,
        composite.METHODS,
        linalg.METHODS,
    ):
        methods.update(table)
    for k, v in methods.items():
        setattr(cls, k, v)
    cls.T = property(_T)
    cls.__hash__ = object.__hash__  # by identity, in C (state dicts are keyed by tensors)


bind_tensor_methods(Tensor)


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
