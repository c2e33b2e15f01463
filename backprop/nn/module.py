"""Module and Parameter: PyTorch's way of building networks out of parts.

A ``Module`` registers every ``Parameter`` and sub-``Module`` assigned to one of its attributes,
so ``parameters()``, ``named_parameters()`` and ``state_dict()`` find them with the same dotted
names PyTorch uses (``"0.weight"`` for the first layer of a ``Sequential``). The values are kept
as ordinary attributes as well, so ``self.weight`` in a forward pass is a plain attribute read.

>>> import backprop as bp
>>> class Net(bp.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc = bp.nn.Linear(3, 2)
...     def forward(self, x):
...         return self.fc(x)
>>> [(name, p.shape) for name, p in Net().named_parameters()]
[('fc.weight', (2, 3)), ('fc.bias', (2,))]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..backend import to_numpy
from ..tensor import Tensor, _resolve_dtype


class Parameter(Tensor):
    """A tensor that is a module's learnable weight: it requires grad and registers itself.

    >>> import backprop as bp
    >>> p = bp.nn.Parameter(bp.zeros(2))
    >>> p.requires_grad, p.shape
    (True, (2,))
    """

    def __init__(self, data: Any = None, requires_grad: bool = True):
        if data is None:
            data = np.zeros(0, dtype=np.float32)
        super().__init__(
            data._data if isinstance(data, Tensor) else data, requires_grad=requires_grad
        )

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _name_parameter(p: Parameter, dotted: str) -> None:
    """Give a parameter its ``named_parameters()`` name, so the explainer, the graph picture
    and error messages say ``0.weight`` rather than an automatic name. A name the user chose
    is kept."""
    if p.name is None or p.__dict__.get("_auto_name"):
        p.name = dotted
        p._auto_name = True


class StateDictError(KeyError, RuntimeError):
    """``load_state_dict(strict=True)`` found missing or unexpected keys (a RuntimeError, as
    PyTorch raises, and a KeyError)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StateDictShapeError(ValueError, RuntimeError):
    """A state dict entry whose shape differs from the model's (PyTorch's "size mismatch")."""


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers and networks: subclass it and define ``forward``.

    Calling a module calls ``forward``. ``training`` is True after construction; ``eval()``
    turns it off (Dropout then passes its input through) and ``train()`` back on.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- registration ---------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, (Parameter, Module)) and params is None:
            raise AttributeError(
                f"cannot assign {type(value).__name__} '{name}' before Module.__init__() call"
            )
        if params is not None:
            mods, bufs = self._modules, self._buffers
            if isinstance(value, Parameter):
                mods.pop(name, None)
                bufs.pop(name, None)
                params[name] = value
                _name_parameter(value, name)
            elif isinstance(value, Module):
                params.pop(name, None)
                bufs.pop(name, None)
                mods[name] = value
                for sub, p in value.named_parameters():
                    _name_parameter(p, f"{name}.{sub}")
            elif name in params or name in mods:
                if value is not None:
                    kind = "Parameter" if name in params else "Module"
                    raise TypeError(
                        f"cannot assign {type(value).__name__} as '{name}' "
                        f"({kind} or None expected)"
                    )
                (params if name in params else mods)[name] = None
            elif name in bufs:
                if value is not None and not isinstance(value, Tensor):
                    raise TypeError(
                        f"cannot assign {type(value).__name__} as buffer '{name}' "
                        "(Tensor or None expected)"
                    )
                bufs[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (None keeps the slot, as for ``bias=False``)."""
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A non-learnable tensor that is part of the module's state: moved by ``to()``, and
        saved in ``state_dict`` unless ``persistent=False`` (BatchNorm's running statistics).

        >>> import backprop as bp
        >>> m = bp.nn.Module()
        >>> m.register_buffer("steps", bp.zeros(1))
        >>> [name for name, _ in m.named_buffers()], list(m.state_dict())
        (['steps'], ['steps'])
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"buffer name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign {type(tensor).__name__} object to buffer '{name}' "
                "(Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the child ``name`` (what ``self.name = module`` does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module
        object.__setattr__(self, name, module)
        if module is not None:
            for sub, p in module.named_parameters():
                _name_parameter(p, f"{name}.{sub}")

    def register_module(self, name: str, module: Module | None) -> None:
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The module at the dotted path ``target`` (``""`` is this module)."""
        mod = self
        for part in target.split(".") if target else []:
            child = mod._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule '{part}'")
            mod = child
        return mod

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter '{name}'")
        return mod._parameters[name]

    # -- traversal ------------------------------------------------------------------------
    def named_modules(
        self, memo=None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every module below it, with dotted names (itself is ``""``)."""
        if isinstance(memo, str):  # named_modules("prefix"), an older habit
            memo, prefix = None, memo
        stack = [(prefix, self)]
        seen: set[int] = set(id(m) for m in memo) if memo else set()
        while stack:
            name, m = stack.pop()
            if id(m) in seen and remove_duplicate:
                continue
            seen.add(id(m))
            yield name, m
            children = [
                (f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for k, c in self._modules.items():
            if c is not None:
                yield k, c

    def children(self) -> Iterator[Module]:
        for _, c in self.named_children():
            yield c

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs, each shared parameter once, in registration order."""
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, p in m._parameters.items():
                if p is None or (id(p) in seen and remove_duplicate):
                    continue
                seen.add(id(p))
                yield (f"{mname}.{k}" if mname else k), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """``(name, buffer)`` pairs (running statistics and the like), dotted as in
        ``state_dict``."""
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, b in m._buffers.items():
                if b is None or (id(b) in seen and remove_duplicate):
                    continue
                seen.add(id(b))
                yield (f"{mname}.{k}" if mname else k), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn) -> Module:
        """Call ``fn(m)`` on every submodule, then on this one (e.g. to initialise weights)."""
        for c in self.children():
            c.apply(fn)
        fn(self)
        return self

    # -- state ----------------------------------------------------------------------------
    def _state_items(self):
        """``(dotted name, tensor)`` for each parameter and persistent buffer."""
        for mname, m in self.named_modules():
            for k, t in m._parameters.items():
                if t is not None:
                    yield (f"{mname}.{k}" if mname else k), t
            for k, t in m._buffers.items():
                if t is not None and k not in m._non_persistent_buffers_set:
                    yield (f"{mname}.{k}" if mname else k), t

    def state_dict(
        self, *args, destination=None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """Parameters and buffers by dotted name as tensors detached from the graph and sharing
        memory with the module's (as PyTorch's; ``keep_vars=True`` gives the parameters
        themselves). The keys and shapes are PyTorch's, so weights move between the two:

        >>> import backprop as bp
        >>> sorted(bp.nn.Sequential(bp.nn.Linear(4, 3), bp.nn.ReLU()).state_dict())
        ['0.bias', '0.weight']
        """
        if args:  # PyTorch's old positional form: state_dict(destination, prefix, keep_vars)
            destination = args[0]
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        out = OrderedDict() if destination is None else destination
        for name, t in self._state_items():
            out[prefix + name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(
        self, state_dict, strict: bool = True, assign: bool = False
    ) -> IncompatibleKeys:
        """Copy arrays (NumPy, backprop or torch tensors) into the parameters, in place.

        With ``strict`` every key must match and every shape must agree.
        """
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise StateDictError(
                f"load_state_dict: missing keys {missing}, unexpected keys {unexpected} "
                f"for {type(self).__name__}"
            )
        for k, t in own.items():
            if k not in state_dict:
                continue
            value = state_dict[k]
            if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            arr = to_numpy(value._data if isinstance(value, Tensor) else np.asarray(value))
            if arr.shape != t._data.shape:
                raise StateDictShapeError(
                    f"load_state_dict: '{k}' has shape {tuple(arr.shape)} in the state dict "
                    f"but {tuple(t._data.shape)} in the model"
                )
            t._data[...] = arr
        return IncompatibleKeys(missing, unexpected)

    # -- modes, gradients, dtype ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode on (or off with ``mode=False``) here and in every child, each
        through its own ``train`` (so a subclass's override runs)."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for c in self.children():
            c.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients (set them to None, as PyTorch does by default)."""
        for p in self.parameters():
            if set_to_none:
                p._grad = None
            elif p._grad is not None:
                p._grad[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def to(self, *args, device=None, dtype=None, non_blocking=False) -> Module:
        """Move and convert every parameter and buffer in place, as PyTorch's ``Module.to``:
        ``to("cpu")``, ``to(bp.device("cuda"))``, ``to(bp.float64)``, ``to(device, dtype)``,
        ``to(tensor)``. Only floating tensors change dtype."""
        from ..device import device as _device
        from ..device import is_device

        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a._data.dtype
            elif is_device(a) or (isinstance(a, int) and not isinstance(a, bool)):
                device = a
            elif a is not None:
                dtype = a
        dt = _resolve_dtype(dtype)
        dev = None if device is None else _device(device).type
        for _, m in self.named_modules():
            for registry in (m._parameters, m._buffers):
                for t in registry.values():
                    if t is None:
                        continue
                    if dev is not None and backend.device_of(t._data) != dev:
                        t._data = backend.to_device(t._data, dev)
                        t._grad = None
                    if dt is not None and t._data.dtype.kind == "f" and t._data.dtype != dt:
                        t._data = t._data.astype(dt)
                        t._grad = None
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device=None) -> Module:
        return self.to("cuda")

    def half(self) -> Module:
        return self.to(np.float16)

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # -- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({k}): " + repr(c).replace("\n", "\n  ") for k, c in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
