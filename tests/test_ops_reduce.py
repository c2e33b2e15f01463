"""Reductions and scans beyond sum/mean/max (prod, logsumexp, median, cumsum, cumprod,
cummax, cummin, logcumsumexp, std_mean, var_mean, dtype=): the op table of test_ops.py run
the same three ways, then exact values and gradients at zeros, ties and NaN against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from test_ops import Case, edge_tests, op_table_tests

import backprop as bp

torch = pytest.importorskip("torch")


def lib(x):
    """The library a tensor belongs to, so one lambda serves both."""
    return torch if isinstance(x, torch.Tensor) else bp


CASES = [
    Case("prod", lambda a: a.prod(), ((3, 4),)),
    Case("prod-dim", lambda a: a.prod(1), ((3, 4),)),
    Case("prod-dim-keep", lambda a: a.prod(dim=0, keepdim=True), ((3, 4),)),
    Case("prod-fn", lambda a: lib(a).prod(a, -1), ((2, 3, 4),)),
    Case("logsumexp", lambda a: a.logsumexp(1), ((3, 4),)),
    Case("logsumexp-dims-keep", lambda a: a.logsumexp((0, 2), keepdim=True), ((2, 3, 4),)),
    Case("logsumexp-fn", lambda a: lib(a).logsumexp(a, dim=0), ((3, 4),)),
    Case("cumsum", lambda a: a.cumsum(1), ((3, 4),)),
    Case("cumsum-0", lambda a: a.cumsum(dim=0), ((3, 4),)),
    Case("cumsum-fn", lambda a: lib(a).cumsum(a, -1), ((2, 3, 4),)),
    Case("cumprod", lambda a: a.cumprod(1), ((3, 4),)),
    Case("cumprod-0", lambda a: a.cumprod(0), ((5, 2),)),
    Case("cummax", lambda a: a.cummax(1).values, ((3, 5),), "d"),
    Case("cummin", lambda a: a.cummin(0)[0], ((4, 3),), "d"),
    Case("cummax-fn", lambda a: lib(a).cummax(a, dim=-1).values, ((2, 3, 4),), "d"),
    Case("logcumsumexp", lambda a: a.logcumsumexp(1), ((3, 4),)),
    Case("logcumsumexp-0", lambda a: lib(a).logcumsumexp(a, 0), ((4, 3),)),
    Case("median", lambda a: a.median(), ((3, 5),), "d"),
    Case("median-dim", lambda a: a.median(1).values, ((3, 5),), "d"),
    Case("median-dim-keep", lambda a: a.median(0, keepdim=True)[0], ((4, 3),), "d"),
    Case(
        "std_mean",
        lambda a: sum(lib(a).std_mean(a, 1)) * 1.0,
        ((3, 4),),
    ),
    Case(
        "var_mean-keep",
        lambda a: lib(a).var_mean(a, dim=0, keepdim=True)[0] * 3 + lib(a).var_mean(a, 0)[1],
        ((3, 4),),
    ),
    Case("var_mean-all", lambda a: lib(a).var_mean(a, correction=0)[0], ((3, 4),)),
    Case("sum-dtype", lambda a: a.float().sum(dtype=lib(a).float64), ((3, 4),)),
    Case("mean-dtype", lambda a: a.float().mean(1, dtype=lib(a).float64), ((3, 4),)),
    Case("nansum", lambda a: a.nansum(1), ((3, 4),)),
    Case("nanmean", lambda a: a.nanmean(), ((3, 4),)),
]


test_matches_torch, test_gradcheck, test_float32_stays_float32 = op_table_tests(
    CASES, no_gradcheck=("dtype",), no_float32=("dtype",)
)


NAN, INF = float("nan"), float("inf")

EDGES = [
    ("prod-one-zero", lambda a: a.prod(), ([2.0, 0.0, 3.0],)),
    ("prod-two-zeros", lambda a: a.prod(), ([2.0, 0.0, 3.0, 0.0],)),
    ("prod-dim-zeros", lambda a: a.prod(1), ([[0.0, 2.0, 3.0], [1.0, 0.0, 0.0], [1.0, 2.0, 3.0]],)),
    ("cumprod-zeros", lambda a: a.cumprod(0), ([2.0, 0.0, 3.0, 0.0, 5.0],)),
    ("cumprod-zero-first", lambda a: a.cumprod(1), ([[0.0, 2.0, 3.0], [1.0, 2.0, 0.0]],)),
    ("cummax-ties-nan", lambda a: a.cummax(0).values, ([1.0, 3.0, 3.0, 2.0, NAN, 5.0, NAN],)),
    ("cummin-ties", lambda a: a.cummin(0).values, ([3.0, 1.0, 1.0, 2.0, 0.0, 0.0],)),
    ("logsumexp-infs", lambda a: a.logsumexp(1), ([[-INF, -INF], [1.0, INF], [0.0, 0.0]],)),
    ("logcumsumexp-infs", lambda a: a.logcumsumexp(1), ([[-INF, -INF, 1.0], [2.0, INF, 3.0]],)),
    (
        "median-ties",
        lambda a: a.median(0).values,
        ([[2.0, 1.0], [2.0, 3.0], [1.0, 3.0], [2.0, 0.0]],),
    ),
    ("median-nan", lambda a: a.median(1).values, ([[1.0, NAN, 3.0], [4.0, 2.0, 0.0]],)),
    ("median-all-nan", lambda a: a.median(), ([1.0, NAN, 3.0],)),
]


test_edge_values_match_torch = edge_tests(EDGES)


@pytest.mark.parametrize(
    "name, fn",
    [
        ("cummax", lambda a: a.cummax(1)),
        ("cummin", lambda a: a.cummin(0)),
        ("median", lambda a: a.median(1)),
        ("median-keep", lambda a: a.median(0, keepdim=True)),
    ],
)
def test_indices_match_torch(name, fn) -> None:
    data = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 5.0, 2.0], [NAN, 1.0, 0.0, 1.0]])
    ours, theirs = fn(bp.tensor(data)), fn(torch.tensor(data))
    assert ours.indices.dtype == np.int64
    assert ours.indices.tolist() == theirs.indices.tolist()
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())


def test_integer_reductions_and_counts_match_torch() -> None:
    data = np.array([[1, 0, 3], [4, 5, 0]])
    a, t = bp.tensor(data), torch.tensor(data)
    for fn in [
        lambda x: x.prod(),
        lambda x: x.prod(1),
        lambda x: x.cumsum(0),
        lambda x: x.cumprod(1),
        lambda x: x.count_nonzero(),
        lambda x: x.count_nonzero(dim=1),
        lambda x: x.sum(dtype=lib(x).float64),
        lambda x: (x > 0).cumsum(1),
        lambda x: (x > 0).sum(),
    ]:
        ours, theirs = fn(a), fn(t)
        assert ours.tolist() == theirs.tolist()
        assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    low, high = a.aminmax()
    assert (low.item(), high.item()) == (0, 5)


def test_dims_out_of_range_raise_index_error() -> None:
    x = bp.ones(2, 3)
    for call in [lambda: x.cumsum(2), lambda: x.prod(-3), lambda: x.logsumexp(5)]:
        with pytest.raises(IndexError, match="out of range"):
            call()
    s = bp.tensor(2.0, requires_grad=True)  # a 0-d tensor takes dims 0 and -1
    assert s.cumsum(0).item() == 2.0 and s.prod(-1).item() == 2.0
    assert s.cummax(0).indices.item() == 0


@pytest.mark.parametrize(
    "fn, shape",
    [
        (lambda a: a.cumsum(1), (2, 0, 3)),
        (lambda a: a.cumprod(1), (2, 0, 3)),
        (lambda a: a.cummax(1).values, (2, 0, 3)),
        (lambda a: a.cummin(0).values, (0, 3)),
        (lambda a: a.prod(1), (2, 0, 3)),
        (lambda a: a.prod(), (0,)),
        (lambda a: a.logsumexp(1), (2, 0)),
        (lambda a: a.logcumsumexp(1), (2, 0)),
    ],
)
def test_zero_size_dims_match_torch(fn, shape) -> None:
    x = bp.zeros(*shape, dtype=bp.float64, requires_grad=True)
    t = torch.zeros(*shape, dtype=torch.float64, requires_grad=True)
    out, expected = fn(x), fn(t)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    out.sum().backward()
    expected.sum().backward()
    assert x.grad.shape == shape
