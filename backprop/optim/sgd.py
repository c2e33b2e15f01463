"""Stochastic gradient descent: 001's and 003's ``w <- w - eta dL/dw``, plus momentum.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0, 2.0]))
>>> opt = bp.optim.SGD([w], lr=0.1)
>>> (w * w).sum().backward()          # dL/dw = 2w
>>> opt.step()
>>> w.tolist()                        # w - 0.1 * 2w
[0.800000011920929, 1.600000023841858]
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_torch_flags

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and weight decay.

    With the defaults it is 003's ``W <- W - eta G``. With momentum ``mu`` it keeps a buffer
    ``b <- mu b + (1 - dampening) g`` and steps ``w <- w - lr b`` (``g + mu b`` if nesterov).
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        _check_torch_flags("SGD", foreach, fused, differentiable=differentiable)
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                f"SGD: invalid lr={lr}, momentum={momentum} or weight_decay={weight_decay}"
            )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                nesterov=nesterov,
                weight_decay=weight_decay,
                maximize=maximize,
            ),
        )

    def _update(self, p, grad, group, state):
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        w = p._data
        d = grad  # the direction; copied only when it must differ from the gradient
        if group["maximize"] or wd:
            d = self._tmp(p, "d")
            if group["maximize"]:
                np.negative(grad, out=d)
            else:
                np.copyto(d, grad)
            if wd:
                self._axpy(wd, w, d, p)
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.copy()
            else:
                buf *= mu
                self._axpy(1 - group["dampening"], d, buf, p)
            if group["nesterov"]:
                if d is grad:
                    d = self._tmp(p, "d")
                    np.copyto(d, grad)
                self._axpy(mu, buf, d, p)
            else:
                d = buf
        self._axpy(-lr, d, w, p)  # w <- w - lr d, in place
