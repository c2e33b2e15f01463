"""RAdam (Liu et al.): Adam whose adaptive step is switched on only once the variance of
its estimate is tractable, and rectified until then.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0]))
>>> opt = bp.optim.RAdam([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> round(w.item(), 4)   # the first steps are SGD with momentum: 1 - 0.1 * 2
0.8
"""

from __future__ import annotations

import math

import numpy as np

from ._common import check_betas, decay_weights, direction
from .optimizer import Optimizer, _check_torch_flags

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """``rho_t = rho_inf - 2 t b2^t / (1 - b2^t)``; if ``rho_t > 5`` Adam's step times the
    rectification ``r_t``, else the bias-corrected momentum alone."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ):
        _check_torch_flags("RAdam", foreach, None, capturable, differentiable)
        check_betas("RAdam", lr, betas, eps)
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=tuple(betas),
                eps=eps,
                weight_decay=weight_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
            ),
        )

    def _update(self, p, grad, group, state):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        t = state["step"]
        decay_weights(p._data, group)
        g = direction(grad, p._data, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * g * g
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        m_hat = m / bc1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2**t) / bc2
        if rho_t > 5.0:
            rect = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            adaptive = math.sqrt(bc2) / (np.sqrt(v) + eps)
            p._data -= m_hat * lr * adaptive * rect
        else:
            p._data -= m_hat * lr
