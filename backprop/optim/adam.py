"""Adam and AdamW: per-weight step sizes from running moments of the gradient.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0, -1.0]))
>>> opt = bp.optim.Adam([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> [round(v, 4) for v in w.tolist()]   # the first Adam step is lr * sign(grad)
[0.9, -0.9]
"""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer, _check_torch_flags

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba): steps of ``lr m_hat / (sqrt(v_hat) + eps)`` where ``m``, ``v`` are
    running means of the gradient and its square, bias-corrected. ``weight_decay`` adds
    ``wd * w`` to the gradient (L2); ``AdamW`` decays the weights directly instead."""

    _decoupled = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ):
        _check_torch_flags(type(self).__name__, foreach, fused, capturable, differentiable)
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: invalid lr={lr}, betas={betas} or eps={eps}")
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=tuple(betas),
                eps=eps,
                weight_decay=weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
                decoupled_weight_decay=decoupled_weight_decay or self._decoupled,
            ),
        )

    def _update(self, p, grad, group, state):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        w = p._data
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(w)
            state["exp_avg_sq"] = np.zeros_like(w)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(w)
        state["step"] += 1
        t = state["step"]
        g = -grad if group["maximize"] else grad
        if wd and group["decoupled_weight_decay"]:
            w *= 1 - lr * wd
        elif wd:
            g = g + wd * w
        m, v, tmp = state["exp_avg"], state["exp_avg_sq"], self._tmp(p)
        m *= b1  # m <- b1 m + (1 - b1) g
        np.multiply(g, 1 - b1, out=tmp)
        m += tmp
        v *= b2  # v <- b2 v + (1 - b2) g^2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = lr / (1 - b1**t)
        np.sqrt(v, out=tmp)  # denom = sqrt(v) / sqrt(1 - b2^t) + eps
        tmp /= math.sqrt(1 - b2**t)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        w -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``w <- w (1 - lr wd)`` first."""

    _decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
        )
