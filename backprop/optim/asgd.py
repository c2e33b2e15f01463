"""ASGD (Polyak & Juditsky 1992): SGD with a decaying step and a running average of the
iterates (``state["ax"]``), which is the estimate to use after ``t0`` steps.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0]))
>>> opt = bp.optim.ASGD([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> round(w.item(), 4)                           # w (1 - lambd lr) - lr * 2w
0.8
"""

from __future__ import annotations

import numpy as np

from ..tensor import get_default_dtype
from ._common import direction
from .optimizer import Optimizer, _check_torch_flags

__all__ = ["ASGD"]


def _scalar(value: float) -> float:
    """PyTorch keeps ``eta`` and ``mu`` as 0-d tensors of its scalar dtype (float32 unless the
    default dtype is float64); rounding them the same way keeps the trajectories equal."""
    dtype = np.float64 if get_default_dtype() == np.float64 else np.float32
    return float(dtype(value))


class ASGD(Optimizer):
    """``w <- w (1 - lambd eta) - eta g``, ``ax <- ax + mu (w - ax)``, then
    ``eta = lr / (1 + lambd lr t)^alpha`` and ``mu = 1 / max(1, t - t0)``."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ):
        _check_torch_flags("ASGD", foreach, None, capturable, differentiable)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(
            params,
            dict(
                lr=lr,
                lambd=lambd,
                alpha=alpha,
                t0=t0,
                weight_decay=weight_decay,
                maximize=maximize,
            ),
        )

    def _update(self, p, grad, group, state):
        lr, lambd = group["lr"], group["lambd"]
        w = p._data
        if not state:
            state["step"] = 0
            state["eta"] = _scalar(lr)
            state["mu"] = 1.0
            state["ax"] = np.zeros_like(w)
        state["step"] += 1
        g = direction(grad, w, group)
        eta = float(state["eta"])
        w *= 1 - lambd * eta
        w -= eta * g
        ax = state["ax"]
        if float(state["mu"]) != 1:
            ax += (w - ax) * float(state["mu"])
        else:
            ax[...] = w
        t = state["step"]
        state["eta"] = _scalar(lr / (1 + lambd * lr * t) ** group["alpha"])
        state["mu"] = _scalar(1 / max(1, t - group["t0"]))
