"""``bp.linalg``: PyTorch's ``torch.linalg`` names; the primitives and their rules live in
``backprop/ops/linalg.py``.

>>> import backprop as bp
>>> A = bp.tensor([[4.0, 2.0], [2.0, 3.0]])
>>> bp.linalg.cholesky(A).tolist()
[[2.0, 0.0], [1.0, 1.4142135381698608]]
"""

from __future__ import annotations

from .ops import matmul
from .ops.composite import cross as _cross
from .ops.layout import diagonal as _diagonal
from .ops.linalg import (
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    lstsq,
    matrix_norm,
    matrix_power,
    matrix_rank,
    multi_dot,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
    vecdot,
    vector_norm,
)
from .ops.linalg import linalg_norm as norm


def cross(input, other, *, dim: int = -1):
    """The cross product along ``dim`` (the last by default, unlike ``torch.cross``)."""
    return _cross(input, other, dim)


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1):
    return _diagonal(A, offset, dim1, dim2)


__all__ = [
    "cholesky",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vecdot",
    "vector_norm",
]
