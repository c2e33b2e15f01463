"""Matrix products (vector, matrix, batched) and their rule."""

from __future__ import annotations

import numpy as np

from ..autograd import Function

# ---------------------------------------------------------------------------- matmul


class MatMul(Function):
    name = "matmul"
    formulas = ("d(A@B)/dA: dL/dA = dL/dY @ B^T", "d(A@B)/dB: dL/dB = A^T @ dL/dY")

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("both operands must have at least one dimension")
        k_a = a.shape[-1]
        k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k_a != k_b:
            raise ValueError(
                f"cannot multiply shapes {tuple(a.shape)} and {tuple(b.shape)}: "
                f"inner dimensions {k_a} and {k_b} differ"
            )
        self.saved = (a, b)
        return a @ b

    def backward(self, g):
        a, b = self.saved
        if a.ndim == 2 and b.ndim == 2:  # the common case: a layer's weights
            ga = g @ b.T if self.needs_grad(0) else None
            gb = a.T @ g if self.needs_grad(1) else None
            return ga, gb
        A = a if a.ndim > 1 else a[None, :]
        B = b if b.ndim > 1 else b[:, None]
        if a.ndim == 1 and b.ndim == 1:
            G = g.reshape(1, 1)
        elif a.ndim == 1:
            G = np.expand_dims(g, -2)
        elif b.ndim == 1:
            G = g[..., None]
        else:
            G = g
        ga = gb = None
        if self.needs_grad(0):
            ga = G @ np.swapaxes(B, -1, -2)
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if self.needs_grad(1):
            gb = np.swapaxes(A, -1, -2) @ G
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb
