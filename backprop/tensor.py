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
from . import dtypes as _dtypes
from .device import device, is_device
from .inplace import InplaceMixin

# dtypes as PyTorch names them (NumPy's scalar types: t.dtype == bp.float32 holds, and a
# tensor's dtype is a NumPy dtype, so NumPy code reading it keeps working)
float16 = half = np.float16
float32 = np.float32
float64 = double = np.float64
int8 = np.int8
int16 = short = np.int16
int32 = np.int32
int64 = long = np.int64
uint8 = np.uint8
bool_ = np.bool_
complex64 = cfloat = np.complex64
complex128 = cdouble = np.complex128

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """The dtype that Python floats and lists of floats become (float32 unless changed)."""
    global _default_dtype
    d = np.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_dtype = d
    _dtypes._default[0] = d


def get_default_dtype() -> np.dtype:
    return _default_dtype


def _resolve_dtype(dtype) -> np.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, str):
        name = dtype.replace("torch.", "")
        name = _DTYPE_NAMES.get(name, name)
        try:
            return np.dtype(name)
        except TypeError:
            raise TypeError(f"unknown dtype {dtype!r}") from None
    if dtype is float:
        return _default_dtype
    return np.dtype(dtype)


_DTYPE_NAMES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "bool": "bool",
    "cfloat": "complex64",
    "cdouble": "complex128",
}


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
    if isinstance(data, (list, tuple)) and data and any(isinstance(d, Tensor) for d in data):
        data = [d.tolist() if isinstance(d, Tensor) else d for d in data]
    arr = np.asarray(data)
    _check_numeric(arr.dtype, data)
    if dt is not None:
        return arr.astype(dt, copy=False)
    if arr.dtype.kind == "f":
        return arr.astype(_default_dtype, copy=False)
    if arr.dtype.kind == "c" and _default_dtype == np.float32:
        return arr.astype(np.complex64, copy=False)
    return arr


def _check_numeric(dtype, data: Any) -> None:
    # PyTorch has no string or object tensors: 'abc' and object arrays are TypeErrors there.
    if np.dtype(dtype).kind in "OUSVM":
        what = repr(data) if isinstance(data, (str, bytes)) else f"{np.dtype(dtype)} values"
        raise TypeError(
            f"tensor: cannot make a tensor from {what}: tensors hold numbers "
            "(bool, integers, floats, complex)"
        )


def _torch_float_formatter(arr):
    """NumPy formatter for floats printed as PyTorch prints them: ``1.`` when every value is
    a whole number, else 4 decimals (``1.5000``), or ``1.0000e+05`` when the finite values span
    more than 1000x, exceed 1e8 or go below 1e-4; all right-aligned to one width."""
    if arr.dtype.kind != "f" or arr.size == 0:
        return None
    finite = np.abs(arr[np.isfinite(arr)]).astype(np.float64)
    nonzero = finite[finite != 0]
    if finite.size and np.all(np.ceil(finite) == finite):  # whole numbers
        sci = nonzero.size and (nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8)

        def fmt(v):
            return f"{v:.4e}" if sci else f"{v:.0f}."
    else:
        sci = nonzero.size and (
            nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8 or nonzero.min() < 1e-4
        )

        def fmt(v):
            return f"{v:.4e}" if sci else f"{v:.4f}"

    def one(v):
        return fmt(v) if np.isfinite(v) else str(float(v))

    width = max(len(one(v)) for v in arr.reshape(-1)[:2000])
    return {"float_kind": lambda v: one(v).rjust(width)}


class Tensor(InplaceMixin):
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
        "_vc",
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
        self._vc = None  # the version counter: None (version 0), or a list shared by views
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- data and grad as tensors (PyTorch's contract) ---------------------------------------
    @property
    def data(self) -> Tensor:
        """The values as a tensor cut from the graph, sharing memory (``p.data.add_(...)``)."""
        return self._share()

    def _share(self) -> Tensor:
        """A tensor on the same array with the same version counter (in-place changes made
        through it count as changes of this tensor)."""
        t = Tensor._wrap(self._data)
        if self._vc is None:
            self._vc = [0]
        t._vc = self._vc
        return t

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's values went through (PyTorch's counter)."""
        return 0 if self._vc is None else self._vc[0]

    def _bump(self) -> None:
        _autograd.mode.last_write = (
            _autograd._next_seq()
        )  # backward checks the nodes made before this
        if self._vc is None:
            self._vc = [1]
        else:
            self._vc[0] += 1

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
    def device(self) -> device:
        return device(backend.device_of(self._data))

    @property
    def is_cuda(self) -> bool:
        return backend.device_of(self._data) == "cuda"

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return int(self._data.itemsize)

    @property
    def itemsize(self) -> int:
        return int(self._data.itemsize)

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

    def nelement(self) -> int:
        return int(self._data.size)

    def ndimension(self) -> int:
        return self._data.ndim

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    # -- memory layout: a NumPy array's strides, in elements as PyTorch counts them ----------
    def stride(self, dim: int | None = None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[dim]

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def contiguous(self, memory_format=None) -> Tensor:
        """This tensor if its values are laid out in row-major order, else a copy that is
        (recorded in the graph, as PyTorch's)."""
        return self if self._data.flags.c_contiguous else self.clone()

    def data_ptr(self) -> int:
        return int(self._data.__array_interface__["data"][0])

    def pin_memory(self) -> Tensor:  # nothing to pin on the CPU: PyTorch's no-op there
        return self

    def share_memory_(self) -> Tensor:
        return self

    # -- new tensors with this one's dtype and device (PyTorch's new_* methods) --------------
    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        arr = data._data.copy() if isinstance(data, Tensor) else data
        return tensor(arr, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return _factories.zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return _factories.ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return _factories.empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(
        self, size, fill_value, dtype=None, device=None, requires_grad: bool = False
    ) -> Tensor:
        return _factories.full(
            size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad
        )

    def where(self, condition, other) -> Tensor:
        """``self`` where ``condition`` holds, else ``other`` (PyTorch's ``x.where(c, y)``)."""
        return _ops.where(condition, self, other)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dims swapped (a batch of matrices transposed)."""
        return self.transpose(-2, -1)

    @property
    def mH(self) -> Tensor:  # noqa: N802 - PyTorch's name
        return self.transpose(-2, -1)

    @property
    def H(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The conjugate transpose of a matrix (the transpose: real dtypes only here)."""
        if self._data.ndim != 2:
            raise RuntimeError(
                f"tensor.H is only supported on matrices (2-D tensors), got {self._data.ndim}-D"
            )
        return self.transpose(0, 1)

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

    def __index__(self) -> int:
        if self._data.size != 1 or self._data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's number, as in PyTorch; other tensors take
        no format spec (``f"{t}"`` is ``repr(t)``)."""
        if self._data.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return repr(self)

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
        arr = backend.to_numpy(self._data)
        body = np.array2string(
            arr,
            separator=", ",
            prefix="tensor(",
            precision=4,
            formatter=_torch_float_formatter(arr),
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

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever the gradient with respect to this tensor is computed
        (for a leaf: the sum over its edges, before it goes into ``.grad``); a tensor it
        returns replaces the gradient. Returns a handle whose ``remove()`` unregisters it.

        >>> import backprop as bp
        >>> x = bp.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([20., 40.])
        >>> h.remove()
        """
        return _autograd.register_hook(self, hook)

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        self._retain = True
        return self

    def detach(self) -> Tensor:
        """The same values (shared memory, shared version counter) cut from the graph."""
        return self._share()

    def detach_(self) -> Tensor:
        """Cut this tensor from its graph, in place (it becomes a leaf)."""
        self._ctx = None
        self.requires_grad = False
        return self

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
        t._vc = None
        return t

    # -- dtype and device -----------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, **kw) -> Tensor:
        """``t.to(bp.float64)``, ``t.to("cuda")``, ``t.to(device, dtype)``, ``t.to(other)``
        (other's device and dtype), as in PyTorch; the tensor itself when nothing changes."""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a._data.dtype
            elif is_device(a) or (isinstance(a, int) and not isinstance(a, bool)):
                device = a
            elif a is not None:
                dtype = a
        t = self
        if device is not None:
            target = _device_type(device)
            if target != backend.device_of(t._data):
                t = _ops.ToDevice.apply((t,), target)
        if dtype is not None:
            t = t.type(dtype)
        if copy and t is self:
            t = _ops.clone(t)
        return t

    def type(self, dtype=None):
        if dtype is None:
            return str(self._data.dtype)
        dt = _resolve_dtype(dtype)
        if dt == self._data.dtype:
            return self
        return _ops.Cast.apply((self,), dt)

    def type_as(self, other: Tensor) -> Tensor:
        return self.type(other._data.dtype)

    def float(self) -> Tensor:
        return self.type(np.float32)

    def double(self) -> Tensor:
        return self.type(np.float64)

    def half(self) -> Tensor:
        return self.type(np.float16)

    def long(self) -> Tensor:
        return self.type(np.int64)

    def int(self) -> Tensor:
        return self.type(np.int32)

    def short(self) -> Tensor:
        return self.type(np.int16)

    def bool(self) -> Tensor:
        return self.type(np.bool_)

    # Composites defined in nn.functional (imported when called: nn sits above tensor).
    def softmax(self, dim: int | None = None, dtype=None) -> Tensor:
        """``bp.nn.functional.softmax(self, dim)``."""
        from .nn.functional import softmax

        return softmax(self, dim, dtype=dtype)

    def log_softmax(self, dim: int | None = None, dtype=None) -> Tensor:
        """``bp.nn.functional.log_softmax(self, dim)``."""
        from .nn.functional import log_softmax

        return log_softmax(self, dim, dtype=dtype)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None) -> Tensor:
        return self.to("cuda")


def _device_type(d) -> str:
    return device(d).type


def tensor(
    data: Any, requires_grad: bool = False, dtype=None, name: str | None = None, *, device=None
) -> Tensor:
    """Make a tensor: Python floats and lists become float32, NumPy arrays keep their dtype.

    >>> import backprop as bp
    >>> bp.tensor([1.0, 2.0]).dtype
    dtype('float32')
    >>> import numpy as np
    >>> bp.tensor(np.zeros(2)).dtype
    dtype('float64')
    """
    t = Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)
    if device is not None and _device_type(device) != "cpu":
        t._data = backend.to_device(t._data, _device_type(device))
    return t


from . import autograd as _autograd  # noqa: E402
from . import factories as _factories  # noqa: E402
from . import inplace as _inplace  # noqa: E402
from . import ops as _ops  # noqa: E402  (ops attaches the operators to Tensor)

_inplace._ops, _inplace._ag = _ops, _autograd
