"""Linear algebra (``torch.linalg``): det, slogdet, inv, solve, cholesky, qr, svd, eigh, pinv
as primitives with the standard matrix-calculus rules; norms, matrix_power, lstsq and
multi_dot composed from them. Every op takes batches (``(..., n, n)``).

Ops with several outputs (qr, svd, eigh) are one node whose output packs them side by side
along a last axis; the wrappers slice it apart, so the gradients of the pieces meet again in
the node's rule. The rules are PyTorch's: ``d det = det tr(A^-1 dA)`` (computed as the
adjugate, through an SVD; 0 at an exactly singular matrix, as PyTorch), ``d A^-1 = -A^-1 dA
A^-1``, and for SVD and eigh the usual ``1/(s_j^2 - s_i^2)`` and ``1/(l_j - l_i)`` terms (the
gradient of the vectors needs distinct values, as in PyTorch).

>>> import backprop as bp
>>> A = bp.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> bp.linalg.det(A).backward()
>>> A.grad  # det(A) A^-T
tensor([[ 3.0000, -1.0000],
        [-1.0000,  2.0000]])
"""

from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .scan import _others_product
from .unary import _t

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])
OldSVDResult = namedtuple("OldSVDResult", ["U", "S", "V"])


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _floating_matrix(A, op: str, square: bool = True) -> Tensor:
    A = _t(A)
    if A._data.dtype.kind not in "fc":
        raise RuntimeError(f"{op}: expected a floating point tensor, got {A._data.dtype}")
    if A._data.ndim < 2:
        raise RuntimeError(
            f"{op}: the input tensor A must have at least 2 dimensions, got shape "
            f"{tuple(A._data.shape)}"
        )
    m, n = A._data.shape[-2:]
    if square and m != n:
        raise RuntimeError(
            f"{op}: A must be batches of square matrices, but they are {m} by {n} matrices "
            f"(shape {tuple(A._data.shape)})"
        )
    return A


def _pack(lead: tuple, *arrays):
    """Several outputs as one array: each flattened past the batch dims ``lead``, side by
    side along a last axis; ``_unpack`` slices them apart again."""
    return np.concatenate([a.reshape(lead + (-1,)) for a in arrays], axis=-1)


def _split(packed, shapes):
    out, at = [], 0
    lead = packed.shape[:-1]
    for s in shapes:
        size = int(np.prod(s))
        out.append(packed[..., at : at + size].reshape(lead + tuple(s)))
        at += size
    return out


def _unpack(t: Tensor, shapes) -> list:
    lead = t._data.shape[:-1]
    out, at = [], 0
    for s in shapes:
        size = int(np.prod(s))
        out.append(t[..., at : at + size].reshape(lead + tuple(s)))
        at += size
    return out


def _raise_singular(op: str, A) -> None:
    raise RuntimeError(
        f"{op}: the input matrix is singular, the inversion could not be completed "
        f"(shape {tuple(A.shape)})"
    )


# ---------------------------------------------------------------------------- primitives


class Det(Function):
    name = "det"
    formulas = ("d det(A)/dA = det(A) A^-T  (0 where det(A) = 0, as PyTorch)",)

    def forward(self, a):
        self.saved = a
        return np.linalg.det(a)

    def backward(self, g):
        a = self.saved
        if not a.size:
            return (np.zeros_like(a),)
        # det(A) A^-T is the adjugate's transpose, det(U) det(V) U diag(prod of the other
        # s) V^T: no inverse, so nearly singular matrices stay accurate. PyTorch's gradient
        # is 0 where the determinant is exactly 0, and so is this one.
        u, s, vh = np.linalg.svd(a)
        sign = np.linalg.det(u) * np.linalg.det(vh) * (np.linalg.det(a) != 0)
        others = _others_product(s, s.ndim - 1)
        cof = (u * others[..., None, :]) @ vh
        return ((g * sign)[..., None, None] * cof,)


class LogAbsDet(Function):
    name = "logabsdet"
    formulas = ("d log|det(A)|/dA = A^-T",)

    def forward(self, a):
        self.saved = a
        sign, logabs = np.linalg.slogdet(a)
        self.sign = sign
        return logabs

    def backward(self, g):
        a = self.saved
        with np.errstate(all="ignore"):
            try:
                inv = np.linalg.inv(a)
            except np.linalg.LinAlgError:
                inv = np.linalg.pinv(a)
        return (g[..., None, None] * _mT(inv),)


class Inv(Function):
    name = "inv"
    formulas = ("d A^-1/dA: g -> -A^-T g A^-T",)

    def forward(self, a):
        out = np.linalg.inv(a)
        self.saved = out
        return out

    def backward(self, g):
        t = _mT(self.saved)
        return (-(t @ g @ t),)


class Solve(Function):
    name = "solve"
    formulas = ("d solve(A,B)/dA: g -> -A^-T g X^T", "d solve(A,B)/dB: g -> A^-T g")

    def forward(self, a, b):
        out = np.linalg.solve(a, b)
        self.saved = (a, out)
        return out

    def backward(self, g):
        a, x = self.saved
        gb = np.linalg.solve(_mT(a), g)
        ga = -(gb @ _mT(x)) if self.needs_grad(0) else None
        return ga, gb


class Cholesky(Function):
    name = "cholesky"
    formulas = ("d chol(A)/dA: g -> L^-T Phi(L^T g) L^-1, Phi symmetrising the lower triangle",)

    def forward(self, a):
        out = np.linalg.cholesky(a)
        self.saved = out
        return out

    def backward(self, g):
        L = self.saved
        p = np.tril(_mT(L) @ g)
        p = 0.5 * (p + _mT(np.tril(p, -1)))
        linv = np.linalg.inv(L)
        return (_mT(linv) @ p @ linv,)


def _qr_square_backward(q, r, gq, gr):
    """A = QR with m >= n: ``(gQ + Q copyltu(M)) R^-T``, ``M = R gR^T - gQ^T Q``."""
    m = r @ _mT(gr) - _mT(gq) @ q
    low = np.tril(m, -1)
    sym = low + _mT(low) + np.eye(m.shape[-1]) * np.diagonal(m, 0, -2, -1)[..., None, :]
    b = gq + q @ sym
    # b R^-T = solve(R, b^T)^T
    return _mT(np.linalg.solve(r, _mT(b)))


class QR(Function):
    name = "qr"
    formulas = ("d qr(A)/dA: g -> (gQ + Q copyltu(R gR^T - gQ^T Q)) R^-T (m >= n; m < n by parts)",)

    def forward(self, a, mode):
        q, r = np.linalg.qr(a, mode=mode)
        self.saved, self.shapes = (a, q, r), (q.shape[-2:], r.shape[-2:])
        return _pack(a.shape[:-2], q, r)

    def backward(self, g):
        a, q, r = self.saved
        gq, gr = _split(g, self.shapes)
        m, n = a.shape[-2:]
        if q.shape[-1] != r.shape[-2] or q.shape[-1] > builtins.min(m, n):
            raise RuntimeError("qr: the derivative of mode='complete' with m > n is not defined")
        if m >= n:
            return (_qr_square_backward(q, r, gq, gr),)
        # A = [X | Y], R = [U | V]: X = Q U is square, and Y = Q V
        y, u, gu, gv = a[..., m:], r[..., :m], gr[..., :m], gr[..., m:]
        gx = _qr_square_backward(q, u, gq + y @ _mT(gv), gu)
        return (np.concatenate([gx, q @ gv], axis=-1),)


class SVD(Function):
    name = "svd"
    formulas = (
        "d svd(A)/dA: g -> U [F o (U^T gU - gU^T U) S + S F o (V^T gV - gV^T V) + diag(gS)] V^T "
        "+ the parts off U's and V's span, F_ij = 1/(s_j^2 - s_i^2)",
    )

    def forward(self, a, full_matrices):
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        self.saved = (u, s, vh)
        self.shapes = (u.shape[-2:], s.shape[-1:], vh.shape[-2:])
        return _pack(a.shape[:-2], u, s, vh)

    def backward(self, g):
        u, s, vh = self.saved
        gu, gs, gvh = _split(g, self.shapes)
        k = s.shape[-1]
        u, gu, vh, gvh = u[..., :k], gu[..., :k], vh[..., :k, :], gvh[..., :k, :]
        v, gv = _mT(vh), _mT(gvh)
        m, n = u.shape[-2], v.shape[-2]
        s2 = s * s
        e = s2[..., None, :] - s2[..., :, None]  # E_ij = s_j^2 - s_i^2
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(np.eye(k, dtype=bool), 0, 1 / e)
            j = _mT(u) @ gu
            kk = _mT(v) @ gv
            inner = f * (j - _mT(j)) * s[..., None, :] + s[..., :, None] * (f * (kk - _mT(kk)))
            inner = inner + gs[..., None, :] * np.eye(k)
            ga = u @ inner @ vh
            if m > k:
                ga = ga + ((gu - u @ j) / s[..., None, :]) @ vh
            if n > k:
                ga = ga + u @ (_mT(gv - v @ kk) / s[..., :, None])
        return (ga,)


class SVDVals(Function):
    name = "svdvals"
    formulas = ("d svdvals(A)/dA: g -> U diag(g) V^T",)

    def forward(self, a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        self.saved = (u, vh)
        return s

    def backward(self, g):
        u, vh = self.saved
        return ((u * g[..., None, :]) @ vh,)


class Eigh(Function):
    name = "eigh"
    formulas = ("d eigh(A)/dA: g -> Q [diag(gL) + F o skew(Q^T gQ)] Q^T, F_ij = 1/(l_j - l_i)",)

    def forward(self, a, uplo):
        w, q = np.linalg.eigh(a, UPLO=uplo)
        self.saved = (w, q)
        self.shapes = (w.shape[-1:], q.shape[-2:])
        return _pack(a.shape[:-2], w, q)

    def backward(self, g):
        w, q = self.saved
        gw, gq = _split(g, self.shapes)
        k = w.shape[-1]
        e = w[..., None, :] - w[..., :, None]
        x = _mT(q) @ gq
        x = 0.5 * (x - _mT(x))
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = np.where(np.eye(k, dtype=bool), 0, x / e)
        inner = inner + gw[..., None, :] * np.eye(k)
        return (q @ inner @ _mT(q),)


class EigvalsH(Function):
    name = "eigvalsh"
    formulas = ("d eigvalsh(A)/dA: g -> Q diag(g) Q^T",)

    def forward(self, a, uplo):
        w, q = np.linalg.eigh(a, UPLO=uplo)
        self.saved = q
        return w

    def backward(self, g):
        q = self.saved
        return ((q * g[..., None, :]) @ _mT(q),)


class Pinv(Function):
    name = "pinv"
    formulas = (
        "d pinv(A)/dA: g -> -P^T g P^T + (I - A P)^T g^T... (PyTorch's pinv_backward, P = pinv A)",
    )

    def forward(self, a, rtol, hermitian):
        out = np.linalg.pinv(a, rcond=rtol, hermitian=hermitian)
        self.saved = (a, out)
        return out

    def backward(self, grad):
        a, p = self.saved
        m, n = a.shape[-2:]
        ph, gh = _mT(p), _mT(grad)
        if m <= n:
            k = gh @ p
            kph = k @ ph
            ga = -_mT(p @ k) + kph - (a @ p) @ kph + (ph @ p) @ (gh - k @ a)
        else:
            k = p @ gh
            phk = ph @ k
            ga = -_mT(k @ p) + (gh - a @ k) @ p @ ph + phk - phk @ p @ a
        return (ga,)


class PNorm(Function):
    """``(sum |s|^p)^(1/p)`` over ``dims`` for a ``p`` other than 0, 1, 2 and inf; the rule is
    PyTorch's, 0 where the norm is 0 (and, for p < 1, at the zero elements)."""

    name = "vector_norm"
    formulas = ("d ||s||_p/ds_i = sign(s_i) |s_i|^(p-1) / ||s||_p^(p-1)  (0 where the norm is 0)",)

    def forward(self, a, p, dims, keepdim):
        with np.errstate(over="ignore"):
            out = np.sum(np.abs(a) ** p, axis=dims, keepdims=True) ** (1.0 / p)
        self.saved, self.p, self.dims, self.keepdim = (a, out), p, dims, keepdim
        return out if keepdim else np.squeeze(out, dims if dims is not None else None)

    def backward(self, g):
        a, norm = self.saved
        p = self.p
        if not self.keepdim:
            g = np.expand_dims(g, self.dims if self.dims is not None else tuple(range(a.ndim)))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if p < 1:
                scaled = np.where(a == 0, 0, np.sign(a) * np.abs(a) ** (p - 1))
                return (scaled * g * norm ** (1 - p),)
            scaled = np.sign(a) * np.abs(a) ** (p - 1) if p < 2 else a * np.abs(a) ** (p - 2)
            scale = np.where(norm == 0, 0, g / norm ** (p - 1))
        return (scaled * scale,)


# ---------------------------------------------------------------------------- functional API


def det(A) -> Tensor:
    """The determinant of each square matrix in ``A`` (..., n, n)."""
    return Det.apply((_floating_matrix(A, "linalg.det"),))


def slogdet(A) -> SlogdetResult:
    """``(sign, log|det|)``; the gradient flows through ``logabsdet``."""
    A = _floating_matrix(A, "linalg.slogdet")
    logabs = LogAbsDet.apply((A,))
    sign = np.linalg.slogdet(A._data)[0].astype(A._data.dtype)
    return SlogdetResult(Tensor._wrap(np.asarray(sign)), logabs)


def logdet(A) -> Tensor:
    """``log(det(A))``: NaN where the determinant is negative, -inf where it is 0."""
    from . import where

    sign, logabs = slogdet(A)
    return where(sign._data < 0, np.nan, logabs)


def inv(A) -> Tensor:
    """The inverse of each square matrix; a singular one is an error naming its shape."""
    A = _floating_matrix(A, "linalg.inv")
    try:
        return Inv.apply((A,))
    except RuntimeError as e:
        if "Singular" in str(e):
            _raise_singular("linalg.inv", A)
        raise


inverse = inv


def solve(A, B, *, left: bool = True) -> Tensor:
    """``X`` with ``A X = B`` (``X A = B`` when ``left=False``); ``B`` a matrix or, when it
    has one dim fewer than ``A``, a vector per matrix."""
    A = _floating_matrix(A, "linalg.solve")
    B = _t(B)
    if not left:
        return solve(A.transpose(-2, -1), B.transpose(-2, -1)).transpose(-2, -1)
    vector = B._data.ndim == 1 or (
        B._data.ndim == A._data.ndim - 1 and B._data.shape == A._data.shape[:-1]
    )
    b = B.unsqueeze(-1) if vector else B
    n = A._data.shape[-1]
    if b._data.shape[-2] != n:
        raise RuntimeError(
            f"linalg.solve: incompatible shapes of A {tuple(A.shape)} and B {tuple(B.shape)}"
        )
    if b._data.ndim < A._data.ndim:
        b = b.expand(*(A._data.shape[:-2] + b._data.shape[-2:]))
    elif A._data.ndim < b._data.ndim:
        A = A.expand(*(b._data.shape[:-2] + A._data.shape[-2:]))
    try:
        x = Solve.apply((A, b))
    except RuntimeError as e:
        if "Singular" in str(e):
            raise RuntimeError(
                f"linalg.solve: the solver failed because the input matrix is singular "
                f"(A of shape {tuple(A.shape)})"
            ) from e
        raise
    return x.squeeze(-1) if vector else x


def cholesky(A, *, upper: bool = False) -> Tensor:
    """The lower triangular ``L`` with ``A = L L^T`` (``L^T`` when ``upper``)."""
    A = _floating_matrix(A, "linalg.cholesky")
    try:
        L = Cholesky.apply((A,))
    except RuntimeError as e:
        raise RuntimeError(
            f"linalg.cholesky: the factorization could not be completed because the input is "
            f"not positive-definite (shape {tuple(A.shape)})"
        ) from e
    return L.transpose(-2, -1) if upper else L


def qr(A, mode: str = "reduced") -> QRResult:
    """``Q`` with orthonormal columns and upper triangular ``R``, ``A = Q R``."""
    A = _floating_matrix(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', not {mode!r}")
    m, n = A._data.shape[-2:]
    k = builtins.min(m, n)
    qcols, rrows = (m, m) if mode == "complete" else (k, k)
    packed = QR.apply((A,), "complete" if mode == "complete" else "reduced")
    q, r = _unpack(packed, ((m, qcols), (rrows, n)))
    if mode == "r":
        return QRResult(Tensor._wrap(np.zeros((0,), A._data.dtype)), r)
    return QRResult(q, r)


def svd(A, full_matrices: bool = True) -> SVDResult:
    """``U, S, Vh`` with ``A = U diag(S) Vh``; the gradient of ``U`` and ``Vh`` needs
    distinct singular values (and, with ``full_matrices``, uses their first k columns)."""
    A = _floating_matrix(A, "linalg.svd", square=False)
    m, n = A._data.shape[-2:]
    k = builtins.min(m, n)
    us, vs = ((m, m), (n, n)) if full_matrices else ((m, k), (k, n))
    packed = SVD.apply((A,), bool(full_matrices))
    u, s, vh = _unpack(packed, (us, (k,), vs))
    return SVDResult(u, s, vh)


def svdvals(A) -> Tensor:
    """The singular values, in descending order."""
    return SVDVals.apply((_floating_matrix(A, "linalg.svdvals", square=False),))


def eigh(A, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices (from the ``UPLO``
    triangle)."""
    A = _floating_matrix(A, "linalg.eigh")
    n = A._data.shape[-1]
    w, q = _unpack(Eigh.apply((A,), UPLO), ((n,), (n, n)))
    return EighResult(w, q)


def eigvalsh(A, UPLO: str = "L") -> Tensor:
    return EigvalsH.apply((_floating_matrix(A, "linalg.eigvalsh"),), UPLO)


def pinv(A, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse (singular values below ``rtol * max(s)`` dropped;
    ``rtol`` is ``eps * max(m, n)`` by default, as PyTorch)."""
    A = _floating_matrix(A, "linalg.pinv", square=False)
    if atol is not None:
        raise NotImplementedError("linalg.pinv: atol= is not supported; use rtol=")
    if rtol is None:
        rtol = np.finfo(A._data.dtype).eps * builtins.max(A._data.shape[-2:])
    return Pinv.apply((A,), float(rtol), bool(hermitian))


def _pinverse(A, rcond: float = 1e-15) -> Tensor:
    return pinv(A, rtol=rcond)


def lstsq(A, B, rcond=None, *, driver=None) -> LstsqResult:
    """The least-squares solution of ``A X = B`` (``pinv(A) @ B``; its gradient too)."""
    A = _floating_matrix(A, "linalg.lstsq", square=False)
    B = _t(B)
    vector = B._data.ndim == A._data.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    if b._data.shape[-2] != A._data.shape[-2]:
        raise RuntimeError(
            f"linalg.lstsq: A {tuple(A.shape)} and B {tuple(B.shape)} must have the same "
            f"number of rows"
        )
    x = pinv(A, rtol=rcond) @ b
    x = x.squeeze(-1) if vector else x
    empty = Tensor._wrap(np.zeros((0,), A._data.dtype))
    rank = Tensor._wrap(np.asarray(np.linalg.matrix_rank(A._data), dtype=np.int64))
    return LstsqResult(x, empty, rank, empty)


def matrix_power(A, n: int) -> Tensor:
    """``A`` multiplied by itself ``n`` times (by squaring); ``n = 0`` the identity, ``n < 0``
    powers of the inverse."""
    from . import matmul

    A = _t(A)
    if A._data.ndim < 2 or A._data.shape[-1] != A._data.shape[-2]:
        raise RuntimeError(
            f"linalg.matrix_power: A must be batches of square matrices, got shape {tuple(A.shape)}"
        )
    if n == 0:
        eye = np.broadcast_to(np.eye(A._data.shape[-1], dtype=A._data.dtype), A._data.shape)
        return A * 0 + Tensor._wrap(eye.copy())
    if n < 0:
        A, n = inv(A), -n
    out, base = None, A
    while n:
        if n & 1:
            out = base if out is None else matmul(out, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return out


def multi_dot(tensors) -> Tensor:
    """``tensors[0] @ tensors[1] @ ...``; the first may be a row vector and the last a column
    vector (1-D)."""
    from . import matmul

    ts = [_t(t) for t in tensors]
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot: expected at least 2 tensors but got {len(ts)}")
    first_vec, last_vec = ts[0]._data.ndim == 1, ts[-1]._data.ndim == 1
    if first_vec:
        ts[0] = ts[0].unsqueeze(0)
    if last_vec:
        ts[-1] = ts[-1].unsqueeze(-1)
    for i, t in enumerate(ts):
        if t._data.ndim != 2:
            raise RuntimeError(
                f"multi_dot: tensor {i} must be 2-D (1-D at the ends), got shape {t.shape}"
            )
    out = ts[0]
    for t in ts[1:]:
        out = matmul(out, t)
    if first_vec:
        out = out.squeeze(0)
    if last_vec:
        out = out.squeeze(-1)
    return out


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """The ``ord``-norm of ``x`` as a vector over ``dim`` (all elements when None): any real
    ``ord``, ``inf`` and ``-inf``; ``ord = 0`` counts the non-zero elements (gradient 0)."""
    from . import amax, amin, norm, sign
    from . import sum as _sum

    x = _t(x) if dtype is None else _t(x).to(dtype)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"linalg.vector_norm: expected a floating point input, got {x.dtype}")
    if isinstance(dim, int):
        dim = (dim,)
    if ord == 0:
        return _sum(sign(x.abs()), dim, keepdim)
    if ord == float("inf"):
        return amax(x.abs(), dim, keepdim)
    if ord == float("-inf"):
        return amin(x.abs(), dim, keepdim)
    if ord in (1, 2):
        return norm(x, ord, dim, keepdim)
    if x._data.ndim == 0:
        return x.abs()
    from .scan import _dims

    return PNorm.apply((x,), float(ord), _dims(dim, x._data.ndim, "linalg.vector_norm"), keepdim)


def _matrix_dims(A: Tensor, dim, op: str) -> tuple:
    from .index import _dim

    d0, d1 = (_dim(d, A._data.ndim, op) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{op}: dims must be different, got {dim}")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """A matrix norm over the two dims ``dim``: 'fro', 'nuc', 2, -2 (largest and smallest
    singular value), 1, -1 (max/min column sum of |A|), inf, -inf (max/min row sum)."""
    from . import amax, amin, norm
    from . import sum as _sum

    A = _t(A) if dtype is None else _t(A).to(dtype)
    if A._data.ndim < 2:
        raise RuntimeError(
            f"linalg.matrix_norm: the input must have at least 2 dims, got shape {A.shape}"
        )
    d0, d1 = _matrix_dims(A, dim, "linalg.matrix_norm")
    if ord == "fro":
        return norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        moved = A.movedim((d0, d1), (-2, -1))
        s = svdvals(moved)
        out = _sum(s, -1) if ord == "nuc" else (amax if ord == 2 else amin)(s, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    inf = float("inf")
    if ord in (1, -1, inf, -inf):
        summed, other = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = _sum(A.abs(), summed, keepdim=True)
        out = (amax if ord in (1, inf) else amin)(sums, other, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: order {ord!r} is not supported")


def linalg_norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """``linalg.norm``: a vector norm when ``dim`` is an int (or ``A`` 1-D), a matrix norm
    when ``dim`` is a pair (or ``A`` 2-D and ``ord`` given); the flat 2-norm otherwise."""
    A = _t(A)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        if len(dim) == 1:
            return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A._data.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A._data.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise RuntimeError(
        f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or 2-D, got shape "
        f"{tuple(A.shape)}"
    )


def matrix_rank(A, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The number of singular values above ``rtol * max(s)`` (no gradient)."""
    A = _floating_matrix(A, "linalg.matrix_rank", square=False)
    s = np.linalg.svd(A._data, compute_uv=False)
    if rtol is None:
        rtol = np.finfo(A._data.dtype).eps * builtins.max(A._data.shape[-2:])
    tol = rtol * s.max(-1, initial=0.0, keepdims=True)
    if atol is not None:
        tol = np.maximum(tol, atol)
    return Tensor._wrap(np.asarray((s > tol).sum(-1), dtype=np.int64))


def vecdot(x, y, *, dim: int = -1) -> Tensor:
    from . import sum as _sum

    return _sum(_t(x) * y, dim)


def _old_svd(A, some: bool = True, compute_uv: bool = True) -> OldSVDResult:
    """``torch.svd``: ``U, S, V`` (V, not Vh), reduced when ``some``."""
    u, s, vh = svd(A, full_matrices=not some)
    return OldSVDResult(u, s, vh.transpose(-2, -1))


def _old_qr(A, some: bool = True) -> QRResult:
    return qr(A, "reduced" if some else "complete")


def _old_cholesky(A, upper: bool = False) -> Tensor:
    return cholesky(A, upper=upper)


METHODS = {
    "det": det,
    "logdet": logdet,
    "slogdet": slogdet,
    "inverse": inv,
    "pinverse": _pinverse,
    "matrix_power": matrix_power,
    "cholesky": _old_cholesky,
    "svd": _old_svd,
    "qr": _old_qr,
}
