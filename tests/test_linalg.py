"""``bp.linalg`` against ``torch.linalg``: values and gradients in float64 (random upstream
gradients), gradcheck on each, float32 kept, batches, and the errors for singular and
non-square inputs. Eigen- and singular vectors are compared through sign-free functions of
them (their signs are LAPACK's choice)."""

from __future__ import annotations

import numpy as np
import pytest

import backprop as bp

torch = pytest.importorskip("torch")


def _spd(m, a):
    """A symmetric positive definite matrix built from ``a`` (batches too)."""
    n = a.shape[-1]
    eye = m.eye(n, dtype=a.dtype)
    return a @ a.transpose(-2, -1) + n * eye


def _sym(a):
    return a + a.transpose(-2, -1)


CASES = [
    # (id, fn(module, *inputs) written for bp and torch alike, input shapes)
    ("det", lambda m, a: m.linalg.det(a), ((3, 3),)),
    ("det-batch", lambda m, a: m.linalg.det(a), ((2, 4, 4),)),
    ("det-method", lambda m, a: a.det(), ((3, 3),)),
    ("slogdet", lambda m, a: m.linalg.slogdet(a).logabsdet, ((2, 3, 3),)),
    ("slogdet-sign", lambda m, a: m.linalg.slogdet(a)[0] * a.sum(), ((3, 3),)),
    ("logdet", lambda m, a: m.logdet(_spd(m, a)), ((3, 3),)),
    ("inv", lambda m, a: m.linalg.inv(a), ((3, 3),)),
    ("inv-batch", lambda m, a: m.linalg.inv(a), ((2, 3, 3),)),
    ("inverse", lambda m, a: a.inverse(), ((4, 4),)),
    ("solve", lambda m, a, b: m.linalg.solve(a, b), ((3, 3), (3, 2))),
    ("solve-vector", lambda m, a, b: m.linalg.solve(a, b), ((3, 3), (3,))),
    ("solve-batch-bcast", lambda m, a, b: m.linalg.solve(a, b), ((2, 3, 3), (3, 4))),
    ("solve-right", lambda m, a, b: m.linalg.solve(a, b, left=False), ((3, 3), (2, 3))),
    ("cholesky", lambda m, a: m.linalg.cholesky(_spd(m, a)), ((4, 4),)),
    ("cholesky-upper-batch", lambda m, a: m.linalg.cholesky(_spd(m, a), upper=True), ((2, 3, 3),)),
    ("qr-tall", lambda m, a: m.cat([x.flatten() for x in m.linalg.qr(a)]), ((5, 3),)),
    ("qr-square-batch", lambda m, a: m.linalg.qr(a).R, ((2, 3, 3),)),
    ("qr-wide", lambda m, a: m.cat([x.flatten() for x in m.linalg.qr(a)]), ((3, 5),)),
    ("svdvals", lambda m, a: m.linalg.svdvals(a), ((4, 3),)),
    ("svdvals-batch-wide", lambda m, a: m.linalg.svdvals(a), ((2, 2, 4),)),
    (
        "svd-reduced-tall",
        lambda m, a: _svd_parts(m.linalg.svd(a, full_matrices=False)),
        ((5, 3),),
    ),
    ("svd-reduced-wide", lambda m, a: _svd_parts(m.linalg.svd(a, full_matrices=False)), ((3, 5),)),
    ("svd-square", lambda m, a: _svd_parts(m.linalg.svd(a)), ((4, 4),)),
    ("svd-full-S", lambda m, a: m.linalg.svd(a)[1], ((4, 2),)),
    (
        "svd-batch",
        lambda m, a: _svd_parts(m.linalg.svd(a, full_matrices=False)),
        ((2, 4, 3),),
    ),
    ("qr-complete-square", lambda m, a: m.linalg.qr(a, "complete").Q, ((3, 3),)),
    ("eigh", lambda m, a: _eigh_parts(m.linalg.eigh(_sym(a))), ((4, 4),)),
    ("eigh-batch", lambda m, a: _eigh_parts(m.linalg.eigh(_sym(a))), ((2, 3, 3),)),
    ("eigvalsh", lambda m, a: m.linalg.eigvalsh(_sym(a)), ((4, 4),)),
    ("pinv-tall", lambda m, a: m.linalg.pinv(a), ((5, 3),)),
    ("pinv-wide", lambda m, a: m.linalg.pinv(a), ((2, 4),)),
    ("pinverse", lambda m, a: a.pinverse(), ((3, 3),)),
    ("lstsq", lambda m, a, b: m.linalg.lstsq(a, b).solution, ((5, 3), (5, 2))),
    ("matrix_power-3", lambda m, a: m.linalg.matrix_power(a, 3), ((3, 3),)),
    ("matrix_power-0", lambda m, a: m.linalg.matrix_power(a, 0) + a, ((3, 3),)),
    ("matrix_power-neg", lambda m, a: a.matrix_power(-2), ((2, 3, 3),)),
    ("multi_dot", lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), ((3,), (3, 4), (4, 2))),
    ("multi_dot-col", lambda m, a, b: m.linalg.multi_dot([a, b]), ((2, 3), (3,))),
    ("linalg-matmul", lambda m, a, b: m.linalg.matmul(a, b), ((2, 3), (3, 2))),
    ("vecdot", lambda m, a, b: m.linalg.vecdot(a, b), ((2, 3), (3,))),
    ("vector_norm", lambda m, a: m.linalg.vector_norm(a), ((3, 4),)),
    ("vector_norm-p3-dim", lambda m, a: m.linalg.vector_norm(a, 3, dim=1), ((3, 4),)),
    ("vector_norm-p0.5", lambda m, a: m.linalg.vector_norm(a, 0.5, dim=(0, 1)), ((3, 4),)),
    ("vector_norm-inf", lambda m, a: m.linalg.vector_norm(a, float("inf"), dim=0), ((3, 4),)),
    ("vector_norm--inf", lambda m, a: m.linalg.vector_norm(a, float("-inf")), ((3, 4),)),
    ("vector_norm-1-keep", lambda m, a: m.linalg.vector_norm(a, 1, -1, True), ((3, 4),)),
    ("vector_norm-0", lambda m, a: m.linalg.vector_norm(a, 0) * a.sum(), ((3, 4),)),
    *[
        (f"matrix_norm-{o}", lambda m, a, o=o: m.linalg.matrix_norm(a, o), ((2, 3, 4),))
        for o in ("fro", "nuc", 2, -2, 1, -1, float("inf"), float("-inf"))
    ],
    ("matrix_norm-dims-keep", lambda m, a: m.linalg.matrix_norm(a, 1, (0, 2), True), ((3, 2, 4),)),
    ("matrix_norm-nuc-dims", lambda m, a: m.linalg.matrix_norm(a, "nuc", (2, 0)), ((3, 2, 4),)),
    ("norm-flat", lambda m, a: m.linalg.norm(a), ((2, 3, 4),)),
    ("norm-matrix-ord", lambda m, a: m.linalg.norm(a, 2), ((3, 4),)),
    ("norm-vector-ord", lambda m, a: m.linalg.norm(a, 4), ((5,),)),
    ("norm-dim-int", lambda m, a: m.linalg.norm(a, dim=1), ((3, 4),)),
    ("norm-dim-pair", lambda m, a: m.linalg.norm(a, "nuc", dim=(0, 1)), ((3, 4),)),
]


def _svd_parts(usv):
    u, s, vh = usv
    return (u.abs(), s, vh.abs())


def _eigh_parts(lq):
    w, q = lq
    return (w, q.abs())


def _run(m, fn, arrays, requires_grad=True):
    if m is bp:
        xs = [bp.tensor(a, requires_grad=requires_grad) for a in arrays]
    else:
        xs = [torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    return xs, fn(m, *xs)


def _as_list(out):
    return list(out) if isinstance(out, tuple) else [out]


def _inputs(shapes, rng, dtype=np.float64):
    # well-conditioned: a random matrix plus a multiple of the identity where square
    arrays = []
    for s in shapes:
        a = rng.standard_normal(s)
        if len(s) >= 2 and s[-1] == s[-2]:
            a = a + 2 * np.eye(s[-1])
        arrays.append(a.astype(dtype))
    return arrays


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(case, rng) -> None:
    _, fn, shapes = case
    arrays = _inputs(shapes, rng)
    xs, outs = _run(bp, fn, arrays)
    ts, expected = _run(torch, fn, arrays)
    outs, expected = _as_list(outs), _as_list(expected)
    ups = []
    for o, e in zip(outs, expected):
        assert o.shape == tuple(e.shape)
        assert o.dtype == np.float64
        np.testing.assert_allclose(o.numpy(), e.detach().numpy(), rtol=1e-9, atol=1e-11)
        ups.append(rng.standard_normal(o.shape))
    total = sum((o * bp.tensor(u)).sum() for o, u in zip(outs, ups))
    total_t = sum((e * torch.tensor(u)).sum() for e, u in zip(expected, ups))
    total.backward()
    total_t.backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9)


GRADCHECKED = {
    "det",
    "det-batch",
    "slogdet",
    "inv-batch",
    "solve-batch-bcast",
    "cholesky",
    "qr-tall",
    "qr-wide",
    "svdvals",
    "svd-reduced-tall",
    "svd-reduced-wide",
    "eigh",
    "pinv-wide",
    "lstsq",
    "matrix_power-neg",
    "matrix_norm-nuc",
    "matrix_norm-2",
    "norm-vector-ord",
}


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c[0] in GRADCHECKED],
    ids=sorted(GRADCHECKED, key=[c[0] for c in CASES].index),
)
def test_gradcheck(case, rng) -> None:
    _, fn, shapes = case
    xs = [bp.tensor(a, requires_grad=True) for a in _inputs(shapes, rng)]

    def scalar(*ys):
        return sum(o.sum() * (i + 1) for i, o in enumerate(_as_list(fn(bp, *ys))))

    assert bp.gradcheck(scalar, xs)


@pytest.mark.parametrize("case", CASES[::3], ids=[c[0] for c in CASES[::3]])
def test_float32_stays_float32(case, rng) -> None:
    _, fn, shapes = case
    xs = [bp.tensor(a, requires_grad=True) for a in _inputs(shapes, rng, np.float32)]
    outs = _as_list(fn(bp, *xs))
    assert all(o.dtype == np.float32 for o in outs)
    sum(o.sum() for o in outs).backward()
    assert all(x.grad.dtype == np.float32 for x in xs)


def test_det_gradient_at_and_near_singular_matrices_matches_torch() -> None:
    """PyTorch's gradient is 0 at an exactly singular matrix, det(A) A^-T elsewhere (near a
    singular one too: computed here as the adjugate, without an inverse)."""
    cases = [
        [[1.0, 2.0], [2.0, 4.0]],
        [[0.0, 0.0], [0.0, 0.0]],
        [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        [[1.0, 2.0], [2.0, 4.0 + 1e-9]],
        [[1.0, 2.0], [3.0, 4.0]],
    ]
    for a in cases:
        x = bp.tensor(a, dtype=bp.float64, requires_grad=True)
        t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        bp.linalg.det(x).backward()
        torch.linalg.det(t).backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("p", [0.5, 1.5, 3.0, 4])
def test_vector_norm_and_cdist_at_zero_match_torch(p) -> None:
    """Any-p norms take PyTorch's rule: gradient 0 where the norm (or an element, p < 1) is 0."""
    rows = [[0.0, 0.0], [0.0, -2.0], [1.0, 3.0]]
    x = bp.tensor(rows, dtype=bp.float64, requires_grad=True)
    t = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    y, yt = bp.linalg.vector_norm(x, p, dim=1), torch.linalg.vector_norm(t, p, dim=1)
    (y.sum() + bp.cdist(x, x.detach() * 0.5, p=p).sum()).backward()
    (yt.sum() + torch.cdist(t, t.detach() * 0.5, p=p).sum()).backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_results_are_named_like_torch() -> None:
    a = bp.tensor(np.eye(3) * 2 + 0.1)
    sign, logabs = bp.linalg.slogdet(a)
    assert bp.linalg.slogdet(a).sign.item() == sign.item() == 1.0
    assert bp.linalg.qr(a).Q.shape == (3, 3) and bp.linalg.qr(a, "r").R.shape == (3, 3)
    assert bp.linalg.svd(a).Vh.shape == (3, 3)
    assert bp.linalg.eigh(a).eigenvalues.shape == (3,)
    res = bp.linalg.lstsq(a, bp.ones(3, 1))
    assert res.solution.shape == (3, 1) and res.rank.item() == 3
    u, s, v = a.svd()  # torch.svd: V, not Vh
    np.testing.assert_allclose((u * s) @ v.T, a.numpy(), atol=1e-6)
    assert bp.linalg.matrix_rank(bp.tensor([[1.0, 2.0], [2.0, 4.0]])).item() == 1
    assert bp.det(a).item() == pytest.approx(a.det().item())


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: bp.linalg.inv(bp.zeros(2, 2)), r"linalg.inv: .*singular.*\(2, 2\)"),
        (lambda: bp.linalg.inv(bp.ones(2, 3)), r"linalg.inv: .*square.*2 by 3"),
        (lambda: bp.linalg.det(bp.ones(3)), r"linalg.det: .*at least 2 dimensions"),
        (lambda: bp.linalg.solve(bp.zeros(2, 2), bp.ones(2)), r"linalg.solve: .*singular"),
        (lambda: bp.linalg.solve(bp.eye(2), bp.ones(3)), r"linalg.solve: .*shapes"),
        (lambda: bp.linalg.cholesky(-bp.eye(2)), r"linalg.cholesky: .*positive-definite"),
        (lambda: bp.linalg.eigh(bp.ones(2, 3)), r"linalg.eigh: .*square"),
        (lambda: bp.linalg.matrix_power(bp.ones(2, 3), 2), r"matrix_power: .*square"),
        (lambda: bp.linalg.multi_dot([bp.ones(2, 2)]), r"multi_dot"),
        (lambda: bp.linalg.det(bp.tensor([[1, 2], [3, 4]])), r"linalg.det: .*floating"),
    ],
)
def test_errors_name_the_op_and_shape(call, match) -> None:
    with pytest.raises(RuntimeError, match=match):
        call()
