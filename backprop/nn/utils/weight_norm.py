"""Weight normalisation (Salimans & Kingma 2016), PyTorch's original hook-based API:
``weight_norm(module)`` replaces ``module.weight`` by two parameters ``weight_g`` (the
magnitude) and ``weight_v`` (the direction), and recomputes ``weight = g v / ||v||`` before
each forward. (PyTorch deprecates it for ``parametrizations.weight_norm``; it warns the same.)

>>> import warnings
>>> import backprop as bp
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     m = bp.nn.utils.weight_norm(bp.nn.Linear(20, 40))
>>> tuple(m.weight_g.shape), tuple(m.weight_v.shape)
((40, 1), (40, 20))
"""

from __future__ import annotations

import warnings

from ... import ops
from ...tensor import Tensor
from ..module import Module, Parameter

__all__ = ["WeightNorm", "remove_weight_norm", "weight_norm"]


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dim but ``dim``, kept as size-1 dims (a 0-d norm
    of the whole tensor for ``dim = -1``), as ``torch.norm_except_dim``."""
    if dim == -1:
        return ops.norm(v, pow)
    dim = dim % v.ndim
    others = tuple(i for i in range(v.ndim) if i != dim)
    if not others:
        return ops.abs(v) if pow != 2 else ops.norm(ops.reshape(v, (-1, 1)), pow, dim=1)
    return ops.norm(v, pow, dim=others, keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """``v (g / ||v||)``, the norm over every dim but ``dim`` (``torch._weight_norm``)."""
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook that recomputes ``module.<name>`` from ``<name>_g`` and
    ``<name>_v``."""

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        warnings.warn(
            "`torch.nn.utils.weight_norm` is deprecated "
            "in favor of `torch.nn.utils.parametrizations.weight_norm`.",
            FutureWarning,
            stacklevel=3,
        )
        for hook in module.__dict__.get("_forward_pre_hooks", []):
            if isinstance(hook.fn, WeightNorm) and hook.fn.name == name:
                raise RuntimeError(
                    f"Cannot register two weight_norm hooks on the same parameter {name}"
                )
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        module.register_parameter(
            name + "_g", Parameter(norm_except_dim(weight.detach(), 2, fn.dim))
        )
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        object.__delattr__(module, name)
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        for suffix in ("_g", "_v"):
            del module._parameters[self.name + suffix]
            object.__delattr__(module, self.name + suffix)
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparameterise ``module.<name>`` as ``g v / ||v||`` with parameters ``<name>_g``
    (shape: 1 everywhere but ``dim``; ``dim=None`` for one norm over the whole tensor) and
    ``<name>_v``; the weight is recomputed before every forward."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``weight_norm``: ``<name>`` becomes one parameter again, with the current value."""
    hooks = module.__dict__.get("_forward_pre_hooks", [])
    for i, hook in enumerate(hooks):
        if isinstance(hook.fn, WeightNorm) and hook.fn.name == name:
            hook.fn.remove(module)
            del hooks[i]
            module._refresh_hooked()
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
