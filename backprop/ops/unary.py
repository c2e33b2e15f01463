"""Elementwise math with one input (trigonometric, hyperbolic, logs and powers, rounding) and
the predicates that carry no gradient (isnan, logical_not, ...).

Each primitive's forward is one NumPy ufunc and its rule is the derivative PyTorch uses,
written from the input ``s`` (or, where that is cheaper, from the output); each sits beside
its functional wrapper, which turns integer inputs into the default float dtype as PyTorch
does (``bp.sin(bp.arange(3))`` is float32).

>>> import backprop as bp
>>> x = bp.tensor([0.0, 1.0], requires_grad=True)
>>> x.sin().sum().backward()
>>> x.grad  # cos(x)
tensor([1.0000, 0.5403])
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, get_default_dtype

# ---------------------------------------------------------------------------- helpers


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _floating(x) -> Tensor:
    """``x`` as a tensor of a floating dtype: integer and bool inputs become the default
    float dtype (PyTorch's rule for sin, exp, log2, ...)."""
    x = _t(x)
    if x._data.dtype.kind in "fc":
        return x
    return Tensor._wrap(x._data.astype(get_default_dtype()))


class _Unary(Function):
    """``f(s)`` elementwise, with the rule ``g * f'(s)`` computed from the input ``s``."""

    def forward(self, a):
        self.saved = a
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.f(a)

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (g * self.df(self.saved),)


class _UnaryOut(_Unary):
    """As ``_Unary``, with the derivative computed from the output (exp-like functions)."""

    def forward(self, a):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self.f(a)
        self.saved = out
        return out


# ---------------------------------------------------------------------------- trigonometric


class Sin(_Unary):
    name = "sin"
    formulas = ("d sin(s)/ds = cos(s)",)
    f = staticmethod(np.sin)
    df = staticmethod(np.cos)


class Cos(_Unary):
    name = "cos"
    formulas = ("d cos(s)/ds = -sin(s)",)
    f = staticmethod(np.cos)

    @staticmethod
    def df(s):
        return -np.sin(s)


class Tan(_UnaryOut):
    name = "tan"
    formulas = ("d tan(s)/ds = 1 + tan(s)^2",)
    f = staticmethod(np.tan)

    @staticmethod
    def df(t):
        return 1 + t * t


class Asin(_Unary):
    name = "asin"
    formulas = ("d asin(s)/ds = 1 / sqrt(1 - s^2)",)
    f = staticmethod(np.arcsin)

    @staticmethod
    def df(s):
        return 1 / np.sqrt(1 - s * s)


class Acos(_Unary):
    name = "acos"
    formulas = ("d acos(s)/ds = -1 / sqrt(1 - s^2)",)
    f = staticmethod(np.arccos)

    @staticmethod
    def df(s):
        return -1 / np.sqrt(1 - s * s)


class Atan(_Unary):
    name = "atan"
    formulas = ("d atan(s)/ds = 1 / (1 + s^2)",)
    f = staticmethod(np.arctan)

    @staticmethod
    def df(s):
        return 1 / (1 + s * s)


# ---------------------------------------------------------------------------- hyperbolic


class Sinh(_Unary):
    name = "sinh"
    formulas = ("d sinh(s)/ds = cosh(s)",)
    f = staticmethod(np.sinh)
    df = staticmethod(np.cosh)


class Cosh(_Unary):
    name = "cosh"
    formulas = ("d cosh(s)/ds = sinh(s)",)
    f = staticmethod(np.cosh)
    df = staticmethod(np.sinh)


class Asinh(_Unary):
    name = "asinh"
    formulas = ("d asinh(s)/ds = 1 / sqrt(s^2 + 1)",)
    f = staticmethod(np.arcsinh)

    @staticmethod
    def df(s):
        return 1 / np.sqrt(s * s + 1)


class Acosh(_Unary):
    name = "acosh"
    formulas = ("d acosh(s)/ds = 1 / sqrt(s^2 - 1)",)
    f = staticmethod(np.arccosh)

    @staticmethod
    def df(s):
        return 1 / np.sqrt(s * s - 1)


class Atanh(_Unary):
    name = "atanh"
    formulas = ("d atanh(s)/ds = 1 / (1 - s^2)",)
    f = staticmethod(np.arctanh)

    @staticmethod
    def df(s):
        return 1 / (1 - s * s)


# ---------------------------------------------------------------------------- logs and powers


class Log2(_Unary):
    name = "log2"
    formulas = ("d log2(s)/ds = 1 / (s ln 2)",)
    f = staticmethod(np.log2)

    @staticmethod
    def df(s):
        return 1 / (s * math.log(2.0))


class Log10(_Unary):
    name = "log10"
    formulas = ("d log10(s)/ds = 1 / (s ln 10)",)
    f = staticmethod(np.log10)

    @staticmethod
    def df(s):
        return 1 / (s * math.log(10.0))


class Log1p(_Unary):
    name = "log1p"
    formulas = ("d log(1+s)/ds = 1 / (1 + s)",)
    f = staticmethod(np.log1p)

    @staticmethod
    def df(s):
        return 1 / (1 + s)


class Expm1(_UnaryOut):
    name = "expm1"
    formulas = ("d (exp(s)-1)/ds = exp(s)",)
    f = staticmethod(np.expm1)

    @staticmethod
    def df(out):
        return out + 1


class Exp2(_UnaryOut):
    name = "exp2"
    formulas = ("d 2^s/ds = 2^s ln 2",)
    f = staticmethod(np.exp2)

    @staticmethod
    def df(out):
        return out * math.log(2.0)


class Rsqrt(_UnaryOut):
    name = "rsqrt"
    formulas = ("d s^(-1/2)/ds = -1/2 s^(-3/2)",)

    @staticmethod
    def f(a):
        return 1 / np.sqrt(a)

    @staticmethod
    def df(out):
        return -0.5 * out * out * out


class Reciprocal(_UnaryOut):
    name = "reciprocal"
    formulas = ("d (1/s)/ds = -1/s^2",)
    f = staticmethod(np.reciprocal)

    @staticmethod
    def df(out):
        return -(out * out)


# ---------------------------------------------------------------------------- rounding


class _Step(Function):
    """A piecewise-constant function: its derivative is 0 (PyTorch keeps it in the graph)."""

    def forward(self, a, *params):
        return self.f(a, *params)

    def backward(self, g):
        return (np.zeros_like(g),)


class Floor(_Step):
    name = "floor"
    formulas = ("d floor(s)/ds = 0",)
    f = staticmethod(np.floor)


class Ceil(_Step):
    name = "ceil"
    formulas = ("d ceil(s)/ds = 0",)
    f = staticmethod(np.ceil)


class Trunc(_Step):
    name = "trunc"
    formulas = ("d trunc(s)/ds = 0",)
    f = staticmethod(np.trunc)


class Round(_Step):
    """Half to even, as in PyTorch and NumPy (``round(2.5) == 2``)."""

    name = "round"
    formulas = ("d round(s)/ds = 0",)
    f = staticmethod(np.round)


class Frac(Function):
    name = "frac"
    formulas = ("d (s - trunc(s))/ds = 1",)

    def forward(self, a):
        return a - np.trunc(a)

    def backward(self, g):
        return (g,)


class NanToNum(Function):
    name = "nan_to_num"
    formulas = ("d nan_to_num(s)/ds = 1 where s is finite, else 0",)

    def forward(self, a, nan, posinf, neginf):
        self.saved = a
        return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return (g * np.isfinite(self.saved),)


# ---------------------------------------------------------------------------- functional API


def sin(input) -> Tensor:
    """Sine, elementwise. ``bp.sin(bp.tensor([0.0])).tolist() == [0.0]``."""
    return Sin.apply((_floating(input),))


def cos(input) -> Tensor:
    return Cos.apply((_floating(input),))


def tan(input) -> Tensor:
    return Tan.apply((_floating(input),))


def asin(input) -> Tensor:
    return Asin.apply((_floating(input),))


def acos(input) -> Tensor:
    return Acos.apply((_floating(input),))


def atan(input) -> Tensor:
    return Atan.apply((_floating(input),))


def sinh(input) -> Tensor:
    return Sinh.apply((_floating(input),))


def cosh(input) -> Tensor:
    return Cosh.apply((_floating(input),))


def asinh(input) -> Tensor:
    return Asinh.apply((_floating(input),))


def acosh(input) -> Tensor:
    return Acosh.apply((_floating(input),))


def atanh(input) -> Tensor:
    return Atanh.apply((_floating(input),))


arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def log2(input) -> Tensor:
    return Log2.apply((_floating(input),))


def log10(input) -> Tensor:
    return Log10.apply((_floating(input),))


def log1p(input) -> Tensor:
    return Log1p.apply((_floating(input),))


def expm1(input) -> Tensor:
    return Expm1.apply((_floating(input),))


def exp2(input) -> Tensor:
    return Exp2.apply((_floating(input),))


def rsqrt(input) -> Tensor:
    return Rsqrt.apply((_floating(input),))


def reciprocal(input) -> Tensor:
    return Reciprocal.apply((_floating(input),))


def square(input) -> Tensor:
    """``input * input`` (one ``pow`` node, rule 2s); integers stay integers, as in PyTorch."""
    from .elementwise import Pow

    return Pow.apply((_t(input),), 2)


def _rounding(cls):
    def op(input) -> Tensor:
        input = _t(input)
        if input._data.dtype.kind in "iub":  # already whole numbers, as in PyTorch
            return input.clone() if input.requires_grad else Tensor._wrap(input._data.copy())
        return cls.apply((input,))

    op.__name__ = cls.name
    op.__doc__ = f"``{cls.name}`` elementwise; its gradient is 0 (PyTorch's)."
    return op


floor = _rounding(Floor)
ceil = _rounding(Ceil)
trunc = _rounding(Trunc)
fix = trunc


def round(input, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round half to even; ``decimals`` digits after the point (negative: before it)."""
    input = _t(input)
    if input._data.dtype.kind in "iub" and decimals >= 0:
        return Tensor._wrap(input._data.copy())
    return Round.apply((input,), decimals)


def frac(input) -> Tensor:
    return Frac.apply((_t(input),))


def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """NaN to ``nan``, +-inf to ``posinf``/``neginf`` (the dtype's largest finite values by
    default); the gradient passes where the input was finite."""
    return NanToNum.apply((_t(input),), nan, posinf, neginf)


# ---------------------------------------------------------------------------- predicates
# No derivative: each returns a plain bool tensor with no graph.


def _predicate(fn, name: str):
    def op(input) -> Tensor:
        return Tensor._wrap(np.asarray(fn(_t(input)._data)))

    op.__name__ = name
    op.__doc__ = f"``{name}`` elementwise, as a bool tensor (no gradient)."
    return op


isnan = _predicate(np.isnan, "isnan")
isinf = _predicate(np.isinf, "isinf")
isfinite = _predicate(np.isfinite, "isfinite")
isposinf = _predicate(np.isposinf, "isposinf")
isneginf = _predicate(np.isneginf, "isneginf")
signbit = _predicate(np.signbit, "signbit")
logical_not = _predicate(np.logical_not, "logical_not")


def bitwise_not(input) -> Tensor:
    """``~input``: logical not on bool tensors, two's-complement not on integers."""
    data = _t(input)._data
    if data.dtype.kind == "f":
        raise TypeError("bitwise_not: only integer and bool tensors (this one is float)")
    return Tensor._wrap(np.asarray(np.invert(data)))


METHODS = {
    "sin": sin,
    "cos": cos,
    "tan": tan,
    "asin": asin,
    "arcsin": asin,
    "acos": acos,
    "arccos": acos,
    "atan": atan,
    "arctan": atan,
    "sinh": sinh,
    "cosh": cosh,
    "asinh": asinh,
    "arcsinh": asinh,
    "acosh": acosh,
    "arccosh": acosh,
    "atanh": atanh,
    "arctanh": atanh,
    "log2": log2,
    "log10": log10,
    "log1p": log1p,
    "expm1": expm1,
    "exp2": exp2,
    "rsqrt": rsqrt,
    "reciprocal": reciprocal,
    "square": square,
    "floor": floor,
    "ceil": ceil,
    "trunc": trunc,
    "fix": trunc,
    "round": round,
    "frac": frac,
    "nan_to_num": nan_to_num,
    "isnan": isnan,
    "isinf": isinf,
    "isfinite": isfinite,
    "isposinf": isposinf,
    "isneginf": isneginf,
    "signbit": signbit,
    "logical_not": logical_not,
    "bitwise_not": bitwise_not,
    "__invert__": bitwise_not,
}
