"""Helpers shared by the update rules (kept out of ``optimizer.py``, which defines the API)."""

from __future__ import annotations

import numpy as np


def direction(grad: np.ndarray, w: np.ndarray, group: dict) -> np.ndarray:
    """The gradient the rule follows: negated with ``maximize``, plus ``weight_decay * w``
    (L2 regularisation folded into the gradient, PyTorch's coupled weight decay). A new
    array when it differs from ``grad``; ``grad`` itself is never written."""
    g = -grad if group.get("maximize") else grad
    wd = group.get("weight_decay", 0.0)
    if wd and not group.get("decoupled_weight_decay"):
        g = g + wd * w
    return g


def decay_weights(w: np.ndarray, group: dict) -> None:
    """Decoupled weight decay (AdamW's): ``w <- w (1 - lr wd)`` before the update."""
    wd = group.get("weight_decay", 0.0)
    if wd and group.get("decoupled_weight_decay"):
        w *= 1 - group["lr"] * wd


def check_betas(name: str, lr: float, betas, eps: float) -> None:
    if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
        raise ValueError(f"{name}: invalid lr={lr}, betas={betas} or eps={eps}")
