"""Tensor: an N-d array with a gradient, and the record of the op that made it.

>>> import backprop as bp
>>> w = bp.tensor([[1.0, 2.0]], requires_grad=True, name="w")
>>> x = bp.tensor([[3.0], [4.0]])
>>> loss = (w @ x).sum()
>>> loss.backward()
>>> w.grad
tensor([[3., 4.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend
from . import random as _random

float16 = np.float16
float32 = np.float32
float64 = np.float64
int32 = np.int32
int64 = np.int64
bool_ = np.bool_

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """The dtype that Python floats and lists of floats become (float32 unless changed)."""
    global _default_dtype
    d = np.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_dtype = d


def get_default_dtype() -> np.dtype:
    return _default_dtype


def _resolve_dtype(dtype) -> np.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, str):
        try:
            return np.dtype(dtype.replace("torch.", ""))
        except TypeError:
            raise TypeError(f"unknown dtype {dtype!r}") from None
    return np.dtype(dtype)


def _to_array(data: Any, dtype) -> Any:
    """PyTorch's rules: NumPy arrays keep their dtype; Python floats become the default dtype.

    Arrays are copied, as ``torch.tensor`` does: a tensor that shared the caller's array would
    change it behind the caller's back at the first in-place update (an optimizer step).
    """
    dt = _resolve_dtype(dtype)
    if isinstance(data, Tensor):
        data = data._data
    if backend.is_array(data):
        _check_numeric(data.dtype, data)
        return data.copy() if dt is None or data.dtype == dt else data.astype(dt)
    if isinstance(data, np.generic):
        _check_numeric(data.dtype, data)
        return np.asarray(data, dtype=dt)
    if isinstance(data, (str, bytes)):
        _check_numeric(np.dtype("U1"), data)
    arr = np.asarray(data)
    _check_numeric(arr.dtype, data)
    if dt is not None:
        return arr.astype(dt, copy=False)
    if arr.dtype == np.float64 or arr.dtype.kind == "f":
        return arr.astype(_default_dtype, copy=False)
    return arr


def _check_numeric(dtype, data: Any) -> None:
    # PyTorch has no string or object tensors: 'abc' and object arrays are TypeErrors there.
    if np.dtype(dtype).kind in "OUSVM":
        what = repr(data) if isinstance(data, (str, bytes)) else f"{np.dtype(dtype)} values"
        raise TypeError(
            f"tensor: cannot make a tensor from {what}: tensors hold numbers "
            "(bool, integers, floats, complex)"
        )


class Tensor:
    """An N-d array (``data``), its gradient (``grad``) and the op that produced it (``_ctx``).

    ``grad`` is a tensor of the tensor's shape (or None until a backward pass reaches it), and
    ``data`` the same values cut from the graph; both share memory with the tensor, so
    ``p.grad.zero_()`` and ``p.data.add_(...)`` work as in PyTorch.
    A tensor made by an op on tensors that require grad requires grad too; ``backward()``
    fills the ``grad`` of the leaves (tensors made by the user) and of tensors that called
    ``retain_grad()``.
    """

    # ``_data`` is the array and ``_grad`` its gradient array: what the engine, the ops and the
    # optimizers read. ``data`` and ``grad`` give them to users as tensors, as PyTorch does.
    __slots__ = (
        "_data",
        "_grad",
        "_grad_view",
        "requires_grad",
        "_ctx",
        "name",
        "_retain",
        "__weakref__",
    )
    __array_priority__ = 1000  # NumPy defers `ndarray * Tensor` to Tensor.__rmul__

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None, name: str | None = None):
        self._data = _to_array(data, dtype)
        self._grad = None
        self._grad_view = None
        self._ctx = None
        self.name = name
        self._retain = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- data and grad as tensors (PyTorch's contract) ---------------------------------------
    @property
    def data(self) -> Tensor:
        """The values as a tensor cut from the graph, sharing memory (``p.data.add_(...)``)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value) -> None:
        arr = value._data if isinstance(value, Tensor) else _to_array(value, None)
        self._data = arr

    @property
    def grad(self) -> Tensor | None:
        """The gradient as a tensor sharing memory with the one backward accumulates into."""
        g = self._grad
        if g is None:
            return None
        view = self._grad_view  # the same tensor object while the array is the same
        if view is None or view._data is not g:
            view = self._grad_view = Tensor._wrap(g)
        return view

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            self._grad = None
            return
        if not isinstance(value, Tensor):
            raise TypeError(
                f"assigned grad expected to be a Tensor or None but got {type(value).__name__}"
            )
        g = value._data
        if g.shape != self._data.shape:
            raise RuntimeError(
                f"assigned grad has shape {tuple(g.shape)} but the tensor has shape "
                f"{tuple(self._data.shape)}"
            )
        self._grad = g

    # -- identity -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> str:
        return backend.device_of(self._data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        """The op node that produced this tensor (None for leaves), as in PyTorch."""
        return self._ctx

    def size(self, dim: int | None = None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # -- conversion -----------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory on the CPU, as in PyTorch)."""
        return backend.to_numpy(self._data)

    def __array__(self, dtype=None, copy=None):
        a = backend.to_numpy(self._data)
        return a if dtype is None else a.astype(dtype)

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise ValueError(
                f"item: only a tensor with one element can be converted to a Python number, "
                f"this one has shape {tuple(self.shape)}"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self._data).tolist()

    def __abs__(self) -> Tensor:
        return self.abs()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor of shape {tuple(self.shape)} is ambiguous; "
                f"use .any() or .all()"
            )
        return bool(self.item())

    def __repr__(self) -> str:
        body = np.array2string(
            backend.to_numpy(self._data), separator=", ", prefix="tensor(", precision=4
        )
        extra = []
        if self._data.dtype != _default_dtype and self._data.dtype.kind in "fc":
            extra.append(f"dtype={self._data.dtype}")
        if self.name:
            extra.append(f"name={self.name!r}")
        if self._ctx is not None:
            extra.append(f"grad_fn=<{self._ctx.name}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # -- autograd -------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"requires_grad: only tensors of floating-point dtype can require gradients, "
                f"this one is {self._data.dtype} (a derivative needs real-valued inputs; "
                f"convert with .float() or dtype=float32 first)"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError(
                "requires_grad_: cannot turn off gradients of a non-leaf tensor; use .detach()"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf in its graph.

        ``grad`` is needed when the tensor is not a scalar (the upstream gradient). Gradients
        accumulate into ``.grad`` across calls; call ``zero_grad()`` between steps. The graph's
        saved buffers are freed unless ``retain_graph=True``.
        """
        _autograd.backward(self, grad, retain_graph)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` once per backward pass, as soon as every gradient contribution
        to this leaf has been accumulated into its ``.grad`` (before the rest of the pass
        ends); returns a handle whose ``remove()`` unregisters it. PyTorch's hook: data
        parallel training starts sending a layer's gradient from it.

        >>> import backprop as bp
        >>> w = bp.tensor([1.0, 2.0], requires_grad=True)
        >>> h = w.register_post_accumulate_grad_hook(lambda t: print("ready", t.grad))
        >>> (w * w).sum().backward()
        ready tensor([2., 4.])
        >>> h.remove()
        """
        return _autograd.register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        self._retain = True
        return self

    def detach(self) -> Tensor:
        """The same values (shared memory) cut from the graph."""
        return Tensor._wrap(self._data)

    def zero_grad(self) -> None:
        self._grad = None

    @classmethod
    def _wrap(cls, data, requires_grad: bool = False) -> Tensor:
        """Make a tensor around an existing array without copying or dtype rules."""
        t = cls.__new__(cls)
        t._data = data
        t._grad = None
        t._grad_view = None
        t.requires_grad = requires_grad
        t._ctx = None
        t.name = None
        t._retain = False
        return t

    # -- dtype and device -----------------------------------------------------------------
    def to(self, target) -> Tensor:
        """``t.to(bp.float64)``, ``t.to("float64")``, ``t.to("cuda")`` or ``t.to("cpu")``."""
        if isinstance(target, str) and target in ("cpu", "cuda", "gpu"):
            return _ops.ToDevice.apply((self,), target)
        return self.type(target)

    def type(self, dtype) -> Tensor:
        dt = _resolve_dtype(dtype)
        if dt == self._data.dtype:
            return self
        return _ops.Cast.apply((self,), dt)

    def float(self) -> Tensor:
        return self.type(np.float32)

    def double(self) -> Tensor:
        return self.type(np.float64)

    def long(self) -> Tensor:
        return self.type(np.int64)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    # -- in-place updates of data (optimizers, initialisation) ----------------------------
    def __setitem__(self, index, value) -> None:
        if self.requires_grad and _autograd.mode.grad_enabled:
            raise RuntimeError(
                "setitem: in-place assignment to a tensor that requires grad would corrupt "
                "its graph; do it under bp.no_grad() or on .data"
            )
        index = index._data if isinstance(index, Tensor) else index
        self._data[index] = value._data if isinstance(value, Tensor) else value

    # ``w -= lr * w.grad`` under ``no_grad`` updates ``w`` in place, as in PyTorch. Without
    # these, Python would rebind ``w`` to a new tensor that no longer requires grad, and the
    # next step would silently train nothing. Inside a graph (``c += 1`` on an intermediate)
    # the op is recorded and the name rebound to its result: the same gradients as PyTorch's
    # in-place op, without rewriting a buffer that a rule may have saved.
    def _inplace(self, ufunc, op, other, symbol: str) -> Tensor:
        if self.requires_grad and _autograd.mode.grad_enabled:
            if self._ctx is None:
                raise RuntimeError(
                    f"in-place '{symbol}=' on a leaf tensor that requires grad: update "
                    f"weights under bp.no_grad(), or write x = x {symbol} y"
                )
            return op(self, other)
        other = other._data if isinstance(other, Tensor) else other
        ufunc(self._data, other, out=self._data, casting="same_kind")
        return self

    def __iadd__(self, other) -> Tensor:
        return self._inplace(np.add, _ops.add, other, "+")

    def __isub__(self, other) -> Tensor:
        return self._inplace(np.subtract, _ops.sub, other, "-")

    def __imul__(self, other) -> Tensor:
        return self._inplace(np.multiply, _ops.mul, other, "*")

    def __itruediv__(self, other) -> Tensor:
        return self._inplace(np.true_divide, _ops.div, other, "/")

    def zero_(self) -> Tensor:
        self._data[...] = 0
        return self

    def fill_(self, value) -> Tensor:
        self._data[...] = value
        return self

    def copy_(self, src) -> Tensor:
        self._data[...] = src._data if isinstance(src, Tensor) else src
        return self

    # Composites defined in nn.functional (imported when called: nn sits above tensor).
    def softmax(self, dim: int | None = None, dtype=None) -> Tensor:
        """``bp.nn.functional.softmax(self, dim)``."""
        from .nn.functional import softmax

        return softmax(self, dim, dtype=dtype)

    def log_softmax(self, dim: int | None = None, dtype=None) -> Tensor:
        """``bp.nn.functional.log_softmax(self, dim)``."""
        from .nn.functional import log_softmax

        return log_softmax(self, dim, dtype=dtype)


def tensor(data: Any, requires_grad: bool = False, dtype=None, name: str | None = None) -> Tensor:
    """Make a tensor: Python floats and lists become float32, NumPy arrays keep their dtype.

    >>> import backprop as bp
    >>> bp.tensor([1.0, 2.0]).dtype
    dtype('float32')
    >>> import numpy as np
    >>> bp.tensor(np.zeros(2)).dtype
    dtype('float64')
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def _factory(arr, requires_grad: bool, name: str | None) -> Tensor:
    t = Tensor._wrap(arr)
    t.name = name
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def zeros(*size, dtype=None, requires_grad: bool = False, name=None) -> Tensor:
    return _factory(
        np.zeros(_shape(size), _resolve_dtype(dtype) or _default_dtype), requires_grad, name
    )


def ones(*size, dtype=None, requires_grad: bool = False, name=None) -> Tensor:
    return _factory(
        np.ones(_shape(size), _resolve_dtype(dtype) or _default_dtype), requires_grad, name
    )


def full(size, fill_value, dtype=None, requires_grad: bool = False, name=None) -> Tensor:
    return _factory(
        np.full(tuple(size), fill_value, _resolve_dtype(dtype) or _default_dtype),
        requires_grad,
        name,
    )


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _factory(np.zeros_like(t._data, dtype=_resolve_dtype(dtype)), requires_grad, None)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _factory(np.ones_like(t._data, dtype=_resolve_dtype(dtype)), requires_grad, None)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _factory(
        np.eye(n, m, dtype=_resolve_dtype(dtype) or _default_dtype), requires_grad, None
    )


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    arr = np.arange(start, end, step) if end is not None else np.arange(start)
    return _factory(
        _to_array(arr if dtype is None else arr.astype(_resolve_dtype(dtype)), None),
        requires_grad,
        None,
    )


def randn(*size, dtype=None, requires_grad: bool = False, generator=None, name=None) -> Tensor:
    """Standard-normal samples from backprop's generator (``bp.manual_seed`` seeds it)."""
    rng = generator or _random.default_generator()
    dt = _resolve_dtype(dtype) or _default_dtype
    return _factory(rng.standard_normal(_shape(size)).astype(dt), requires_grad, name)


def rand(*size, dtype=None, requires_grad: bool = False, generator=None, name=None) -> Tensor:
    """Uniform samples on [0, 1) from backprop's generator."""
    rng = generator or _random.default_generator()
    dt = _resolve_dtype(dtype) or _default_dtype
    return _factory(rng.random(_shape(size)).astype(dt), requires_grad, name)


from . import autograd as _autograd  # noqa: E402
from . import ops as _ops  # noqa: E402  (ops attaches the operators to Tensor)
