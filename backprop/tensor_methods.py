"""The rest of PyTorch's ``Tensor`` methods that programs call: aliases of ops that exist under
another name, the in-place (``name_``) form of every elementwise op, in-place shape changes,
random fills, and small queries. Each is written with the ops that exist, so none needs a
derivative rule of its own; ``attach(Tensor)`` adds them once ``ops`` has attached the ops.
"""

from __future__ import annotations

import numpy as np

from . import random as _random
from .autograd import OpError, mode

# name -> the existing method it is another name for (PyTorch's aliases)
ALIASES = {
    "multiply": "mul",
    "divide": "div",
    "subtract": "sub",
    "negative": "neg",
    "absolute": "abs",
    "sgn": "sign",
    "true_divide": "div",
    "greater": "gt",
    "greater_equal": "ge",
    "less": "lt",
    "less_equal": "le",
    "not_equal": "ne",
    "arctan2": "atan2",
}

# ops whose in-place form ``x.op_(...)`` is ``x`` overwritten by ``x.op(...)`` (recorded in a
# graph as add_ is, through InplaceMixin._update)
INPLACE = (
    "sin cos tan asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh "
    "arccosh arctanh floor ceil round trunc frac fix reciprocal rsqrt square exp2 expm1 log2 "
    "log10 log1p erf erfc erfinv nan_to_num clamp_min clamp_max fmod remainder hypot atan2 "
    "arctan2 copysign floor_divide cumsum cumprod tril triu eq ne lt le gt ge greater "
    "greater_equal less less_equal not_equal logical_and logical_or logical_xor logical_not "
    "bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift "
    "multiply divide subtract negative absolute sgn true_divide masked_scatter"
).split()

# shape changes in place: the tensor's array becomes the op's result
RESHAPE_INPLACE = ("squeeze", "unsqueeze", "t", "transpose", "swapaxes", "swapdims")


def _inplace(name: str):
    def method(self, *args, **kwargs):
        return self._update(name + "_", lambda t, *a: getattr(t, name)(*a, **kwargs), *args)

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"``{name}`` in place: this tensor takes the values of ``self.{name}(...)``."
    return method


def _reshape_inplace(name: str):
    def method(self, *args, **kwargs):
        if self.requires_grad and mode.grad_enabled:
            raise RuntimeError(
                f"{name}_: changes the shape of a tensor that requires grad in place; "
                f"write the out-of-place form (x = x.{name}(...))"
            )
        self._data = getattr(self, name)(*args, **kwargs)._data
        return self

    method.__name__ = method.__qualname__ = name + "_"
    return method


def _alias(target: str):
    def method(self, *args, **kwargs):
        return getattr(self, target)(*args, **kwargs)

    method.__doc__ = f"PyTorch's other name for ``{target}``."
    return method


# -- methods with a body of their own ---------------------------------------------------------
def t(self):
    """The transpose of a matrix (a 0-D or 1-D tensor as it is), as ``torch.Tensor.t``."""
    if self.ndim > 2:
        raise OpError(
            f"t: expects a tensor with <= 2 dimensions, but self is {self.ndim}D "
            f"(shape {tuple(self.shape)}); use transpose(dim0, dim1) or .mT"
        )
    return self if self.ndim < 2 else self.transpose(0, 1)


def ravel(self):
    """The values as one dim (a copy where the layout needs one), as ``flatten()``."""
    return self.flatten()


def positive(self):
    return self


def is_nonzero(self) -> bool:
    if self.numel() != 1:
        how = "no" if self.numel() == 0 else "more than one"
        raise RuntimeError(f"is_nonzero: Boolean value of Tensor with {how} values is ambiguous")
    return bool(self.item() != 0)


def is_signed(self) -> bool:
    return self.dtype.kind in "fic"


def is_same_size(self, other) -> bool:
    return tuple(self.shape) == tuple(other.shape)


def get_device(self) -> int:
    """-1 on the CPU (PyTorch's answer), the GPU's index otherwise."""
    return -1 if self.device.type == "cpu" else (self.device.index or 0)


def byte(self):
    return self.to(np.dtype(np.uint8))


def char(self):
    return self.to(np.dtype(np.int8))


def msort(self):
    return self.sort(dim=0).values


def inner(self, other):
    """Sum over the last dims of both (PyTorch's ``inner``; a number times a tensor for 0-D)."""
    if self.ndim == 0 or getattr(other, "ndim", 0) == 0:
        return self * other
    from . import tensordot

    return tensordot(self, other, dims=([-1], [-1]))


def vdot(self, other):
    return (self * other).sum()


def dist(self, other, p=2):
    return (self - other).norm(p)


def bernoulli(self, p=None, *, generator=None):
    """0/1 draws: each element is 1 with the probability this tensor (or ``p``) holds."""
    rng = generator or _random.default_generator()
    probs = np.asarray(self._data if p is None else np.broadcast_to(p, self.shape))
    if probs.size and (probs.min() < 0 or probs.max() > 1):
        raise RuntimeError("bernoulli: expects all probabilities to be in [0, 1]")
    out = (rng.random(self.shape) < probs).astype(self.dtype)
    return type(self)._wrap(out)


def bernoulli_(self, p=0.5, *, generator=None):
    return self.copy_(bernoulli(self, p, generator=generator))


def exponential_(self, lambd: float = 1.0, *, generator=None):
    rng = generator or _random.default_generator()
    return self.copy_(type(self)._wrap(rng.exponential(1.0 / lambd, self.shape)))


def multinomial(self, num_samples: int, replacement: bool = False, *, generator=None):
    """Indices drawn from the categories weighted by each row (1-D or 2-D), as PyTorch's."""
    rng = generator or _random.default_generator()
    w = np.asarray(self._data, dtype=np.float64)
    rows = w[None] if w.ndim == 1 else w
    if w.ndim not in (1, 2) or (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("multinomial: prob_dist must be 1 or 2 dim, finite and non-negative")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(
            f"multinomial: cannot sample n_sample > prob_dist.size(-1) ({num_samples} > "
            f"{rows.shape[1]}) samples without replacement"
        )
    out = []
    for r in rows:
        if r.sum() <= 0:
            raise RuntimeError(
                "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
            )
        out.append(rng.choice(len(r), num_samples, replace=replacement, p=r / r.sum()))
    res = np.asarray(out, dtype=np.int64)
    return type(self)._wrap(res[0] if w.ndim == 1 else res)


def fill_diagonal_(self, fill_value, wrap: bool = False):
    a = self._data.copy()
    np.fill_diagonal(a, fill_value, wrap=wrap)
    return self.copy_(type(self)._wrap(a))


def _is_cpu(self) -> bool:
    return self.device.type == "cpu"


def _retains_grad(self) -> bool:
    return bool(self._retain)


def attach(cls) -> None:
    """Add these methods to ``Tensor`` (where it has none of that name)."""
    own = {
        "t": t,
        "ravel": ravel,
        "positive": positive,
        "is_nonzero": is_nonzero,
        "is_signed": is_signed,
        "is_same_size": is_same_size,
        "get_device": get_device,
        "byte": byte,
        "char": char,
        "msort": msort,
        "inner": inner,
        "vdot": vdot,
        "dist": dist,
        "bernoulli": bernoulli,
        "bernoulli_": bernoulli_,
        "exponential_": exponential_,
        "multinomial": multinomial,
        "fill_diagonal_": fill_diagonal_,
        "is_cpu": property(_is_cpu),
        "retains_grad": property(_retains_grad),
    }
    for name, target in ALIASES.items():
        own[name] = _alias(target)
    for name, fn in own.items():
        if not hasattr(cls, name):
            setattr(cls, name, fn)
    for name in INPLACE:
        if hasattr(cls, name) and not hasattr(cls, name + "_"):
            setattr(cls, name + "_", _inplace(name))
    for name in RESHAPE_INPLACE:
        if hasattr(cls, name) and not hasattr(cls, name + "_"):
            setattr(cls, name + "_", _reshape_inplace(name))
