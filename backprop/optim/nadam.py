"""NAdam (Dozat): Adam with Nesterov momentum, and PyTorch's momentum-decay schedule.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0]))
>>> opt = bp.optim.NAdam([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w.item() < 1.0
True
"""

from __future__ import annotations

import numpy as np

from ._common import check_betas, decay_weights, direction
from .optimizer import Optimizer, _check_torch_flags

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """``mu_t = b1 (1 - 0.96^(t psi) / 2)``; Adam's moments; the step mixes the gradient
    (weight ``(1 - mu_t) / (1 - prod mu)``) and the momentum (``mu_{t+1} / (1 - prod mu
    mu_{t+1})``), both over ``sqrt(v / (1 - b2^t)) + eps``."""

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ):
        _check_torch_flags("NAdam", foreach, None, capturable, differentiable)
        check_betas("NAdam", lr, betas, eps)
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=tuple(betas),
                eps=eps,
                weight_decay=weight_decay,
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
            ),
        )

    def _update(self, p, grad, group, state):
        lr, (b1, b2), eps, psi = group["lr"], group["betas"], group["eps"], group["momentum_decay"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0  # a float32 scalar in PyTorch: rounded so below
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        t = state["step"]
        decay_weights(p._data, group)
        g = direction(grad, p._data, group)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        # PyTorch keeps this running product as a float32 tensor; rounding it the same way
        # keeps the trajectories equal to theirs (the difference is ~1e-9 relative).
        state["mu_product"] = float(np.float32(state["mu_product"]) * np.float32(mu))
        mu_product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * g * g
        denom = np.sqrt(v / (1 - b2**t)) + eps
        p._data += (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
        p._data += (-lr * mu_next / (1.0 - mu_product * mu_next)) * m / denom
