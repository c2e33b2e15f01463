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
from ..autograd import RemovableHandle
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


# Global hooks (``register_module_forward_hook`` and friends): lists of (hook, flags).
_global_forward_pre_hooks: list = []
_global_forward_hooks: list = []
_global_backward_hooks: list = []
_global_backward_pre_hooks: list = []
_global_hooked = [False]  # any global hook registered: the fast path checks this one flag


class _Hook:
    """A registered module hook: the callable and PyTorch's flags for it."""

    __slots__ = ("fn", "with_kwargs", "always_call")

    def __init__(self, fn, with_kwargs: bool = False, always_call: bool = False):
        self.fn, self.with_kwargs, self.always_call = fn, with_kwargs, always_call


class _HookHandle(RemovableHandle):
    """``remove()`` takes the hook out of its list and refreshes the owner's fast-path flag."""

    def __init__(self, hooks: list, hook, owner=None) -> None:
        super().__init__(hooks, hook)
        self._owner = owner

    def remove(self) -> None:
        super().remove()
        if self._owner is not None:
            self._owner._refresh_hooked()
        else:
            _refresh_global()


def _refresh_global() -> None:
    _global_hooked[0] = bool(
        _global_forward_pre_hooks
        or _global_forward_hooks
        or _global_backward_hooks
        or _global_backward_pre_hooks
    )


def _add(hooks: list, hook: _Hook, prepend: bool, owner) -> _HookHandle:
    if prepend:
        hooks.insert(0, hook)
    else:
        hooks.append(hook)
    if owner is None:
        _refresh_global()
    else:
        owner._refresh_hooked()
    return _HookHandle(hooks, hook, owner)


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """A forward pre-hook on every module (``hook(module, args)``), run before their own."""
    return _add(_global_forward_pre_hooks, _Hook(hook), False, None)


def register_module_forward_hook(
    hook, *, with_kwargs: bool = False, always_call: bool = False
) -> RemovableHandle:
    """A forward hook on every module (``hook(module, args, output)``), run before their own."""
    return _add(_global_forward_hooks, _Hook(hook, with_kwargs, always_call), False, None)


def register_module_full_backward_hook(hook) -> RemovableHandle:
    """A full backward hook on every module (``hook(module, grad_input, grad_output)``)."""
    return _add(_global_backward_hooks, _Hook(hook), False, None)


def register_module_full_backward_pre_hook(hook) -> RemovableHandle:
    """A full backward pre-hook on every module (``hook(module, grad_output)``)."""
    return _add(_global_backward_pre_hooks, _Hook(hook), False, None)


def _flatten_tensors(value) -> list:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _flatten_tensors(v)]
    return []


def _replace_tensors(value, it):
    if isinstance(value, Tensor):
        return next(it)
    if isinstance(value, (tuple, list)):
        out = [_replace_tensors(v, it) for v in value]
        return type(value)(*out) if hasattr(value, "_fields") else type(value)(out)
    return value


class _BackwardHooks:
    """PyTorch's ``BackwardHook`` built on ``Tensor.register_hook``: the module's tensor
    outputs and inputs pass through an identity node each; the outputs' gradients are
    gathered (then the backward pre-hooks run, and may replace them), then the inputs'
    (then the full backward hooks run with ``(grad_input, grad_output)``, and may replace
    ``grad_input``). With several outputs (or inputs) a replacement reaches the gradient
    that arrived last only, and the others unchanged (PyTorch replaces all of them)."""

    def __init__(self, module, hooks: list, pre_hooks: list):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.n_in = 0
        self.grad_inputs: list = []
        self.grad_outputs: tuple | None = None

    def setup_input(self, args: tuple) -> tuple:
        self.in_slots = []  # per positional arg: index among tracked inputs, or None
        out = []
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad:
                i = self.n_in
                self.n_in += 1
                a = a.reshape(a.shape)
                a.register_hook(self._input_hook(i))
                self.in_slots.append(i)
            else:
                self.in_slots.append(None)
            out.append(a)
        self.grad_inputs = [None] * self.n_in
        self.seen_in = 0
        return tuple(out)

    def setup_output(self, result):
        outs = _flatten_tensors(result)
        wrapped = []
        self.out_req = []
        for t in outs:
            if t.requires_grad:
                t = t.reshape(t.shape)
                self.out_req.append(True)
            else:
                self.out_req.append(False)
            wrapped.append(t)
        self.n_out = sum(self.out_req)
        self.outs_grad: list = [None] * len(outs)
        self.seen_out = 0
        for i, t in enumerate(wrapped):
            if self.out_req[i]:
                t.register_hook(self._output_hook(i))
        return _replace_tensors(result, iter(wrapped))

    def _output_hook(self, i):
        def hook(g):
            self.outs_grad[i] = g
            self.seen_out += 1
            if self.seen_out < self.n_out:
                return None
            self.seen_out = 0
            grads = tuple(self.outs_grad)
            for h in self.pre_hooks:
                new = h.fn(self.module, grads)
                if new is not None:
                    grads = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            self.grad_outputs = grads
            if self.n_in == 0:  # nothing to wait for: PyTorch calls the hooks now
                gi = tuple(None for _ in self.in_slots)
                for h in self.hooks:
                    h.fn(self.module, gi, grads)
            return grads[i]

        return hook

    def _input_hook(self, i):
        def hook(g):
            self.grad_inputs[i] = g
            self.seen_in += 1
            if self.seen_in < self.n_in:
                return None
            self.seen_in = 0
            gi = tuple(None if s is None else self.grad_inputs[s] for s in self.in_slots)
            for h in self.hooks:
                new = h.fn(self.module, gi, self.grad_outputs)
                if new is not None:
                    new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
                    if len(new) != len(gi):
                        raise RuntimeError(
                            f"backward hook {getattr(h.fn, '__name__', h.fn)!r} returned "
                            f"{len(new)} gradients; expected {len(gi)}"
                        )
                    gi = new
            k = self.in_slots.index(i)
            return gi[k]

        return hook


class Module:
    """Base class of layers and networks: subclass it and define ``forward``.

    Calling a module calls ``forward``. ``training`` is True after construction; ``eval()``
    turns it off (Dropout then passes its input through) and ``train()`` back on.
    """

    training: bool
    _hooked = False  # any hook on this module: __call__'s one check on the fast path

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        if self._hooked or _global_hooked[0]:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    # -- hooks ----------------------------------------------------------------------------
    def _hook_list(self, name: str) -> list:
        hooks = self.__dict__.get(name)
        if hooks is None:
            hooks = []
            object.__setattr__(self, name, hooks)
        return hooks

    def _refresh_hooked(self) -> None:
        d = self.__dict__
        object.__setattr__(
            self,
            "_hooked",
            any(
                d.get(k)
                for k in (
                    "_forward_pre_hooks",
                    "_forward_hooks",
                    "_backward_hooks",
                    "_backward_pre_hooks",
                )
            ),
        )

    def register_forward_pre_hook(
        self, hook, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """``hook(module, args)`` (or ``hook(module, args, kwargs)`` with ``with_kwargs``)
        before each ``forward``; a returned value replaces ``args`` (a non-tuple is wrapped),
        or ``(args, kwargs)`` with ``with_kwargs``.

        >>> import backprop as bp
        >>> m = bp.nn.Identity()
        >>> h = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
        >>> m(bp.tensor([1.0])).tolist()
        [2.0]
        >>> h.remove()
        """
        return _add(self._hook_list("_forward_pre_hooks"), _Hook(hook, with_kwargs), prepend, self)

    def register_forward_hook(
        self, hook, *, prepend: bool = False, with_kwargs: bool = False, always_call: bool = False
    ) -> RemovableHandle:
        """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) after each ``forward``; a returned value replaces the output.
        ``always_call`` runs it even when ``forward`` raises (with output None)."""
        return _add(
            self._hook_list("_forward_hooks"),
            _Hook(hook, with_kwargs, always_call),
            prepend,
            self,
        )

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output)`` when the gradients of the module's outputs are
        computed; returned gradients replace them."""
        return _add(self._hook_list("_backward_pre_hooks"), _Hook(hook), prepend, self)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` when the gradients of the module's
        positional tensor inputs are computed (None for inputs that need none); returned
        gradients replace ``grad_input``."""
        return _add(self._hook_list("_backward_hooks"), _Hook(hook), prepend, self)

    def register_backward_hook(self, hook) -> RemovableHandle:
        """PyTorch's deprecated form; here the same as ``register_full_backward_hook``."""
        return self.register_full_backward_hook(hook)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        d = self.__dict__
        for h in _global_forward_pre_hooks + d.get("_forward_pre_hooks", []):
            if h.with_kwargs:
                res = h.fn(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of "
                            f"(new_args, new_kwargs), but got {res}."
                        )
                    args, kwargs = res
            else:
                res = h.fn(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        bw_hooks = _global_backward_hooks + d.get("_backward_hooks", [])
        bw_pre = _global_backward_pre_hooks + d.get("_backward_pre_hooks", [])
        bw = None
        from ..autograd import is_grad_enabled

        if (bw_hooks or bw_pre) and is_grad_enabled():
            bw = _BackwardHooks(self, bw_hooks, bw_pre)
            args = bw.setup_input(args)
        fwd_hooks = _global_forward_hooks + d.get("_forward_hooks", [])
        called: set[int] = set()
        result = None
        try:
            result = self.forward(*args, **kwargs)
            for h in fwd_hooks:
                called.add(id(h))
                if h.with_kwargs:
                    res = h.fn(self, args, kwargs, result)
                else:
                    res = h.fn(self, args, result)
                if res is not None:
                    result = res
        except Exception:
            import warnings

            for h in fwd_hooks:
                if h.always_call and id(h) not in called:
                    try:
                        if h.with_kwargs:
                            h.fn(self, args, kwargs, result)
                        else:
                            h.fn(self, args, result)
                    except Exception as e:
                        warnings.warn(
                            "global module forward hook with ``always_call=True`` raised an "
                            f"exception that was silenced as another error was raised in "
                            f"forward: {e!s}",
                            stacklevel=2,
                        )
            raise
        if bw is not None:
            result = bw.setup_output(result)
        return result

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

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Replace (or, without ``strict``, add) the module at the dotted path ``target``."""
        if not target:
            raise ValueError("Cannot set the submodule without a target name!")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and name not in parent._modules:
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent.add_module(name, module)

    def get_buffer(self, target: str) -> Tensor:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._buffers:
            raise AttributeError(f"{type(mod).__name__} has no buffer '{name}'")
        return mod._buffers[name]

    def _get_name(self) -> str:
        return type(self).__name__

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
        mods = list(self.named_modules())
        for mname, m in mods:
            for h in m.__dict__.get("_state_dict_pre_hooks", ()):
                h.fn(m, prefix + (mname + "." if mname else ""), keep_vars)
        for mname, m in mods:
            pre = prefix + (mname + "." if mname else "")
            for k, t in m._parameters.items():
                if t is not None:
                    out[pre + k] = t if keep_vars else t.detach()
            for k, t in m._buffers.items():
                if t is not None and k not in m._non_persistent_buffers_set:
                    out[pre + k] = t if keep_vars else t.detach()
            if type(m).get_extra_state is not Module.get_extra_state:
                out[pre + "_extra_state"] = m.get_extra_state()
        for mname, m in reversed(mods):
            for h in m.__dict__.get("_state_dict_hooks", ()):
                res = h.fn(m, out, prefix + (mname + "." if mname else ""), {})
                if res is not None:
                    out = res
        return out

    def load_state_dict(
        self, state_dict, strict: bool = True, assign: bool = False
    ) -> IncompatibleKeys:
        """Copy arrays (NumPy, backprop or torch tensors) into the parameters, in place.

        With ``strict`` every key must match and every shape must agree.
        """
        mods = list(self.named_modules())
        if any(m.__dict__.get("_load_state_dict_pre_hooks") for _, m in mods):
            state_dict = OrderedDict(state_dict)
            for mname, m in mods:
                for h in m.__dict__.get("_load_state_dict_pre_hooks", ()):
                    h.fn(m, state_dict, mname + "." if mname else "", {}, strict, [], [], [])
        own = dict(self._state_items())
        extra = {}
        for mname, m in mods:
            if type(m).set_extra_state is not Module.set_extra_state:
                extra[(mname + "." if mname else "") + "_extra_state"] = m
        missing = [k for k in own if k not in state_dict]
        missing += [k for k in extra if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own and k not in extra]
        for k, m in extra.items():
            if k in state_dict:
                m.set_extra_state(state_dict[k])
        result = IncompatibleKeys(missing, unexpected)
        for _, m in mods:
            for h in m.__dict__.get("_load_state_dict_post_hooks", ()):
                h.fn(m, result)
        missing, unexpected = result.missing_keys, result.unexpected_keys
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
        return result

    def get_extra_state(self) -> Any:
        """Override (with ``set_extra_state``) to save non-tensor state in ``state_dict``
        under ``_extra_state``."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called."
        )

    def set_extra_state(self, state: Any) -> None:
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called."
        )

    def register_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, prefix, keep_vars)`` before ``state_dict`` collects this module."""
        hooks = self._hook_list("_state_dict_pre_hooks")
        hooks.append(_Hook(hook))
        return RemovableHandle(hooks, hooks[-1])

    def register_state_dict_post_hook(self, hook) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata)`` after ``state_dict``."""
        hooks = self._hook_list("_state_dict_hooks")
        hooks.append(_Hook(hook))
        return RemovableHandle(hooks, hooks[-1])

    _register_state_dict_hook = register_state_dict_post_hook

    def register_load_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before ``load_state_dict``; it may edit the dict."""
        hooks = self._hook_list("_load_state_dict_pre_hooks")
        hooks.append(_Hook(hook))
        return RemovableHandle(hooks, hooks[-1])

    def register_load_state_dict_post_hook(self, hook) -> RemovableHandle:
        """``hook(module, incompatible_keys)`` after ``load_state_dict``; it may edit the
        key lists in place (strict mode then sees the edited lists)."""
        hooks = self._hook_list("_load_state_dict_post_hooks")
        hooks.append(_Hook(hook))
        return RemovableHandle(hooks, hooks[-1])

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

    def type(self, dst_type) -> Module:
        """Cast every floating parameter and buffer to ``dst_type``."""
        return self.to(dst_type)

    def share_memory(self) -> Module:
        """A no-op here (one process's arrays); kept for PyTorch's multiprocessing code."""
        return self

    def to_empty(self, *, device=None, recurse: bool = True) -> Module:
        """Move to ``device`` leaving the values uninitialised (here: zeros)."""
        if device is not None:
            self.to(device)
        for t in list(self.parameters()) + list(self.buffers()):
            t._data = backend.get_array_module(t._data).zeros_like(t._data)
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
