"""The ``Optimizer`` base class: parameter groups, per-parameter state, and PyTorch's
``state_dict`` format.

Subclasses define ``_update(p, grad, group, state)``, which reads the arrays ``p._data`` and
``grad`` (``p._grad``) and writes the new weights into ``p._data`` in place.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0, 2.0]))
>>> opt = bp.optim.SGD([w], lr=0.1, momentum=0.9)
>>> (w * w).sum().backward()
>>> opt.step()
>>> sd = opt.state_dict()
>>> sorted(sd), sd["param_groups"][0]["params"], sorted(sd["state"][0])
(['param_groups', 'state'], [0], ['momentum_buffer'])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()  # PyTorch's marker for a hyperparameter without a default


def _check_torch_flags(name: str, foreach=None, fused=None, capturable=False, differentiable=False):
    """PyTorch's implementation switches: ``foreach`` changes nothing here (every update is
    already one pass per array); the others need machinery backprop does not have."""
    if fused or capturable or differentiable:
        flag = "fused" if fused else "capturable" if capturable else "differentiable"
        raise NotImplementedError(f"{name}: {flag}=True is not supported by backprop")


def _is_torch_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _to_state_value(key: str, value: Any, p: Tensor, where: str) -> Any:
    """One entry of a loaded optimizer state as backprop keeps it: arrays of the parameter's
    dtype, ``step`` as an int, other 0-d values as Python numbers."""
    if _is_torch_tensor(value):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    elif isinstance(value, Tensor):
        value = value._data
    if isinstance(value, (list, tuple)):
        return type(value)(_to_state_value(key, v, p, where) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if not hasattr(value, "__array__"):
        raise TypeError(
            f"load_state_dict: {where}['{key}'] is a {type(value).__name__}; optimizer state "
            "must hold tensors, arrays and numbers"
        )
    arr = to_numpy(value)
    if arr.ndim == 0:  # PyTorch keeps `step` (and NAdam's mu_product) as 0-d tensors
        return int(arr) if key == "step" else arr.item()
    if arr.dtype.kind in "fc":
        arr = np.array(arr, dtype=p._data.dtype)  # a copy: the state must not alias the source
    return arr


class Optimizer:
    """Base class: holds ``param_groups`` (lists of parameters with their hyperparameters)
    and ``state`` (per-parameter buffers such as momentum), as in PyTorch."""

    def __init__(self, params: Iterable, defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[tuple[int, str], np.ndarray] = {}  # work arrays, not state
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or dicts, "
                "got one Tensor (wrap it in a list)"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (the others from defaults),
        e.g. a layer unfrozen during fine-tuning."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(
                    f"{type(self).__name__} can only optimize tensors that require "
                    f"grad, got {type(p).__name__}"
                )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        full = {"params": params, **{k: v for k, v in param_group.items() if k != "params"}}
        for k, v in self.defaults.items():
            if v is required and k not in full:
                raise ValueError(f"parameter group didn't specify a value of required '{k}'")
            full.setdefault(k, v)
        self.param_groups.append(full)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None by default, as PyTorch does)."""
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p._grad = None
                elif p._grad is not None:
                    p._grad[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient. ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            from ..autograd import enable_grad

            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is not None:
                    self._update(p, p._grad, group, self.state[p])
        return loss

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        raise NotImplementedError  # pragma: no cover

    def _tmp(self, p: Tensor, which: str = "") -> np.ndarray:
        """A work array of ``p``'s shape, kept between steps so updates do not allocate."""
        key = (id(p), which)
        buf = self._scratch.get(key)
        if buf is None or buf.shape != p._data.shape or buf.dtype != p._data.dtype:
            buf = self._scratch[key] = np.empty_like(p._data)
        return buf

    def _axpy(self, alpha: float, x: np.ndarray, y: np.ndarray, p: Tensor) -> None:
        """``y += alpha * x`` in place, through a work array of ``p``'s shape: NumPy only, no
        temporary. (Not SciPy's BLAS ``axpy``: SciPy's wheel carries its own OpenBLAS, whose
        idle threads spin after each call and take the cores from NumPy's BLAS, which runs
        the matmuls; that made a 784-512-256-10 step 8x slower than PyTorch.)"""
        if alpha == 1:
            y += x
            return
        tmp = self._tmp(p, "axpy")
        np.multiply(x, alpha, out=tmp)
        y += tmp

    # -- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``,
        parameters numbered in group order and buffers named as in PyTorch (``exp_avg``,
        ``momentum_buffer``...); buffers are Tensors sharing memory with the state."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {
            index[id(p)]: {k: _export(v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index and s
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and buffers saved by ``state_dict`` (copying arrays).

        A state dict from ``torch.optim`` (the same optimizer class over the same parameters)
        is converted: its tensors become arrays of the parameters' dtype.
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                "load_state_dict: expected a dict with 'state' and 'param_groups' (what "
                f"Optimizer.state_dict() returns), got {type(state_dict).__name__}"
            )
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
            len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)
        ):
            raise ValueError(
                "load_state_dict: the saved parameter groups do not match this "
                "optimizer's (different number of groups or parameters)"
            )
        by_index = {}
        for saved, mine in zip(groups, self.param_groups):
            for i, p in zip(saved["params"], mine["params"]):
                by_index[int(i)] = p
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for i, s in state_dict["state"].items():
            if int(i) not in by_index:
                raise ValueError(f"load_state_dict: state for parameter {i}, which no group has")
            p = by_index[int(i)]
            entry = {}
            for k, v in s.items():
                v = _to_state_value(k, v, p, f"state[{i}]")
                if isinstance(v, np.ndarray) and v.shape not in (p._data.shape, ()):
                    if not self._flat_state:
                        raise ValueError(
                            f"load_state_dict: state[{i}]['{k}'] has shape {v.shape} but the "
                            f"parameter has shape {tuple(p._data.shape)}"
                        )
                entry[k] = v
            new_state[p] = entry
        for saved, mine in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    mine[k] = _to_state_value(k, v, mine["params"][0], "param_groups")
        self.state = new_state

    _flat_state = False  # LBFGS keeps flat vectors of all parameters, not per-parameter arrays

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _export(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value)
    if isinstance(value, list):
        return [_export(v) for v in value]
    return value
