"""Rprop (Riedmiller & Braun 1993): per-weight step sizes driven by the gradient's sign only.

>>> import backprop as bp
>>> w = bp.nn.Parameter(bp.tensor([1.0, -2.0]))
>>> opt = bp.optim.Rprop([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> [round(v, 4) for v in w.tolist()]             # w - 0.1 sign(grad)
[0.9, -1.9]
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_torch_flags

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Each weight's step grows by ``etas[1]`` while its gradient keeps its sign and shrinks
    by ``etas[0]`` when the sign flips (that step is then skipped), clamped to
    ``step_sizes``; ``w <- w - step * sign(g)``. PyTorch's full-batch method."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        _check_torch_flags("Rprop", foreach, None, capturable, differentiable)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(
            params,
            dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize),
        )

    def _update(self, p, grad, group, state):
        (etaminus, etaplus), (lo, hi) = group["etas"], group["step_sizes"]
        if not state:
            state["step"] = 0
            state["prev"] = np.zeros_like(p._data)
            state["step_size"] = np.full_like(p._data, group["lr"])
        state["step"] += 1
        g = -grad if group["maximize"] else grad
        s = np.sign(g * state["prev"])
        factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1.0)).astype(p._data.dtype)
        step_size = state["step_size"]
        step_size *= factor
        np.clip(step_size, lo, hi, out=step_size)
        g = np.where(s < 0, 0.0, g).astype(p._data.dtype)  # a sign flip: no step, forget g
        p._data -= np.sign(g) * step_size
        state["prev"][...] = g
