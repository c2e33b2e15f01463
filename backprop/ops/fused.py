"""Fused primitives: one node for what every classifier spends its time in."""

from __future__ import annotations

import numpy as np

from ..autograd import Function

# ---------------------------------------------------------------------------- fused primitives
# Composites written with the primitives above are correct but make one node, one temporary
# array and one elementwise pass per step. The two nodes below are what every classifier
# spends its time in; each is one node whose rule is the textbook formula (lectures 003, 005).


class Linear(Function):
    """``x @ W^T + b`` in one node (PyTorch's layout: ``W`` is (out, in))."""

    name = "linear"
    formulas = (  # A is x, B is W, C is b in the explainer's symbols
        "d(A@B^T+C)/dA: dL/dA = dL/dY @ B",
        "d(A@B^T+C)/dB: dL/dB = (dL/dY)^T @ A",
        "d(A@B^T+C)/dC: dL/dC = sum over rows of dL/dY",
    )

    def forward(self, x, w, b):
        self.saved = (x, w)
        y = np.matmul(x, w.T)  # w.T is a view: BLAS reads it as is, no copy
        if b is not None:
            y += b  # in place: the matmul's result is ours
        return y

    def backward(self, g):
        x, w = self.saved
        x_in, w_in, b_in = self.parents
        gx = g @ w if getattr(x_in, "requires_grad", False) else None
        if g.ndim != 2:  # (..., out): the weight's gradient sums over every leading dim
            g, x = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        gw = g.T @ x if w_in.requires_grad else None  # (out, in)
        gb = np.add.reduce(g, axis=0) if getattr(b_in, "requires_grad", False) else None
        return gx, gw, gb


class SoftmaxCrossEntropy(Function):
    """Mean (or summed) cross-entropy of ``softmax(logits)`` against integer class targets.

    The backward is ``(softmax(logits) - onehot(target)) / n``: one pass, no log-softmax
    graph. The softmax is computed stably (the row maximum is subtracted first).
    """

    name = "softmax_cross_entropy"
    formulas = (  # B: the targets (the explainer puts in their name)
        "d CE(softmax(A), B)/dA = softmax(A) - onehot(B)  (divided by n for the mean)",
        "",
    )

    def forward(self, logits, target, reduction):
        # ufunc reductions called directly: the ndarray methods add a Python layer per call
        z = logits - np.maximum.reduce(logits, axis=-1, keepdims=True)
        rows = np.arange(z.shape[0])
        picked = z[rows, target]  # a copy: the shifted logit of each row's class
        np.exp(z, out=z)  # z now holds exp(z - max)
        total = np.add.reduce(z, axis=-1, keepdims=True)
        losses = np.log(total[:, 0]) - picked  # log-sum-exp: finite for any logits
        z /= total  # softmax probabilities, reusing the same buffer
        self.saved = z
        self.rows, self.target, self.reduction = rows, target, reduction
        if reduction == "none":
            return losses
        total_loss = np.add.reduce(losses)
        return total_loss / z.shape[0] if reduction == "mean" else total_loss

    def backward(self, g):
        p = self.saved
        if self.reduction == "none":
            scale = g[:, None]
            grad = p * scale
            grad[self.rows, self.target] -= g
        else:
            scale = g / p.shape[0] if self.reduction == "mean" else g
            grad = p * scale
            grad[self.rows, self.target] -= scale
        return grad, None
