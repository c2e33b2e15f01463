"""Adadelta (Zeiler): step sizes from running averages of squared gradients and updates.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0]))
>>> opt = bp.optim.Adadelta([w])
>>> (w * w).sum().backward()
>>> opt.step()
>>> w.item() < 1.0
True
"""

from __future__ import annotations

import numpy as np

from ._common import direction
from .optimizer import Optimizer, _check_torch_flags

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """``v <- rho v + (1 - rho) g^2``, ``d = sqrt(u + eps) / sqrt(v + eps) g``,
    ``u <- rho u + (1 - rho) d^2``, ``w <- w - lr d``."""

    def __init__(
        self,
        params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        _check_torch_flags("Adadelta", foreach, None, capturable, differentiable)
        if lr < 0 or not 0 <= rho <= 1 or eps < 0 or weight_decay < 0:
            raise ValueError(
                f"Adadelta: invalid lr={lr}, rho={rho}, eps={eps} or weight_decay={weight_decay}"
            )
        super().__init__(
            params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        )

    def _update(self, p, grad, group, state):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p._data)
            state["acc_delta"] = np.zeros_like(p._data)
        state["step"] += 1
        g = direction(grad, p._data, group)
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * delta * delta
        p._data -= group["lr"] * delta
