"""PyTorch's type promotion: which dtype an op on mixed inputs computes in.

PyTorch orders dtypes by category, bool < integer < floating < complex, and treats Python
numbers and 0-d tensors as *weak*: they can raise the result's category but not its width
within the category. So a float32 vector plus a float64 0-d tensor stays float32, an int
tensor plus 0.5 becomes the default float dtype (float32), and float32 plus an int64 tensor
stays float32. NumPy's rules differ on all three (it would give float64), so the ops apply
these rules before calling NumPy.

>>> import numpy as np
>>> result_type(np.zeros(3, np.int64), 0.5)
dtype('float32')
>>> result_type(np.zeros(3, np.float32), np.zeros((), np.float64))
dtype('float32')
>>> promote_types(np.int64, np.float32)
dtype('float32')
"""

from __future__ import annotations

import numpy as np

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}

# The default dtype lives here (tensor.py re-exports its getter and setter): one place.
_default = [np.dtype(np.float32)]


def default_float() -> np.dtype:
    return _default[0]


def _dt(x) -> np.dtype:
    data = getattr(x, "_data", None)  # a Tensor
    if data is not None:
        return data.dtype
    return np.dtype(x)


def promote_types(type1, type2) -> np.dtype:
    """The smallest dtype both can be cast to, by PyTorch's table: a float beats any integer
    (int64 with float32 is float32, where NumPy says float64)."""
    a, b = _dtype_of(type1), _dtype_of(type2)
    if a == b:
        return a
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        hi, lo = (a, b) if ca > cb else (b, a)
        if hi.kind == "c" and lo.kind == "f" and lo.itemsize * 2 > hi.itemsize:
            return np.dtype(np.complex128)
        return hi
    return np.promote_types(a, b)


def _dtype_of(t) -> np.dtype:
    from .tensor import _resolve_dtype

    return _resolve_dtype(t)


def _combine(higher, lower):
    """PyTorch's combine_categories: a weaker group only matters if its category is higher."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch, cl = _CATEGORY[higher.kind], _CATEGORY[lower.kind]
    if ch >= cl:
        return higher
    if ch == 0 or cl >= 2:  # bool, or an integer meeting a float/complex: the weaker decides
        return promote_types(higher, lower)
    return higher


def _scalar_dtype(x) -> np.dtype:
    if isinstance(x, bool):
        return np.dtype(np.bool_)
    if isinstance(x, int):
        return np.dtype(np.int64)
    if isinstance(x, float):
        return _default[0]
    if isinstance(x, complex):
        return np.dtype(np.complex64 if _default[0] == np.float32 else np.complex128)
    if isinstance(x, np.generic):  # NumPy scalars are weak numbers, as Python's are
        return _scalar_dtype(x.item())
    raise TypeError(f"result_type: expected tensors or numbers, got {type(x).__name__}")


def result_type(*operands) -> np.dtype:
    """The dtype of an op on ``operands`` (arrays, tensors or Python numbers), as
    ``torch.result_type``: tensors with dims decide, then 0-d tensors, then numbers."""
    dim = zero = wrapped = None
    for x in operands:
        data = getattr(x, "_data", x)
        shape = getattr(data, "shape", None)
        if shape is None:
            d = _scalar_dtype(data)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
        elif shape:
            dim = data.dtype if dim is None else promote_types(dim, data.dtype)
        else:
            zero = data.dtype if zero is None else promote_types(zero, data.dtype)
    out = _combine(dim, _combine(zero, wrapped))
    if out is None:
        raise TypeError("result_type: expected at least one operand")
    return out


def can_cast(from_, to) -> bool:
    """Whether PyTorch's in-place ops may write a ``from_`` result into a ``to`` tensor:
    allowed unless it lowers the category (float into int, int into bool)."""
    a, b = _dtype_of(from_), _dtype_of(to)
    return _CATEGORY[a.kind] <= _CATEGORY[b.kind]


# ---------------------------------------------------------------------------- op hooks
# An op class sets ``promote = promote_args`` (or ``promote_float``); ``Function.apply`` calls
# it on the input arrays before ``forward``. The first lines are the fast path: inputs that
# already agree (the common case) go through untouched at the cost of a few type checks.

_nd = np.ndarray


def _cast_all(datas: list, dt: np.dtype) -> list:
    out = []
    for d in datas:
        if hasattr(d, "dtype") and hasattr(d, "astype"):
            out.append(d if d.dtype == dt else d.astype(dt))
        elif dt.kind in "fc" or isinstance(d, (bool, int)):
            out.append(d)  # a weak number: NumPy keeps the array's dtype
        else:  # a float number with an integer result cannot happen; bool/int are kept
            out.append(d)
    return out


def promote_args(datas: list) -> list:
    """Cast the inputs of an elementwise op to their ``result_type``."""
    if len(datas) == 2:
        a, b = datas
        ta, tb = type(a), type(b)
        if ta is _nd:
            if tb is _nd:
                if a.dtype is b.dtype:
                    return datas
            elif tb is float:
                if a.dtype.kind == "f":
                    return datas
            elif tb is int and a.dtype.kind in "fiu":
                return datas
        elif tb is _nd:
            if ta is float:
                if b.dtype.kind == "f":
                    return datas
            elif ta is int and b.dtype.kind in "fiu":
                return datas
    return _cast_all(datas, result_type(*datas))


def promote_float(datas: list) -> list:
    """As ``promote_args``, then integer and bool results become the default float dtype
    (true division, sqrt, exp, sigmoid, ... of integers)."""
    if len(datas) == 1:
        a = datas[0]
        if type(a) is _nd and a.dtype.kind == "f":
            return datas
    elif len(datas) == 2:
        a, b = datas
        if type(a) is _nd and a.dtype.kind == "f":
            if type(b) is _nd:
                if a.dtype is b.dtype:
                    return datas
            elif type(b) is float or type(b) is int:
                return datas
    dt = result_type(*datas)
    if dt.kind not in "fc":
        dt = _default[0]
    return _cast_all(datas, dt)
