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
split), ``matmul.py``, ``products.py`` (einsum, mm, bmm, addmm), ``conv.py`` (convolution,
pooling, im2col: ``nn.functional``'s, no Tensor methods) and ``fused.py`` (a linear layer
and softmax cross-entropy as one node each). Each of the newer files keeps its functional
wrappers beside its primitives and a ``METHODS`` table for ``Tensor``. This file
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
    torch_index_steps,
)

# ---------------------------------------------------------------------------- functional API


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _weak(x):
    """A NumPy scalar as a Python number, which keeps a float32 tensor float32 (as in PyTorch)."""
    return x.item() if isinstance(x, np.generic) else x


def add(input, other, *, alpha=1) -> Tensor:
    if alpha != 1:
        other = mul(other, alpha)
    return Add.apply((input, other))


def sub(input, other, *, alpha=1) -> Tensor:
    if alpha != 1:
        other = mul(other, alpha)
    return Sub.apply((input, other))


def mul(input, other) -> Tensor:
    return Mul.apply((input, other))


def div(input, other, *, rounding_mode=None) -> Tensor:
    """``input / other``; ``rounding_mode="trunc"`` or ``"floor"`` rounds the quotient
    (gradient 0)."""
    if rounding_mode is not None:
        return binary.div_rounded(input, other, rounding_mode)
    return Div.apply((input, other))


def neg(input) -> Tensor:
    return Neg.apply((input,))


def pow(input, exponent) -> Tensor:  # noqa: A001 - PyTorch's name
    if isinstance(exponent, Tensor):
        return PowTensor.apply((input, exponent))
    if isinstance(input, Tensor):
        exponent = _weak(exponent)
        if input._data.dtype.kind in "iub":
            if isinstance(exponent, float):  # an integer tensor to a float power: the default float
                input = Tensor._wrap(input._data.astype(get_default_dtype()))
            elif isinstance(exponent, int) and exponent < 0:
                raise OpError("pow: Integers to negative integer powers are not allowed.")
        return Pow.apply((input,), exponent)
    return PowTensor.apply((input, exponent))


def exp(input) -> Tensor:
    return Exp.apply((input,))


def log(input) -> Tensor:
    return Log.apply((input,))


def sqrt(input) -> Tensor:
    return Sqrt.apply((input,))


def abs(input) -> Tensor:  # noqa: A001
    return Abs.apply((input,))


def tanh(input) -> Tensor:
    return Tanh.apply((input,))


def sigmoid(input) -> Tensor:
    return Sigmoid.apply((input,))


def relu(input) -> Tensor:
    return Relu.apply((input,))


def erf(input) -> Tensor:
    return Erf.apply((input,))


def maximum(input, other) -> Tensor:
    return Maximum.apply((input, other))


def minimum(input, other) -> Tensor:
    return Minimum.apply((input, other))


def where(condition, input=None, other=None) -> Tensor:
    """``input`` where ``condition`` holds, else ``other`` (the condition carries no gradient);
    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        return index.nonzero(condition, as_tuple=True)
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):  # numbers: PyTorch dtype
        input, other = Tensor(input), Tensor(other)
    return Where.apply((input, other), cond)


def clip(input, min=None, max=None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise OpError("clip: at least one of min and max must be given")
    return Clip.apply((input,), _weak(min), _weak(max))


def _reduce_args(a: Tensor, dim, keepdim, axis, keepdims, op: str = ""):
    if axis is not None:
        dim = axis
    return _dims(dim, a._data.ndim, op), bool(keepdim or keepdims)


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    input = _t(input) if dtype is None else _t(input).to(dtype)
    dims, keep = _reduce_args(input, dim, keepdim, axis, keepdims, "sum")
    return Sum.apply((input,), dims, keep)


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False) -> Tensor:
    input = _t(input) if dtype is None else _t(input).to(dtype)
    dims, keep = _reduce_args(input, dim, keepdim, axis, keepdims, "mean")
    return Mean.apply((input,), dims, keep)


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


def max(input, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    """Whole-tensor max (a tensor), or along ``dim`` a (values, indices) pair as in PyTorch."""
    return _minmax(input, dim, keepdim, axis, keepdims, MaxAll, MaxDim, np.argmax)


def min(input, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    return _minmax(input, dim, keepdim, axis, keepdims, MinAll, MinDim, np.argmin)


def amax(input, dim=None, keepdim=False) -> Tensor:
    input = _t(input)
    return Amax.apply((input,), _dims(dim, input._data.ndim, "amax"), keepdim)


def amin(input, dim=None, keepdim=False) -> Tensor:
    input = _t(input)
    return Amin.apply((input,), _dims(dim, input._data.ndim, "amin"), keepdim)


def reshape(input, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply((input,), shape)


def view(input, *shape) -> Tensor:
    """``a.view(shape)`` is ``reshape``; ``a.view(dtype)`` reinterprets the bytes as another
    dtype of the same size (PyTorch's bit cast; no gradient)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, np.integer, Tensor)):
        from ..tensor import _resolve_dtype

        dt = _resolve_dtype(shape[0])
        data = _t(input)._data
        if dt.itemsize != data.dtype.itemsize:
            raise OpError(
                f"view: dtype {dt} has {dt.itemsize} bytes per element but the tensor's "
                f"{data.dtype} has {data.dtype.itemsize}; they must match"
            )
        return Tensor._wrap(np.ascontiguousarray(data).view(dt))
    return reshape(input, *shape)


def permute(input, *dims) -> Tensor:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    input = _t(input)
    nd = input._data.ndim
    axes = tuple(dim_index(d, nd, "permute") for d in dims) if nd else ()
    if sorted(axes) != list(range(nd)):
        raise OpError(f"permute: {dims} is not a permutation of the dims of {tuple(input.shape)}")
    return Permute.apply((input,), axes)


def transpose(input, dim0: int = -2, dim1: int = -1) -> Tensor:
    input = _t(input)
    nd = input._data.ndim
    d0, d1 = dim_index(dim0, nd, "transpose"), dim_index(dim1, nd, "transpose")
    if nd == 0:
        return Reshape.apply((input,), ())
    axes = list(range(nd))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply((input,), tuple(axes))


def _T(a: Tensor) -> Tensor:
    return Permute.apply((a,), tuple(reversed(range(a._data.ndim))))


def expand(input, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    input = _t(input)
    # PyTorch's -1 keeps a dimension's size
    lead = len(shape) - input._data.ndim
    shape = tuple(input._data.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return Expand.apply((input,), shape)


def broadcast_to(input, shape) -> Tensor:
    return Expand.apply((_t(input),), tuple(shape))


def flatten(input, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    input = _t(input)
    shape = input._data.shape
    s, e = dim_index(start_dim, len(shape), "flatten"), dim_index(end_dim, len(shape), "flatten")
    if not shape:
        return reshape(input, (1,))
    if s > e:
        raise OpError("flatten: start_dim cannot come after end_dim")
    return reshape(input, shape[:s] + (int(np.prod(shape[s : e + 1])),) + shape[e + 1 :])


def squeeze(input, dim=None) -> Tensor:
    input = _t(input)
    shape = input._data.shape
    if dim is None:
        new = tuple(n for n in shape if n != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        drop = {dim_index(d, len(shape), "squeeze") for d in dims}
        new = tuple(n for i, n in enumerate(shape) if not (i in drop and n == 1))
    return reshape(input, new)


def unsqueeze(input, dim: int) -> Tensor:
    input = _t(input)
    shape = input._data.shape
    d = dim_index(dim, len(shape), "unsqueeze", extra=1)
    return reshape(input, shape[:d] + (1,) + shape[d:])


def getitem(a, index) -> Tensor:
    """``a[index]`` with PyTorch's rules (see ``shape.torch_index_steps``)."""
    for step in torch_index_steps(index):
        a = Index.apply((a,), step)
    return a


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


def clone(input) -> Tensor:
    """A copy of ``input`` that stays in the graph (gradient 1)."""
    return Clone.apply((input,))


def var(input, dim=None, keepdim=False, *, correction=None, unbiased=None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default, as in PyTorch;
    ``unbiased=False`` is correction 0); composed of primitives, so it needs no rule."""
    input = _t(input)
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    dims = _dims(dim, input._data.ndim, "var")
    n = input._data.size if dims is None else int(np.prod([input._data.shape[d] for d in dims]))
    centred = input - mean(input, dims, keepdim=True)
    total = sum(centred * centred, dims, keepdim)
    if n - correction > 0:
        return total / (n - correction)
    # PyTorch's value divides by max(0, n - correction) (inf, or nan for 0/0) while its
    # gradient divides by n - correction itself; a detached term gives the value.
    with np.errstate(divide="ignore", invalid="ignore"):
        out = total / float(n - correction)
        if n - correction < 0:
            out = out + (total.detach() / 0.0 - out.detach())
    return out


def std(input, dim=None, keepdim=False, *, correction=None, unbiased=None) -> Tensor:
    """Standard deviation; its gradient is 0 where it is 0 (a constant), as in PyTorch."""
    return SqrtAtZero.apply((var(input, dim, keepdim, correction=correction, unbiased=unbiased),))


def norm(input, p="fro", dim=None, keepdim=False, dtype=None) -> Tensor:
    """The p-norm (2 by default) over ``dim`` (all elements when None), from primitives;
    the 2-norm's gradient is 0 at a zero vector, as in PyTorch."""
    input = _t(input) if dtype is None else _t(input).to(dtype)
    if p in (2, "fro", None):
        return SqrtAtZero.apply((sum(input * input, dim, keepdim),))
    if p == 1:
        return sum(abs(input), dim, keepdim)
    if p == 0:  # the count of nonzeros; its gradient is 0 (kept in the graph, as PyTorch's)
        return sum(input * 0 + (input != 0).to(input.dtype), dim, keepdim)
    if p in (float("inf"), "inf"):
        return amax(abs(input), dim, keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(abs(input), dim, keepdim)
    return sum(abs(input) ** p, dim, keepdim) ** (1.0 / p)


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


def sign(input) -> Tensor:
    """-1, 0 or 1; in the graph with a zero gradient, as in PyTorch."""
    return Sign.apply((_t(input),))


def matmul(input, other) -> Tensor:
    return MatMul.apply((input, other))


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


# Ops where PyTorch also takes NumPy's names ``axis=`` for ``dim=`` and ``keepdims=`` for
# ``keepdim=`` (those not listed take them in their own signature).
AXIS_ALIASED = (
    "all any amax amin argmax argmin std var std_mean var_mean median nanmedian nansum "
    "nanmean count_nonzero squeeze unsqueeze cumsum cumprod logcumsumexp softmax log_softmax "
    "flip logsumexp"
).split()


def axis_alias(fn):
    """``fn`` also taking ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=``."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if "axis" in kwargs:
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)

    return wrapper


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
        "view": view,
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
    for k in AXIS_ALIASED:
        if k in methods:
            methods[k] = axis_alias(methods[k])
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
