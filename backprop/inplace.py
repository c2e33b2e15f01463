"""In-place ops (``add_``, ``mul_``, ``zero_``, ``fill_``, ``copy_``, ...) and PyTorch's
version counter.

Every in-place change bumps the tensor's version (``t._version``). An op records the
versions of the inputs its rule reads, and backward refuses to use a value that changed since
(``autograd.InplaceError``, PyTorch's message), instead of computing a wrong gradient:

>>> import backprop as bp
>>> x = bp.tensor([1.0, 2.0], requires_grad=True)
>>> h = x.exp()
>>> _ = h.fill_(0.0)          # exp's rule reads its output, which is now 0
>>> h.sum().backward()
Traceback (most recent call last):
...
backprop.autograd.InplaceError: one of the variables needed for gradient computation ...

Under ``no_grad`` (or on a tensor outside any graph) the array is updated in place; inside a
graph (a non-leaf tensor) the op is recorded and the tensor takes its result, as in PyTorch. A
leaf that requires grad cannot be changed in place inside a graph (update weights under
``no_grad``, or through ``.data``).
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dtypes
from . import random as _random

_ops = None  # backprop.ops and backprop.autograd, set by tensor.py once they are imported
_ag = None


class InplaceMixin:
    """The in-place methods of ``Tensor`` (a mixin only to keep tensor.py by concern)."""

    __slots__ = ()

    def _update(self, name: str, result, *args):
        """Apply ``result(tensor, *args)`` (an out-of-place op) to this tensor in place."""
        from .tensor import Tensor

        graph = _ag.mode.grad_enabled and (
            self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)
        )
        if not graph:
            _write(self, result(self, *args)._data, name)
            return self
        if self._ctx is None and self.requires_grad:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad is being used in an in-place "
                f"operation; update it under bp.no_grad(), or through .data"
            )
        # the op is recorded on a private copy of the old values, which takes the old node:
        # its version says "changed", so a rule that saved the old values refuses to run
        old = Tensor._wrap(self._data.copy(), self.requires_grad)
        old._ctx, old.name, old._vc = self._ctx, self.name, [self._version + 1]
        out = result(old, *args)
        _write(self, out._data, name)
        self._ctx, self.requires_grad = out._ctx, out.requires_grad
        if self._ctx is not None:  # the node's output is this tensor, at its version now
            self._ctx.out_version = self._version
        return self

    # -- arithmetic -----------------------------------------------------------------------
    def add_(self, other, *, alpha=1):
        return self._update("add_", lambda a, b: _ops.add(a, b, alpha=alpha), other)

    def sub_(self, other, *, alpha=1):
        return self._update("sub_", lambda a, b: _ops.sub(a, b, alpha=alpha), other)

    def mul_(self, other):
        return self._update("mul_", _ops.mul, other)

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            return self._update(
                "div_", lambda a, b: _ops.div(a, b, rounding_mode=rounding_mode), other
            )
        return self._update("div_", _ops.div, other)

    def pow_(self, exponent):
        return self._update("pow_", _ops.pow, exponent)

    def neg_(self):
        return self._update("neg_", _ops.neg)

    def abs_(self):
        return self._update("abs_", _ops.abs)

    def exp_(self):
        return self._update("exp_", _ops.exp)

    def log_(self):
        return self._update("log_", _ops.log)

    def sqrt_(self):
        return self._update("sqrt_", _ops.sqrt)

    def tanh_(self):
        return self._update("tanh_", _ops.tanh)

    def sigmoid_(self):
        return self._update("sigmoid_", _ops.sigmoid)

    def relu_(self):
        return self._update("relu_", _ops.relu)

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        return self._update("clamp_", lambda a: _ops.clamp(a, min, max))

    clip_ = clamp_

    def sign_(self):
        return self._update("sign_", _ops.sign)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._update("addcmul_", lambda a, b, c: a + value * b * c, tensor1, tensor2)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._update("addcdiv_", lambda a, b, c: a + value * b / c, tensor1, tensor2)

    def lerp_(self, end, weight):
        return self._update("lerp_", lambda a, b: a + weight * (b - a), end)

    # -- overwriting ----------------------------------------------------------------------
    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return self._update("fill_", _replace, value)

    def copy_(self, src, non_blocking: bool = False):
        from .tensor import Tensor

        if not isinstance(src, Tensor):
            src = Tensor._wrap(np.asarray(src))
        return self._update("copy_", _replace, src)

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
        rng = generator or _random.default_generator()
        return self._update("uniform_", _replace, _sample(rng.uniform(a, b, self.shape)))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
        rng = generator or _random.default_generator()
        return self._update("normal_", _replace, _sample(rng.normal(mean, std, self.shape)))

    def random_(self, low: int = 0, high: int | None = None, *, generator=None):
        rng = generator or _random.default_generator()
        if high is None:
            low, high = 0, low if low else 2**24
        return self._update("random_", _replace, _sample(rng.integers(low, high, self.shape)))

    # -- Python's augmented assignment --------------------------------------------------
    # ``w -= lr * w.grad`` under ``no_grad`` updates ``w`` in place, as in PyTorch. Without
    # these, Python would rebind ``w`` to a new tensor that no longer requires grad, and the
    # next step would silently train nothing. Inside a graph (``c += 1`` on an intermediate)
    # the op is recorded and the name rebound to its result: the same gradients as PyTorch's
    # in-place op, and tensors that used the old value keep it.
    def _augmented(self, op, other, symbol: str):
        from .tensor import Tensor

        if self.requires_grad and _ag.mode.grad_enabled:
            if self._ctx is None:
                raise RuntimeError(
                    f"in-place '{symbol}=' on a leaf tensor that requires grad: update "
                    f"weights under bp.no_grad(), or write x = x {symbol} y"
                )
            return op(self, other)
        if _ag.mode.grad_enabled and isinstance(other, Tensor) and other.requires_grad:
            return op(self, other)
        _write(self, op(self, other)._data, f"'{symbol}='")
        return self

    def __iadd__(self, other):
        return self._augmented(_ops.add, other, "+")

    def __isub__(self, other):
        return self._augmented(_ops.sub, other, "-")

    def __imul__(self, other):
        return self._augmented(_ops.mul, other, "*")

    def __itruediv__(self, other):
        return self._augmented(_ops.div, other, "/")

    # -- assignment by index ------------------------------------------------------------
    def __setitem__(self, index, value) -> None:
        from .tensor import Tensor

        if self.requires_grad and _ag.mode.grad_enabled:
            raise RuntimeError(
                "setitem: in-place assignment to a tensor that requires grad would corrupt "
                "its graph; do it under bp.no_grad() or on .data"
            )
        from .ops.shape import torch_index_steps

        *views, last = torch_index_steps(index)
        target = self._data
        for step in views:  # basic indices: views of the array
            target = target[step]
        target[last] = value._data if isinstance(value, Tensor) else value
        self._bump()


def _replace(a, value):
    """An op whose result is ``value`` (broadcast to ``a``), with zero gradient to ``a``."""
    from .tensor import Tensor

    keep = np.zeros(a.shape, dtype=bool)
    if isinstance(value, Tensor):
        return _ops.where(
            Tensor._wrap(keep), a, value.to(a.dtype) if value.dtype != a.dtype else value
        )
    return _ops.where(Tensor._wrap(keep), a, value)


def _sample(arr):
    from .tensor import Tensor

    return Tensor._wrap(np.asarray(arr))


def _write(t, arr, name: str) -> None:
    """Store ``arr`` into ``t``'s array in place (views of it see the change) and bump its
    version, refusing what PyTorch refuses: a float result into an integer tensor, or a
    shape that does not broadcast to the tensor's."""
    dst = t._data
    if arr.dtype != dst.dtype and not _dtypes.can_cast(arr.dtype, dst.dtype):
        raise RuntimeError(
            f"{name}: result type {arr.dtype} can't be cast to the desired output type "
            f"{dst.dtype} (the tensor's dtype)"
        )
    if arr.shape != dst.shape:
        try:
            ok = np.broadcast_shapes(arr.shape, dst.shape) == dst.shape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(
                f"{name}: output with shape {tuple(dst.shape)} doesn't match the broadcast "
                f"shape {tuple(np.broadcast_shapes(arr.shape, dst.shape)) if ok else arr.shape}"
            )
    if not dst.flags.writeable:
        raise RuntimeError(f"{name}: the tensor's memory is read-only (an expanded view?)")
    dst[...] = arr
    t._bump()
