"""Adamax (Kingma & Ba): Adam with the infinity norm in place of the squared gradients.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0]))
>>> opt = bp.optim.Adamax([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> round(w.item(), 4)
0.9
"""

from __future__ import annotations

import numpy as np

from ._common import check_betas, direction
from .optimizer import Optimizer, _check_torch_flags

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """``m <- b1 m + (1 - b1) g``, ``u <- max(b2 u, |g| + eps)``,
    ``w <- w - lr / (1 - b1^t) m / u``."""

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ):
        _check_torch_flags("Adamax", foreach, None, capturable, differentiable)
        check_betas("Adamax", lr, betas, eps)
        super().__init__(
            params,
            dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize),
        )

    def _update(self, p, grad, group, state):
        (b1, b2), eps = group["betas"], group["eps"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_inf"] = np.zeros_like(p._data)
        state["step"] += 1
        g = direction(grad, p._data, group)
        m, u = state["exp_avg"], state["exp_inf"]
        m += (1 - b1) * (g - m)  # PyTorch's lerp
        u *= b2
        np.maximum(u, np.abs(g) + eps, out=u)
        p._data -= group["lr"] / (1 - b1 ** state["step"]) * m / u
