"""Adagrad (Duchi et al.): each weight's step shrinks with the sum of its squared gradients.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0]))
>>> opt = bp.optim.Adagrad([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> round(w.item(), 4)   # 1 - 0.1 * 2 / sqrt(4)
0.9
"""

from __future__ import annotations

import numpy as np

from ._common import direction
from .optimizer import Optimizer, _check_torch_flags

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """``s <- s + g^2``, ``w <- w - lr_t g / (sqrt(s) + eps)`` with
    ``lr_t = lr / (1 + (t - 1) lr_decay)``."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        _check_torch_flags("Adagrad", foreach, fused, differentiable=differentiable)
        if lr < 0 or lr_decay < 0 or weight_decay < 0 or initial_accumulator_value < 0 or eps < 0:
            raise ValueError(
                f"Adagrad: invalid lr={lr}, lr_decay={lr_decay}, weight_decay={weight_decay}, "
                f"initial_accumulator_value={initial_accumulator_value} or eps={eps}"
            )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:  # PyTorch makes the state at construction
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group) -> None:
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p._data, group["initial_accumulator_value"])

    def _update(self, p, grad, group, state):
        if not state:
            self._init_state(p, group)
        state["step"] += 1
        g = direction(grad, p._data, group)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        p._data -= clr * g / (np.sqrt(s) + group["eps"])
