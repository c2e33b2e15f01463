"""Arithmetic and elementwise primitives: each forward with its derivative rule under it."""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..dtypes import promote_args, promote_float

# ---------------------------------------------------------------------------- arithmetic


class Add(Function):
    name = "add"
    promote = promote_args
    formulas = ("d(a+b)/da = 1", "d(a+b)/db = 1")

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    name = "sub"
    promote = promote_args
    formulas = ("d(a-b)/da = 1", "d(a-b)/db = -1")

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_grad(1) else None)


class Mul(Function):
    name = "mul"
    promote = promote_args
    saved_inputs = (0, 1)
    formulas = ("d(a*b)/da = b", "d(a*b)/db = a")

    def forward(self, a, b):
        self.saved = (a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved
        pa, pb = self.parents  # a constant factor (x * 2, x * c) needs no product of its own
        ga = g * b if getattr(pa, "requires_grad", False) else None
        return ga, (g * a if getattr(pb, "requires_grad", False) else None)


class Div(Function):
    name = "div"
    promote = promote_float
    saved_inputs = (0, 1)
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
    saved_inputs = (0,)
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
    promote = promote_args
    saved_inputs = (0, 1, -1)
    formulas = ("d(a^b)/da = b * a^(b-1)", "d(a^b)/db = a^b * log(a)")

    def forward(self, a, b):
        if (
            getattr(b, "dtype", np.dtype(type(b))).kind in "iu"
            and getattr(a, "dtype", np.dtype(type(a))).kind in "iub"
            and np.any(np.asarray(b) < 0)
        ):
            raise ValueError("Integers to negative integer powers are not allowed.")
        out = a**b
        self.saved = (a, b, out)
        return out

    def backward(self, g):
        # PyTorch's values at the singular points: 0 for a where b = 0; for b, 0 where a = 0
        # and b >= 0, and a^b log(a) elsewhere (NaN for a < 0, -inf at a = 0, b < 0)
        a, b, out = self.saved
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ga = None
            if self.needs_grad(0):
                ga = np.where(b == 0, 0, g * (b * a ** (b - 1)))
            gb = None
            if self.needs_grad(1):
                gb = np.where((a == 0) & (b >= 0), 0, g * out * np.log(a))
        return ga, gb


# ---------------------------------------------------------------------------- elementwise


class Exp(Function):
    name = "exp"
    promote = promote_float
    saved_inputs = (-1,)
    formulas = ("d exp(s)/ds = exp(s)",)

    def forward(self, a):
        out = np.exp(a)
        self.saved = out
        return out

    def backward(self, g):
        return (g * self.saved,)


class Log(Function):
    name = "log"
    promote = promote_float
    saved_inputs = (0,)
    formulas = ("d log(s)/ds = 1/s",)

    def forward(self, a):
        self.saved = a
        return np.log(a)

    def backward(self, g):
        return (g / self.saved,)


class Sqrt(Function):
    name = "sqrt"
    promote = promote_float
    saved_inputs = (-1,)
    formulas = ("d sqrt(s)/ds = 1 / (2 sqrt(s))",)

    def forward(self, a):
        out = np.sqrt(a)
        self.saved = out
        return out

    def backward(self, g):
        return (g / (2 * self.saved),)


class Abs(Function):
    name = "abs"
    saved_inputs = (0,)
    formulas = ("d |s|/ds = sign(s)  (0 at s = 0)",)

    def forward(self, a):
        self.saved = a
        return np.abs(a)

    def backward(self, g):
        return (g * np.sign(self.saved),)


class Tanh(Function):
    name = "tanh"
    promote = promote_float
    saved_inputs = (-1,)
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
    promote = promote_float
    saved_inputs = (-1,)
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
    saved_inputs = (-1,)
    formulas = ("d relu(s)/ds = 1 if s > 0 else 0  (0 at s = 0, as in PyTorch)",)

    def forward(self, a):
        out = np.maximum(a, backend.zero_row(a))
        self.saved = out
        return out

    def backward(self, g):
        return (g * (self.saved > 0),)


class Erf(Function):
    name = "erf"
    promote = promote_float
    saved_inputs = (0,)
    formulas = ("d erf(s)/ds = 2/sqrt(pi) exp(-s^2)",)

    def forward(self, a):
        self.saved = a
        return backend.erf(a)

    def backward(self, g):
        a = self.saved
        return (g * ((2 / math.sqrt(math.pi)) * np.exp(-(a * a))),)


class Maximum(Function):
    name = "maximum"
    promote = promote_args
    saved_inputs = (0, 1)
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
    promote = promote_args
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
    saved_inputs = (0,)
    formulas = ("d clip(s,lo,hi)/ds = 1 if lo <= s <= hi else 0",)

    def forward(self, a, lo, hi):
        self.saved = a
        self.lo, self.hi = lo, hi
        return np.clip(a, lo, hi)

    def backward(self, g):
        a = self.saved
        mask = np.ones_like(a, dtype=bool)
        if self.lo is not None:
            mask &= a >= self.lo
        if self.hi is not None:
            mask &= a <= self.hi
        return (g * mask,)


class Sign(Function):
    name = "sign"
    formulas = ("d sign(s)/ds = 0",)

    def forward(self, a):
        return np.sign(a)

    def backward(self, g):
        return (np.zeros_like(g),)


class Clone(Function):
    name = "clone"
    formulas = ("d clone(s)/ds = 1",)

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return (g,)


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
