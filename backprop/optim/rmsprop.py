"""RMSprop (Hinton): divide the gradient by a running root-mean-square of recent ones.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0]))
>>> opt = bp.optim.RMSprop([w], lr=0.01)
>>> (w * w).sum().backward()
>>> opt.step()
>>> round(w.item(), 4)   # 1 - 0.01 * 2 / sqrt(0.01 * 4)
0.9
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_torch_flags

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton): divide the gradient by a running root-mean-square of recent ones."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        _check_torch_flags("RMSprop", foreach, None, capturable, differentiable)
        if lr < 0 or eps < 0 or momentum < 0 or not 0 <= alpha <= 1:
            raise ValueError(
                f"RMSprop: invalid lr={lr}, alpha={alpha}, eps={eps} or momentum={momentum}"
            )
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                maximize=maximize,
            ),
        )

    def _update(self, p, grad, group, state):
        lr, alpha, eps, mu = group["lr"], group["alpha"], group["eps"], group["momentum"]
        w = p._data
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(w)
            if mu > 0:
                state["momentum_buffer"] = np.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(w)
        state["step"] += 1
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * w
        sq, tmp = state["square_avg"], self._tmp(p)
        sq *= alpha  # s <- alpha s + (1 - alpha) g^2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - alpha
        sq += tmp
        if group["centered"]:
            ga = state["grad_avg"]
            ga *= alpha
            ga += (1 - alpha) * g
            np.multiply(ga, ga, out=tmp)
            np.subtract(sq, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(sq, out=tmp)
        tmp += eps
        np.divide(g, tmp, out=tmp)
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += tmp
            np.multiply(buf, lr, out=tmp)
        else:
            tmp *= lr
        w -= tmp
