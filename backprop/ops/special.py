"""Special functions and the smaller elementwise ops PyTorch programs reach for: lgamma,
digamma, polygamma, erfc, erfinv, i0, logit, sinc, xlogy, entr, fmax/fmin, deg2rad,
float_power, addcmul/addcdiv, and the integer ops without a gradient (gcd, lcm, heaviside).

Each primitive's forward is one SciPy or NumPy ufunc and its rule the derivative PyTorch
uses, with PyTorch's values where the function is singular (``sinc``'s 0 at the origin,
``xlogy``'s 0 where ``x == 0``, ``fmax``'s whole gradient to the first input at ties).

>>> import backprop as bp
>>> x = bp.tensor([0.5, 3.0], requires_grad=True)
>>> x.lgamma().sum().backward()
>>> [round(v, 4) for v in x.grad.tolist()]  # digamma(x)
[-1.9635, 0.9228]
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..dtypes import promote_args, promote_float
from ..tensor import Tensor
from .unary import _floating, _t, _Unary, _UnaryOut

_QUIET = {"divide": "ignore", "invalid": "ignore", "over": "ignore"}


def _sp():
    import scipy.special

    return scipy.special


def _same(out, a):
    """SciPy's result in the input's dtype (a few functions compute in float64 only)."""
    out = np.asarray(out)
    return out if out.dtype == a.dtype else out.astype(a.dtype)


# ---------------------------------------------------------------------------- gamma family


class Lgamma(_Unary):
    name = "lgamma"
    formulas = ("d lgamma(s)/ds = digamma(s)",)

    @staticmethod
    def f(a):
        return _same(_sp().gammaln(a), a)

    @staticmethod
    def df(s):
        return _same(_sp().psi(s), s)


class Digamma(_Unary):
    name = "digamma"
    formulas = ("d digamma(s)/ds = polygamma(1, s)",)

    @staticmethod
    def f(a):
        # PyTorch: digamma(0) is -inf (SciPy's pole gives nan for -0.0 and 0 alike)
        out = _same(_sp().psi(a), a)
        return np.where(a == 0, -np.inf, out).astype(a.dtype, copy=False)

    @staticmethod
    def df(s):
        return _same(_sp().polygamma(1, s), s)


class Polygamma(Function):
    name = "polygamma"
    formulas = ("d polygamma(n, s)/ds = polygamma(n+1, s)",)

    def forward(self, a, n):
        self.saved, self.n = a, n
        with np.errstate(**_QUIET):
            if n == 0:
                return Digamma.f(a)
            return _same(_sp().polygamma(n, a), a)

    def backward(self, g):
        with np.errstate(**_QUIET):
            return (g * _same(_sp().polygamma(self.n + 1, self.saved), self.saved),)


class Mvlgamma(Function):
    name = "mvlgamma"
    formulas = ("d mvlgamma(s, p)/ds = sum over j < p of digamma(s - j/2)",)

    def forward(self, a, p):
        self.saved, self.p = a, p
        j = np.arange(p, dtype=a.dtype) / 2
        out = _sp().gammaln(a[..., None] - j).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
        return _same(out, a)

    def backward(self, g):
        a = self.saved
        j = np.arange(self.p, dtype=a.dtype) / 2
        return (g * _same(_sp().psi(a[..., None] - j).sum(-1), a),)


# ---------------------------------------------------------------------------- error functions


class Erfc(_Unary):
    name = "erfc"
    formulas = ("d erfc(s)/ds = -2/sqrt(pi) exp(-s^2)",)

    @staticmethod
    def f(a):
        return _same(_sp().erfc(a), a)

    @staticmethod
    def df(s):
        return (-2 / math.sqrt(math.pi)) * np.exp(-s * s)


class Erfinv(_UnaryOut):
    name = "erfinv"
    formulas = ("d erfinv(s)/ds = sqrt(pi)/2 exp(erfinv(s)^2)",)

    @staticmethod
    def f(a):
        return _same(_sp().erfinv(a), a)

    @staticmethod
    def df(out):
        return (math.sqrt(math.pi) / 2) * np.exp(out * out)


class I0(_Unary):
    name = "i0"
    formulas = ("d i0(s)/ds = i1(s)",)

    @staticmethod
    def f(a):
        return _same(_sp().i0(a), a)

    @staticmethod
    def df(s):
        return _same(_sp().i1(s), s)


# ---------------------------------------------------------------------------- others


class Logit(_Unary):
    name = "logit"
    formulas = ("d log(s/(1-s))/ds = 1 / (s (1 - s))  (NaN outside [0, 1])",)

    @staticmethod
    def f(a):
        return np.log(a / (1 - a))

    @staticmethod
    def df(s):
        return np.where((s < 0) | (s > 1), np.nan, 1 / (s * (1 - s)))


class Sinc(_Unary):
    name = "sinc"
    formulas = ("d sin(pi s)/(pi s)/ds = (cos(pi s) - sinc(s)) / s  (0 at s = 0)",)

    @staticmethod
    def f(a):
        return np.sinc(a)

    @staticmethod
    def df(s):
        ps = math.pi * s
        d = (np.cos(ps) * ps - np.sin(ps)) / (ps * s)
        return np.where(s == 0, 0, d)


class Entr(_Unary):
    name = "entr"
    formulas = ("d (-s ln s)/ds = -(ln s + 1)",)

    @staticmethod
    def f(a):
        return _same(_sp().entr(a), a)

    @staticmethod
    def df(s):
        return np.where(s == 0, -np.inf, -(np.log(s) + 1))


class Xlogy(Function):
    """``x * log(y)``, 0 where ``x == 0`` (unless ``y`` is NaN), as PyTorch's xlogy."""

    name = "xlogy"
    promote = promote_float
    formulas = ("d xlogy(x,y)/dx = log(y) (0 where x = 0 and y <= 0)", "d xlogy(x,y)/dy = x / y")
    _log = staticmethod(np.log)

    def forward(self, x, y):
        self.saved = (x, y)
        with np.errstate(**_QUIET):
            out = x * self._log(y)
            return np.where((x == 0) & ~np.isnan(y), 0, out).astype(out.dtype, copy=False)

    def backward(self, g):
        x, y = self.saved
        gx = gy = None
        with np.errstate(**_QUIET):
            if self.needs_grad(0):  # PyTorch's: xlogy(g, y), and 0 where x = 0 and y <= edge
                gx = np.where((g == 0) & ~np.isnan(y), 0, g * self._log(y))
                gx = np.where((x == 0) & (y <= self._edge), 0, gx)
            if self.needs_grad(1):
                gy = g * x / self._dy(y)
        return gx, gy

    _edge = 0.0

    @staticmethod
    def _dy(y):
        return y


class Xlog1py(Xlogy):
    name = "xlog1py"
    formulas = (
        "d xlog1py(x,y)/dx = log1p(y) (0 where x = 0 and y <= -1)",
        "d xlog1py(x,y)/dy = x / (1+y)",
    )
    _log = staticmethod(np.log1p)
    _edge = -1.0

    @staticmethod
    def _dy(y):
        return 1 + y


class Fmax(Function):
    """The larger of two values, the other where one is NaN; at ties the whole gradient goes
    to the first input (PyTorch's rule, unlike ``maximum``'s even split)."""

    name = "fmax"
    promote = promote_args
    formulas = (
        "d fmax(a,b)/da = 1 if a >= b or b is NaN, else 0",
        "d fmax(a,b)/db = 0 if a >= b or b is NaN, else 1",
    )
    _f = staticmethod(np.fmax)
    _better = staticmethod(np.greater_equal)

    def forward(self, a, b):
        self.saved = (a, b)
        return self._f(a, b)

    def backward(self, g):
        a, b = self.saved
        with np.errstate(invalid="ignore"):
            first = self._better(a, b) | np.isnan(b)
        zero = np.zeros_like(g)
        return np.where(first, g, zero), np.where(first, zero, g)


class Fmin(Fmax):
    name = "fmin"
    formulas = (
        "d fmin(a,b)/da = 1 if a <= b or b is NaN, else 0",
        "d fmin(a,b)/db = 0 if a <= b or b is NaN, else 1",
    )
    _f = staticmethod(np.fmin)
    _better = staticmethod(np.less_equal)


# ---------------------------------------------------------------------------- functional API


def _unary(cls):
    def op(input) -> Tensor:
        return cls.apply((_floating(input),))

    op.__name__ = cls.name
    op.__doc__ = f"``{cls.name}`` elementwise; {cls.formulas[0]}."
    return op


lgamma = _unary(Lgamma)
digamma = _unary(Digamma)
erfc = _unary(Erfc)
erfinv = _unary(Erfinv)
i0 = _unary(I0)
sinc = _unary(Sinc)
entr = _unary(Entr)
psi = digamma


def polygamma(n: int, input) -> Tensor:
    """The ``n``-th derivative of digamma (``polygamma(0, x)`` is digamma)."""
    if int(n) != n or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative integer, got {n}")
    return Polygamma.apply((_floating(input),), int(n))


def _polygamma_method(input, n: int) -> Tensor:
    return polygamma(n, input)


def mvlgamma(input, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``."""
    input = _floating(input)
    if p < 1:
        raise ValueError(f"mvlgamma: p must be at least 1, got {p}")
    if (input._data <= (p - 1) / 2).any():
        raise RuntimeError(f"mvlgamma: all elements must be greater than (p-1)/2 = {(p - 1) / 2}")
    return Mvlgamma.apply((input,), int(p))


def logit(input, eps=None) -> Tensor:
    """``log(x / (1 - x))``; with ``eps`` the input is clamped to ``[eps, 1 - eps]`` first
    (gradient 0 outside, as PyTorch)."""
    input = _floating(input)
    if eps is not None:
        input = input.clamp(eps, 1 - eps)
    return Logit.apply((input,))


def deg2rad(input) -> Tensor:
    return _floating(input) * (math.pi / 180)


def rad2deg(input) -> Tensor:
    return _floating(input) * (180 / math.pi)


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, 0 where ``input`` is 0."""
    return Xlogy.apply((input, other))


def xlog1py(input, other) -> Tensor:
    """``input * log1p(other)``, 0 where ``input`` is 0."""
    return Xlog1py.apply((input, other))


def fmax(input, other) -> Tensor:
    """Elementwise maximum that ignores NaN (NaN only where both are NaN)."""
    return Fmax.apply((_t(input), other))


def fmin(input, other) -> Tensor:
    """Elementwise minimum that ignores NaN (NaN only where both are NaN)."""
    return Fmin.apply((_t(input), other))


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` computed in float64, as PyTorch's float_power."""
    input = _t(input).to(np.float64)
    if isinstance(exponent, Tensor):
        exponent = exponent.to(np.float64)
    elif isinstance(exponent, (int, np.integer)) and not isinstance(exponent, bool):
        exponent = float(exponent)
    return input**exponent


def true_divide(input, other) -> Tensor:
    from . import div

    return div(input, other)


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    prod = tensor1 * tensor2
    return _t(input) + (prod if value == 1 else prod * value)


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2``."""
    ratio = _t(tensor1) / tensor2
    return _t(input) + (ratio if value == 1 else ratio * value)


def ndtr(input) -> Tensor:
    """The standard normal CDF, ``(1 + erf(x / sqrt 2)) / 2``."""
    return erfc(_floating(input) * (-1 / math.sqrt(2))) * 0.5


# ---------------------------------------------------------------------------- no gradient


def _integers(fn, name: str):
    def op(input, other) -> Tensor:
        a = _t(input)._data
        b = other._data if isinstance(other, Tensor) else np.asarray(other)
        if a.dtype.kind not in "iub" or b.dtype.kind not in "iub":
            raise RuntimeError(f"{name}: only integer tensors (got {a.dtype} and {b.dtype})")
        a, b = promote_args([a, b if b.ndim or isinstance(other, Tensor) else b.item()])
        return Tensor._wrap(np.asarray(fn(a, b)))

    op.__name__ = name
    op.__doc__ = f"``{name}`` of integer tensors, elementwise (no gradient)."
    return op


gcd = _integers(np.gcd, "gcd")
lcm = _integers(np.lcm, "lcm")


def heaviside(input, values) -> Tensor:
    """0 where ``input < 0``, 1 where ``> 0``, ``values`` where it is 0 (no gradient)."""
    a = _t(input)._data
    v = values._data if isinstance(values, Tensor) else np.asarray(values)
    if a.dtype != v.dtype:
        raise RuntimeError(
            f"heaviside: input and values must have the same dtype (got {a.dtype} and {v.dtype})"
        )
    out = np.where(a == 0, v, (a > 0).astype(a.dtype))
    out = np.where(np.isnan(a), a, out) if a.dtype.kind == "f" else out
    return Tensor._wrap(np.asarray(out, dtype=a.dtype))


def _in_place(fn, name: str):
    """``t.name_(...)``: the op's result written into ``t`` (recorded inside a graph, as the
    other in-place ops; see ``inplace.py``)."""

    def op(self, *args, **kwargs):
        return self._update(f"{name}_", lambda t, *a: fn(t, *a, **kwargs), *args)

    op.__name__ = f"{name}_"
    return op


METHODS = {
    "lgamma": lgamma,
    "digamma": digamma,
    "polygamma": _polygamma_method,
    "mvlgamma": mvlgamma,
    "erfc": erfc,
    "erfinv": erfinv,
    "i0": i0,
    "sinc": sinc,
    "logit": logit,
    "deg2rad": deg2rad,
    "rad2deg": rad2deg,
    "xlogy": xlogy,
    "fmax": fmax,
    "fmin": fmin,
    "float_power": float_power,
    "true_divide": true_divide,
    "addcmul": addcmul,
    "addcdiv": addcdiv,
    "gcd": gcd,
    "lcm": lcm,
    "heaviside": heaviside,
}
METHODS.update(
    {
        f"{name}_": _in_place(METHODS[name], name)
        for name in (
            "lgamma digamma polygamma mvlgamma erfc erfinv i0 sinc logit deg2rad rad2deg "
            "xlogy fmax fmin float_power true_divide gcd lcm heaviside"
        ).split()
    }
)
