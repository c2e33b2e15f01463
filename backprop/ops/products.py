"""Products by name: einsum (a primitive) and the matrix products PyTorch programs call
(mm, bmm, mv, dot, outer, addmm, baddbmm, tensordot), which check their shapes as PyTorch
does and are otherwise ``matmul`` or ``einsum``.

``einsum``'s rule for each operand is another einsum: the upstream gradient contracted with
the other operands, written back onto the operand's own subscripts (spread over repeated
subscripts, the diagonal of a trace, and broadcast over letters that were summed away).

>>> import backprop as bp
>>> a = bp.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> bp.einsum("ii->", a).backward()  # the trace
>>> a.grad
tensor([[1., 0.],
       [0., 1.]])
"""

from __future__ import annotations

import string

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .unary import _t


def _parse(equation: str, shapes: list) -> tuple[list[str], str]:
    """Each operand's subscripts and the output's, with ``...`` spelled out as letters and
    the implicit output (letters used once, sorted) made explicit."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {len(terms)} subscripts for {len(shapes)} operands")
    spare = [c for c in string.ascii_letters if c not in eq]
    n_ell = max([len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)] + [0])
    ell = "".join(spare[:n_ell])
    out = []
    for t, shape in zip(terms, shapes):
        k = len(shape) - len(t.replace("...", ""))
        if "..." not in t and k:
            raise ValueError(f"einsum: subscripts '{t}' do not fit an operand of shape {shape}")
        out.append(t.replace("...", ell[n_ell - k :] if k else ""))
    if arrow:
        res = rhs.replace("...", ell)
    else:
        counts = {c: "".join(out).count(c) for c in set("".join(out)) if c not in ell}
        res = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    return out, res


class Einsum(Function):
    name = "einsum"
    formulas = (
        "d einsum(A,B,..)/dA: dL/dA = einsum(dL/dY, B, ..) onto A's subscripts",
        "d einsum(A,B,..)/dB: dL/dB = einsum(dL/dY, A, ..) onto B's subscripts",
        "d einsum(A,B,..)/dC: dL/dC = einsum(dL/dY, A, B, ..) onto C's subscripts",
    )

    def forward(self, *args):
        *arrays, equation = args
        self.terms, self.out = _parse(equation, [a.shape for a in arrays])
        self.saved = tuple(arrays)
        return np.einsum(",".join(self.terms) + "->" + self.out, *arrays, optimize=True)

    def backward(self, g):
        arrays = self.saved
        return tuple(
            self._grad_of(i, g, arrays) if self.needs_grad(i) else None for i in range(len(arrays))
        )

    def _grad_of(self, i, g, arrays):
        term, shape = self.terms[i], arrays[i].shape
        sizes = {}
        for t, a in zip(self.terms, arrays):
            for c, n in zip(t, a.shape):
                sizes[c] = max(sizes.get(c, 1), n)
        unique = "".join(dict.fromkeys(term))
        others = [(t, a) for j, (t, a) in enumerate(zip(self.terms, arrays)) if j != i]
        known = set(self.out).union(*[set(t) for t, _ in others])
        have = "".join(c for c in unique if c in known)
        spec = ",".join([self.out] + [t for t, _ in others]) + "->" + have
        gu = np.einsum(spec, g, *[a for _, a in others], optimize=True)
        gu = np.expand_dims(gu, tuple(k for k, c in enumerate(unique) if c not in known))
        # operand dims of size 1 that others broadcast: the engine's unbroadcast sums them
        gu = np.broadcast_to(gu, tuple(sizes[c] for c in unique))
        if len(unique) == len(term):
            return np.ascontiguousarray(gu)
        full = np.zeros_like(gu, shape=tuple(sizes[c] for c in term))
        grid = np.indices(gu.shape, sparse=True)
        full[tuple(grid[unique.index(c)] for c in term)] = gu
        return (
            full
            if full.shape == shape
            else full.sum(
                axis=tuple(k for k, (m, n) in enumerate(zip(full.shape, shape)) if m != n),
                keepdims=True,
            )
        )


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation: ``bp.einsum("ij,jk->ik", a, b)`` is ``a @ b``; ``...``, traces
    (``"ii"``), implicit outputs and broadcasting work as in PyTorch."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return Einsum.apply(tuple(_t(o) for o in operands), equation)


def _need(op: str, t: Tensor, ndim: int, what: str) -> None:
    if t._data.ndim != ndim:
        raise RuntimeError(f"{op}: {what} must be {ndim}-D, got shape {tuple(t.shape)}")


def mm(input, mat2) -> Tensor:
    """The matrix product of two 2-D tensors (no broadcasting)."""
    from . import matmul

    input, mat2 = _t(input), _t(mat2)
    _need("mm", input, 2, "input")
    _need("mm", mat2, 2, "mat2")
    return matmul(input, mat2)


def bmm(input, mat2) -> Tensor:
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (no broadcasting)."""
    from . import matmul

    input, mat2 = _t(input), _t(mat2)
    _need("bmm", input, 3, "input")
    _need("bmm", mat2, 3, "mat2")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def mv(input, vec) -> Tensor:
    from . import matmul

    input, vec = _t(input), _t(vec)
    _need("mv", input, 2, "input")
    _need("mv", vec, 1, "vec")
    return matmul(input, vec)


def dot(input, other) -> Tensor:
    """The inner product of two 1-D tensors."""
    from . import matmul

    input, other = _t(input), _t(other)
    _need("dot", input, 1, "input")
    _need("dot", other, 1, "other")
    return matmul(input, other)


def outer(input, vec2) -> Tensor:
    """``input[i] * vec2[j]`` for 1-D tensors: shape (n, m)."""
    input, vec2 = _t(input), _t(vec2)
    _need("outer", input, 1, "input")
    _need("outer", vec2, 1, "vec2")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


def addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` (``input`` broadcasts)."""
    prod = mm(mat1, mat2)
    prod = prod if alpha == 1 else alpha * prod
    return prod + (input if beta == 1 else beta * input) if beta != 0 else prod


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
    prod = bmm(batch1, batch2)
    prod = prod if alpha == 1 else alpha * prod
    return prod + (input if beta == 1 else beta * input) if beta != 0 else prod


def tensordot(a, b, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b`` (or the given
    pairs of dims), through ``einsum``."""
    a, b = _t(a), _t(b)
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    if isinstance(dims, int):
        pairs = list(zip(range(a.ndim - dims, a.ndim), range(dims)))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
        pairs = list(zip(da, db))
    for i, j in pairs:
        sb[j] = sa[i]
    shared = {sa[i] for i, _ in pairs}
    out = [c for c in sa if c not in shared] + [c for c in sb if c not in shared]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


METHODS = {
    "mm": mm,
    "bmm": bmm,
    "mv": mv,
    "dot": dot,
    "outer": outer,
    "ger": outer,
    "addmm": addmm,
    "baddbmm": baddbmm,
}
