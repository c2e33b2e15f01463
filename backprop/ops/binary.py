"""Elementwise math with two or three inputs (atan2, fmod, remainder, copysign, logaddexp,
hypot, lerp, clamp with tensor bounds) and the logical and bitwise operators.

Rules take PyTorch's values at the special points (``atan2`` at the origin, ``fmod``'s
gradient for the divisor, ``clamp`` when ``min > max``), so gradients agree with PyTorch's
there too. Broadcast gradients are reduced by the engine, as for every op.

>>> import backprop as bp
>>> bp.remainder(bp.tensor([-3.0, 5.0]), 2).tolist()  # the divisor's sign, as Python's %
[1.0, 1.0]
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, OpError
from ..dtypes import promote_args
from ..tensor import Tensor
from .unary import _floating, _t

_QUIET = {"divide": "ignore", "invalid": "ignore", "over": "ignore"}


class Atan2(Function):
    name = "atan2"
    formulas = ("d atan2(a,b)/da = b / (a^2 + b^2)", "d atan2(a,b)/db = -a / (a^2 + b^2)")

    def forward(self, a, b):
        self.saved = (a, b)
        return np.arctan2(a, b)

    def backward(self, g):
        a, b = self.saved
        with np.errstate(**_QUIET):
            d = a * a + b * b
            r = g * np.where(d == 0, 0, 1 / d)  # PyTorch's 0 at the origin
        return r * b, r * -a


class Fmod(Function):
    """The remainder of ``a / b`` truncated toward zero (C's fmod): the sign of ``a``."""

    name = "fmod"
    formulas = ("d fmod(a,b)/da = 1", "d fmod(a,b)/db = -trunc(a/b)")
    promote = promote_args
    _quotient = staticmethod(np.trunc)
    _f = staticmethod(np.fmod)

    def forward(self, a, b):
        self.saved = (a, b)
        with np.errstate(**_QUIET):
            return self._f(a, b)

    def backward(self, g):
        a, b = self.saved
        gb = None
        if self.needs_grad(1):
            with np.errstate(**_QUIET):
                gb = -g * self._quotient(a / b)
        return g, gb


class Remainder(Fmod):
    """The remainder of ``a / b`` rounded toward -inf (Python's ``%``): the sign of ``b``."""

    name = "remainder"
    formulas = ("d remainder(a,b)/da = 1", "d remainder(a,b)/db = -floor(a/b)")
    _quotient = staticmethod(np.floor)
    _f = staticmethod(np.remainder)


class Copysign(Function):
    name = "copysign"
    formulas = ("d copysign(a,b)/da = sign(a) sign(copysign(a,b))  (0 at a = 0)", "0")

    def forward(self, a, b):
        out = np.copysign(a, b)
        self.saved = (a, out)
        return out

    def backward(self, g):
        a, out = self.saved
        with np.errstate(**_QUIET):
            ratio = np.where(a == 0, 0, out / np.where(a == 0, 1, a))
        return g * ratio, (np.zeros_like(g) if self.needs_grad(1) else None)


class LogAddExp(Function):
    name = "logaddexp"
    formulas = (
        "d log(e^a + e^b)/da = 1 / (1 + e^(b-a))",
        "d log(e^a + e^b)/db = 1 / (1 + e^(a-b))",
    )

    def forward(self, a, b):
        self.saved = (a, b)
        return np.logaddexp(a, b)

    def backward(self, g):
        a, b = self.saved
        with np.errstate(**_QUIET):
            return g / (1 + np.exp(b - a)), g / (1 + np.exp(a - b))


class Hypot(Function):
    name = "hypot"
    formulas = ("d sqrt(a^2+b^2)/da = a / hypot(a,b)", "d sqrt(a^2+b^2)/db = b / hypot(a,b)")

    def forward(self, a, b):
        out = np.hypot(a, b)
        self.saved = (a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved
        with np.errstate(**_QUIET):
            return g * a / out, g * b / out


class Lerp(Function):
    """``a + w (b - a)``, computed as PyTorch does (exact at both ends)."""

    name = "lerp"
    formulas = (  # C is the weight (the explainer puts each input's name in)
        "d lerp(a,b,C)/da = 1 - C",
        "d lerp(a,b,C)/db = C",
        "d lerp(a,b,C)/dC = b - a",
    )

    def forward(self, a, b, w):
        self.saved = (a, b, w)
        return np.where(np.abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))

    def backward(self, g):
        a, b, w = self.saved
        gw = g * (b - a) if self.needs_grad(2) else None
        return g * (1 - w), g * w, gw


class ClampTensor(Function):
    """``min(max(s, lo), hi)`` with tensor bounds (either may be None); PyTorch's rule."""

    name = "clamp"
    formulas = (  # b is the lower bound, C the upper
        "d clamp(s,b,C)/ds = 1 if b <= s <= C else 0",
        "d clamp(s,b,C)/db = 1 if s < b and b < C else 0",
        "d clamp(s,b,C)/dC = 1 if s > C or C < b else 0",
    )

    def forward(self, a, lo, hi):
        self.saved = (a, lo, hi)
        out = a
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        return out

    def backward(self, g):
        a, lo, hi = self.saved
        zero = np.zeros_like(g)
        keep = np.ones(np.shape(a), dtype=bool)
        glo = ghi = None
        if lo is not None:
            keep = keep & (a >= lo)
            below = a < lo if hi is None else (a < lo) & (lo < hi)
            glo = np.where(below, g, zero)
        if hi is not None:
            keep = keep & (a <= hi)
            above = a > hi if lo is None else (a > hi) | (hi < lo)
            ghi = np.where(above, g, zero)
        return np.where(keep, g, zero), glo, ghi


# ---------------------------------------------------------------------------- functional API


def _pair(a, b, floating: bool = False):
    a = _floating(a) if floating else _t(a)
    if floating and isinstance(b, Tensor) and b._data.dtype.kind not in "fc":
        b = _floating(b)
    return a, b


def atan2(input, other) -> Tensor:
    """The angle of the point ``(other, input)``, in (-pi, pi]."""
    return Atan2.apply(_pair(input, other, floating=True))


arctan2 = atan2


def fmod(input, other) -> Tensor:
    """``input - trunc(input / other) * other`` (the sign of ``input``)."""
    return Fmod.apply(_pair(input, other))


def remainder(input, other) -> Tensor:
    """``input - floor(input / other) * other`` (the sign of ``other``, as Python's ``%``)."""
    return Remainder.apply(_pair(input, other))


def _rremainder(a, b):
    return Remainder.apply((b, a))


def floor_divide(input, other) -> Tensor:
    """``floor(input / other)`` (``//``). Not differentiable in PyTorch, so no graph here."""
    a, b = promote_args([_t(input)._data, other._data if isinstance(other, Tensor) else other])
    with np.errstate(**_QUIET):
        return Tensor._wrap(np.asarray(np.floor_divide(a, b)))


def _rfloor_divide(a, b):
    a, b = promote_args([a._data, b])
    with np.errstate(**_QUIET):
        return Tensor._wrap(np.asarray(np.floor_divide(b, a)))


def copysign(input, other) -> Tensor:
    """The magnitude of ``input`` with the sign of ``other`` (-0.0 counts as negative)."""
    return Copysign.apply(_pair(input, other, floating=True))


def logaddexp(input, other) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    return LogAddExp.apply(_pair(input, other, floating=True))


def logaddexp2(input, other) -> Tensor:
    """``log2(2^input + 2^other)``, composed from ``logaddexp``."""
    ln2 = float(np.log(2.0))
    return logaddexp(_floating(input) * ln2, other * ln2) / ln2


def hypot(input, other) -> Tensor:
    """``sqrt(input^2 + other^2)`` without overflow."""
    return Hypot.apply(_pair(input, other, floating=True))


def lerp(input, end, weight) -> Tensor:
    """``input + weight * (end - input)``; ``weight`` a number or a tensor."""
    return Lerp.apply((_t(input), end, weight))


def clamp(input, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Clamp into ``[min, max]``; either bound may be None, a number or a tensor.

    With number bounds it is one ``clip`` node; with tensor bounds the bounds get gradients
    too. When ``min > max`` every element becomes ``max``, as in PyTorch.
    """
    from . import clip

    if min is None and max is None:
        raise OpError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return ClampTensor.apply((_t(input), min, max))
    return clip(input, min, max)


class DivRounded(Function):
    """``a / b`` rounded toward zero (``trunc``) or -inf (``floor``, Python's ``//``)."""

    name = "div"
    formulas = ("d round(a/b)/da = 0", "d round(a/b)/db = 0")
    promote = promote_args

    def forward(self, a, b, mode):
        with np.errstate(**_QUIET):
            if mode == "floor":
                return np.floor_divide(a, b)
            q = np.true_divide(a, b)
            if np.asarray(a).dtype.kind in "iub" and np.asarray(b).dtype.kind in "iub":
                return np.trunc(q).astype(np.result_type(a, b))
            return np.trunc(q)

    def backward(self, g):
        zero = np.zeros_like(g)
        return zero, zero


def div_rounded(input, other, rounding_mode: str) -> Tensor:
    if rounding_mode not in ("trunc", "floor"):
        raise OpError(f"div: rounding_mode must be None, 'trunc' or 'floor', not {rounding_mode!r}")
    return DivRounded.apply((_t(input), other), rounding_mode)


def clamp_min(input, min) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input, max) -> Tensor:  # noqa: A002
    return clamp(input, max=max)


# ---------------------------------------------------------------------------- logic and bits
# No derivative: each returns a plain tensor with no graph.


class _BitsTypeError(TypeError, RuntimeError):
    """PyTorch raises RuntimeError for bit ops on floats; Python code expects TypeError."""


def _no_grad_binary(fn, name: str, bits: bool = False):
    def op(input, other, _swap=False) -> Tensor:
        a = _t(input)._data
        b = other._data if isinstance(other, Tensor) else other
        if bits and (a.dtype.kind == "f" or np.asarray(b).dtype.kind == "f"):
            raise _BitsTypeError(f"{name}: only integer and bool tensors, not floating point")
        if bits:  # PyTorch's promotion: a Python int does not widen an int32 tensor
            a, b = promote_args([a, b])
        return Tensor._wrap(np.asarray(fn(b, a) if _swap else fn(a, b)))

    op.__name__ = name
    op.__doc__ = f"``{name}`` elementwise (no gradient)."
    return op


def _reflected(fn):
    def op(a, b):
        return fn(a, b, _swap=True)

    return op


logical_and = _no_grad_binary(np.logical_and, "logical_and")
logical_or = _no_grad_binary(np.logical_or, "logical_or")
logical_xor = _no_grad_binary(np.logical_xor, "logical_xor")
bitwise_and = _no_grad_binary(np.bitwise_and, "bitwise_and", bits=True)
bitwise_or = _no_grad_binary(np.bitwise_or, "bitwise_or", bits=True)
bitwise_xor = _no_grad_binary(np.bitwise_xor, "bitwise_xor", bits=True)
bitwise_left_shift = _no_grad_binary(np.left_shift, "bitwise_left_shift", bits=True)
bitwise_right_shift = _no_grad_binary(np.right_shift, "bitwise_right_shift", bits=True)


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan=False) -> Tensor:
    """``|input - other| <= atol + rtol |other|`` elementwise, as a bool tensor."""
    a = _t(input)._data
    b = other._data if isinstance(other, Tensor) else other
    return Tensor._wrap(np.asarray(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan=False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


METHODS = {
    "atan2": atan2,
    "arctan2": atan2,
    "fmod": fmod,
    "remainder": remainder,
    "__mod__": remainder,
    "__rmod__": _rremainder,
    "floor_divide": floor_divide,
    "__floordiv__": floor_divide,
    "__rfloordiv__": _rfloor_divide,
    "copysign": copysign,
    "logaddexp": logaddexp,
    "logaddexp2": logaddexp2,
    "hypot": hypot,
    "lerp": lerp,
    "clamp": clamp,
    "clip": clamp,
    "clamp_min": clamp_min,
    "clamp_max": clamp_max,
    "logical_and": logical_and,
    "logical_or": logical_or,
    "logical_xor": logical_xor,
    "bitwise_and": bitwise_and,
    "bitwise_or": bitwise_or,
    "bitwise_xor": bitwise_xor,
    "bitwise_left_shift": bitwise_left_shift,
    "bitwise_right_shift": bitwise_right_shift,
    "__and__": bitwise_and,
    "__rand__": _reflected(bitwise_and),
    "__or__": bitwise_or,
    "__ror__": _reflected(bitwise_or),
    "__xor__": bitwise_xor,
    "__rxor__": _reflected(bitwise_xor),
    "__lshift__": bitwise_left_shift,
    "__rshift__": bitwise_right_shift,
    "__rlshift__": _reflected(bitwise_left_shift),
    "__rrshift__": _reflected(bitwise_right_shift),
    "isclose": isclose,
    "allclose": allclose,
}
