"""The ops of ``ops/special.py``, ``ops/stats.py`` and ``ops/composite.py`` (special functions,
order statistics, counting, differences, index_add and friends): the op table of test_ops.py
run the same three ways (PyTorch float64, gradcheck, float32 kept), then edge values and the
ops without a gradient against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from test_ops import Case, edge_tests, op_table_tests

import backprop as bp

torch = pytest.importorskip("torch")

IDX = np.array([2, 0, 2])  # repeats: index_add accumulates


def fn_case(name: str, shapes: tuple, domains: str = "", **kwargs) -> Case:
    return Case(
        f"{name}-fn",
        lambda *xs: getattr(bp, name)(*xs, **kwargs),
        shapes,
        domains,
        torch_fn=lambda *ts: getattr(torch, name)(*ts, **kwargs),
    )


def _t(a):
    return torch.from_numpy(np.asarray(a))


CASES = [
    # special functions
    Case("lgamma", lambda a: a.lgamma(), ((3, 4),), "n"),
    Case("digamma", lambda a: a.digamma(), ((3, 4),), "p"),
    Case(
        "polygamma-2-fn",
        lambda a: bp.polygamma(2, a),
        ((5,),),
        "p",
        torch_fn=lambda a: torch.polygamma(2, a),
    ),
    Case("mvlgamma", lambda a: a.mvlgamma(3), ((3, 4),), "g"),
    Case("erfc", lambda a: a.erfc(), ((3, 4),)),
    Case("erfinv", lambda a: a.erfinv(), ((3, 4),), "u"),
    Case("i0", lambda a: a.i0(), ((3, 4),)),
    Case("sinc", lambda a: a.sinc(), ((3, 4),)),
    Case("logit", lambda a: a.sigmoid().logit(), ((3, 4),)),
    Case("logit-eps", lambda a: (a * 0.6).sigmoid().logit(eps=0.3), ((3, 4),)),
    Case("deg2rad", lambda a: a.deg2rad(), ((3, 4),)),
    fn_case("rad2deg", ((4,),)),
    fn_case("xlogy", ((3, 4), (4,)), "ap"),
    Case("xlogy-method", lambda a, b: a.xlogy(b), ((3, 1), (3, 4)), "ap"),
    fn_case("fmax", ((3, 4), (4,))),
    Case("fmin", lambda a, b: a.fmin(b), ((3, 1), (3, 4))),
    Case("float_power", lambda a, b: a.float_power(b), ((3, 4), (4,)), "pa"),
    Case("float_power-int", lambda a: a.float_power(3), ((3, 4),)),
    Case("true_divide", lambda a, b: a.true_divide(b), ((3, 4), (4,)), "an"),
    Case("addcmul", lambda a, b, c: a.addcmul(b, c, value=0.5), ((3, 4), (4,), (3, 1))),
    Case(
        "addcdiv",
        lambda a, b, c: bp.addcdiv(a, b, c, value=2),
        ((3, 4), (3, 4), (4,)),
        "aan",
        torch_fn=lambda a, b, c: torch.addcdiv(a, b, c, value=2),
    ),
    Case(
        "special-entr",
        lambda a: bp.special.entr(a),
        ((3, 4),),
        "p",
        torch_fn=lambda a: torch.special.entr(a),
    ),
    Case(
        "special-xlog1py",
        lambda a, b: bp.special.xlog1py(a, b),
        ((3, 4),) * 2,
        "ap",
        torch_fn=lambda a, b: torch.special.xlog1py(a, b),
    ),
    Case(
        "special-ndtr",
        lambda a: bp.special.ndtr(a),
        ((3, 4),),
        torch_fn=lambda a: torch.special.ndtr(a),
    ),
    Case(
        "special-log_softmax",
        lambda a: bp.special.log_softmax(a, 1),
        ((3, 4),),
        torch_fn=lambda a: torch.special.log_softmax(a, 1),
    ),
    # order statistics
    Case("mode", lambda a: a.mode(1).values, ((3, 4),)),
    Case("kthvalue", lambda a: a.kthvalue(2, 0).values, ((3, 4),), "d"),
    Case("kthvalue-keep", lambda a: a.kthvalue(3, -1, keepdim=True)[0], ((2, 5),), "d"),
    Case("nanmedian", lambda a: a.nanmedian(), ((3, 4),), "d"),
    Case("nanmedian-dim", lambda a: a.nanmedian(0).values, ((3, 4),), "d"),
    Case("quantile", lambda a: a.quantile(0.3), ((3, 4),), "d"),
    Case("quantile-dim", lambda a: a.quantile(0.75, dim=1, keepdim=True), ((3, 4),), "d"),
    Case(
        "quantile-qs",
        lambda a: a.quantile(bp.tensor([0.1, 0.5, 1.0], dtype=a.dtype), dim=0),
        ((5, 3),),
        "d",
        torch_fn=lambda a: a.quantile(torch.tensor([0.1, 0.5, 1.0], dtype=a.dtype), dim=0),
    ),
    *[
        Case(
            f"quantile-{how}",
            lambda a, how=how: a.quantile(0.4, dim=-1, interpolation=how),
            ((3, 6),),
            "d",
        )
        for how in ("lower", "higher", "midpoint", "nearest")
    ],
    Case("nanquantile", lambda a: a.nanquantile(0.6, dim=1), ((3, 4),), "d"),
    # differences and integrals
    Case("diff", lambda a: a.diff(), ((3, 4),)),
    Case("diff-n2-dim0", lambda a: a.diff(n=2, dim=0), ((4, 3),)),
    Case(
        "diff-prepend",
        lambda a, b: bp.diff(a, prepend=b, dim=0),
        ((3, 4), (1, 4)),
        torch_fn=lambda a, b: torch.diff(a, prepend=b, dim=0),
    ),
    fn_case("trapezoid", ((3, 5),)),
    Case(
        "trapezoid-x",
        lambda y, x: bp.trapezoid(y, x),
        ((3, 5), (5,)),
        torch_fn=lambda y, x: torch.trapezoid(y, x),
    ),
    Case(
        "trapezoid-dx",
        lambda y: bp.trapezoid(y, dx=0.5, dim=0),
        ((3, 5),),
        torch_fn=lambda y: torch.trapezoid(y, dx=0.5, dim=0),
    ),
    fn_case("cumulative_trapezoid", ((3, 5),)),
    Case(
        "cumulative_trapezoid-x",
        lambda y, x: bp.cumulative_trapezoid(y, x, dim=0),
        ((4, 2), (4, 2)),
        torch_fn=lambda y, x: torch.cumulative_trapezoid(y, x, dim=0),
    ),
    # products and rearrangements
    Case("cross", lambda a, b: a.cross(b, dim=1), ((2, 3), (2, 3))),
    Case(
        "linalg-cross-bcast",
        lambda a, b: bp.linalg.cross(a, b),
        ((4, 3), (1, 3)),
        torch_fn=lambda a, b: torch.linalg.cross(a, b),
    ),
    fn_case("kron", ((2, 3), (3, 2))),
    fn_case("kron", ((2,), (2, 3))),
    Case("rot90", lambda a: a.rot90(), ((2, 3),)),
    Case("rot90-k3", lambda a: a.rot90(3, (1, 2)), ((2, 3, 4),)),
    Case("rot90-k2", lambda a: a.rot90(-2, (0, 2)), ((2, 3, 4),)),
    Case("trace", lambda a: a.trace(), ((3, 4),)),
    fn_case("cdist", ((3, 4), (5, 4))),
    fn_case("cdist", ((2, 3, 4), (2, 2, 4)), p=1.0),
    fn_case("cdist", ((3, 4), (2, 4)), p=3.0),
    # index ops
    Case("index_add", lambda a, s: a.index_add(0, _idx(a), s, alpha=2), ((4, 3), (3, 3))),
    Case("index_copy", lambda a, s: a.index_copy(1, _idx(a, [2, 0]), s), ((2, 3), (2, 2))),
    Case("index_fill", lambda a: a.index_fill(1, _idx(a, [0, 2]), -1.5), ((2, 3),)),
    Case("index_fill-tensor", lambda a, v: a.index_fill(0, _idx(a, [1]), v.sum()), ((2, 3), (2,))),
    Case("take", lambda a: a.take(_idx(a, [[0, -1], [5, 5]])), ((2, 3),)),
    Case("put", lambda a, s: a.put(_idx(a, [4, 0]), s), ((2, 3), (2,))),
    Case(
        "put-accumulate",
        lambda a, s: a.put(_idx(a, [1, 1, -1]), s, accumulate=True),
        ((2, 3), (3,)),
    ),
]


def _idx(like, values=IDX):
    """An int64 index tensor of the same library as ``like``."""
    if isinstance(like, torch.Tensor):
        return torch.tensor(values)
    return bp.tensor(values)


test_matches_torch, test_gradcheck, test_float32_stays_float32 = op_table_tests(
    CASES,
    no_float32=("float_power",),  # float_power computes in float64 (PyTorch's)
)


# ---------------------------------------------------------------------------- edge values
NAN, INF = float("nan"), float("inf")

EDGES = [
    ("lgamma-poles", lambda a: a.lgamma(), ([0.0, -1.0, -2.5, 1.0, 2.0],)),
    ("erfinv-ends", lambda a: a.erfinv(), ([-1.0, 1.0, 0.0, 2.0],)),
    ("sinc-0", lambda a: a.sinc(), ([0.0, 1.0, -2.0, 0.5],)),
    ("logit-ends", lambda a: a.logit(), ([0.0, 1.0, 0.5, 2.0],)),
    ("logit-eps-clamped", lambda a: a.logit(0.25), ([0.0, 0.25, 0.5, 0.75, 1.0],)),
    (
        "xlogy-zeros",
        lambda a, b: a.xlogy(b),
        ([0.0, 0.0, 0.0, 1.0, 2.0], [0.0, NAN, 2.0, 0.0, INF]),
    ),
    (
        "fmax-nan-ties",
        lambda a, b: a.fmax(b),
        ([NAN, 1.0, 2.0, NAN, 3.0], [1.0, NAN, 2.0, NAN, 0.0]),
    ),
    (
        "fmin-nan-ties",
        lambda a, b: a.fmin(b),
        ([NAN, 1.0, 2.0, NAN, 3.0], [1.0, NAN, 2.0, NAN, 0.0]),
    ),
    ("mode-ties", lambda a: a.mode(0).values, ([[1.0, 2.0], [2.0, 2.0], [1.0, 3.0], [2.0, 3.0]],)),
    ("mode-whole", lambda a: a.mode().values, ([3.0, 1.0, 1.0, 3.0, 2.0],)),
    ("kthvalue-ties", lambda a: a.kthvalue(2).values, ([3.0, 1.0, 2.0, 1.0],)),
    ("nanmedian-nan", lambda a: a.nanmedian(), ([NAN, 3.0, 1.0, NAN, 2.0, 2.0],)),
    ("nanmedian-dim-nan", lambda a: a.nanmedian(1).values, ([[NAN, NAN], [1.0, NAN], [4.0, 3.0]],)),
    ("quantile-nan-row", lambda a: a.quantile(0.5, dim=1), ([[1.0, NAN, 3.0], [1.0, 2.0, 3.0]],)),
    (
        "nanquantile-nan-rows",
        lambda a: a.nanquantile(0.25, dim=1, interpolation="midpoint"),
        ([[1.0, NAN, 3.0], [NAN, NAN, NAN], [2.0, 2.0, 5.0]],),
    ),
    ("quantile-ties", lambda a: a.quantile(0.5), ([1.0, 2.0, 2.0, 2.0, 3.0, 9.0],)),
    (
        "cdist-zero-distance",
        lambda a, b: torch_or_bp(a).cdist(a, b),
        ([[0.0, 1.0]], [[0.0, 1.0], [1.0, 1.0]]),
    ),
]


def torch_or_bp(a):
    return torch if isinstance(a, torch.Tensor) else bp


test_edge_values_match_torch = edge_tests(EDGES)


def test_polygamma_and_digamma_match_torch_to_its_precision() -> None:
    """PyTorch's trigamma is good to about 1e-9 (SciPy's to the last bit): compare at 1e-8."""
    x = np.array([0.0, -0.5, 0.3, 1.0, 2.5, 7.0])
    for n in (0, 1, 2, 3):
        ours = bp.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        with np.errstate(all="ignore"):
            out = bp.polygamma(n, ours) if n else ours.digamma()
            out.sum().backward()
        expected = torch.polygamma(n, theirs) if n else theirs.digamma()
        expected.sum().backward()
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-8)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-8)


def test_index_results_match_torch() -> None:
    x = [[1.0, 2.0], [2.0, 2.0], [1.0, 3.0], [2.0, 3.0]]
    for ours, theirs in [
        (bp.tensor(x).mode(0), torch.tensor(x).mode(0)),
        (bp.tensor(x).kthvalue(3, 0, keepdim=True), torch.tensor(x).kthvalue(3, 0, keepdim=True)),
        (
            bp.tensor([[NAN, NAN], [1.0, NAN]]).nanmedian(1),
            torch.tensor([[NAN, NAN], [1.0, NAN]]).nanmedian(1),
        ),
        (bp.tensor(5.0).mode(), torch.tensor(5.0).mode()),
    ]:
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        assert ours.indices.tolist() == theirs.indices.tolist()
        assert ours.indices.dtype == np.int64


# ---------------------------------------------------------------------------- no gradient


def _same(ours, theirs) -> None:
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", "")), (
        ours.dtype,
        theirs.dtype,
    )
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


INTS = [3, 1, 3, 0, 7, 1, 1]
GRID = [[1, 2], [1, 2], [0, 5], [1, 2]]
SEQ = [[1.0, 3.0, 5.0, 7.0], [2.0, 4.0, 6.0, 8.0]]


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.histc(m.tensor([1.0, 2.0, 1.0, 4.0]), bins=4),
        lambda m: m.histc(m.tensor([1.0, 2.0, 1.0, 4.0, -1.0]), bins=3, min=0, max=3),
        lambda m: m.bincount(m.tensor(INTS)),
        lambda m: m.bincount(m.tensor(INTS), minlength=10),
        lambda m: m.bincount(m.tensor(INTS), weights=m.tensor([0.5] * 7)),
        lambda m: m.bincount(m.tensor(INTS), weights=m.tensor([0.5] * 7, dtype=m.float64)),
        lambda m: m.unique(m.tensor(INTS)),
        lambda m: m.unique(m.tensor(INTS), return_inverse=True, return_counts=True),
        lambda m: m.unique(m.tensor(GRID), dim=0, return_inverse=True, return_counts=True),
        lambda m: m.unique(m.tensor(GRID), dim=1, return_counts=True),
        lambda m: m.tensor([[2, 1], [1, 1]]).unique(return_inverse=True),
        lambda m: m.unique_consecutive(
            m.tensor(INTS + [7, 7]), return_inverse=True, return_counts=True
        ),
        lambda m: m.unique_consecutive(m.tensor(GRID), dim=0, return_counts=True),
        lambda m: m.searchsorted(m.tensor(SEQ[0]), m.tensor([0.0, 3.0, 6.0, 9.0])),
        lambda m: m.searchsorted(m.tensor(SEQ[0]), m.tensor([3.0, 5.0]), right=True),
        lambda m: m.searchsorted(m.tensor(SEQ), m.tensor([[3.0, 4.0], [4.0, 8.0]]), side="right"),
        lambda m: m.searchsorted(m.tensor(SEQ[0]), m.tensor([[3.0]]), out_int32=True),
        lambda m: m.bucketize(m.tensor([[0.0, 3.0], [6.0, 9.0]]), m.tensor(SEQ[0])),
        lambda m: m.bucketize(m.tensor([3.0, 7.0]), m.tensor(SEQ[0]), right=True),
        lambda m: m.gcd(m.tensor([12, -18, 0, 7]), m.tensor([8, 12, 5, 0])),
        lambda m: m.lcm(m.tensor([4, -6, 0]), m.tensor([6, 4, 3])),
        lambda m: m.heaviside(m.tensor([-1.5, 0.0, 2.0]), m.tensor([0.5])),
        lambda m: m.tensor([1.0, 0.0, -2.0]).heaviside(m.tensor([7.0, 8.0, 9.0])),
        lambda m: m.diff(m.tensor([True, False, False, True])),
        lambda m: m.deg2rad(m.tensor([180, 90])),
        lambda m: m.lgamma(m.tensor([1, 5])),
        lambda m: m.float_power(m.tensor([2, 3]), 2),
    ],
)
def test_no_grad_ops_match_torch(call) -> None:
    _same(call(bp), call(torch))


def test_in_place_index_ops_outside_a_graph() -> None:
    for name, args in [
        ("index_add_", (0, [2, 0, 2], np.ones((3, 2), np.float32))),
        ("index_copy_", (0, [2, 0], np.ones((2, 2), np.float32) * 5)),
        ("index_fill_", (1, [1], -3.0)),
        ("put_", ([5, 0], np.array([9.0, 8.0], np.float32))),
    ]:
        ours, theirs = bp.zeros(3, 2), torch.zeros(3, 2)
        a = [bp.tensor(x) if isinstance(x, (list, np.ndarray)) else x for x in args]
        b = [torch.tensor(x) if isinstance(x, (list, np.ndarray)) else x for x in args]
        assert getattr(ours, name)(*a) is ours
        getattr(theirs, name)(*b)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy().astype(np.float32))
    leaf = bp.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="index_fill_"):
        leaf.index_fill_(0, bp.tensor([0]), 1.0)


def test_in_place_elementwise_forms_match_torch() -> None:
    x = np.array([0.2, 0.5, 0.7])
    for name, args in [
        ("lgamma_", ()),
        ("erfinv_", ()),
        ("logit_", (0.3,)),
        ("sinc_", ()),
        ("polygamma_", (1,)),
        ("xlogy_", (2.0,)),
        ("deg2rad_", ()),
    ]:
        ours, theirs = bp.tensor(x), torch.tensor(x)
        assert getattr(ours, name)(*args) is ours
        getattr(theirs, name)(*args)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-8, err_msg=name)
    # inside a graph the op is recorded, as the other in-place ops
    w = bp.tensor(x, requires_grad=True)
    wt = torch.tensor(x, requires_grad=True)
    (w * 1).lgamma_().sum().backward()
    (wt * 1).lgamma_().sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-8)
    ints = bp.tensor([12, 18])
    assert ints.gcd_(bp.tensor([8, 12])).tolist() == [4, 6]


def test_errors_name_the_op() -> None:
    with pytest.raises(RuntimeError, match="cross"):
        bp.cross(bp.ones(2, 2), bp.ones(2, 2))
    with pytest.raises(IndexError, match="kthvalue"):
        bp.ones(3).kthvalue(4)
    with pytest.raises(RuntimeError, match="quantile"):
        bp.ones(3).quantile(1.5)
    with pytest.raises(IndexError, match="take"):
        bp.ones(2, 2).take(bp.tensor([4]))
    with pytest.raises(RuntimeError, match="index_add"):
        bp.ones(3, 2).index_add(0, bp.tensor([0]), bp.ones(1, 3))
    with pytest.raises(RuntimeError, match="gcd"):
        bp.gcd(bp.ones(2), bp.ones(2))
    with pytest.raises(RuntimeError, match="bincount"):
        bp.bincount(bp.tensor([-1, 2]))


def test_special_namespace_and_softmax_aliases() -> None:
    x = np.linspace(-2, 2, 6).reshape(2, 3)
    for name in (
        "erf",
        "erfc",
        "erfinv",
        "expit",
        "logit",
        "gammaln",
        "digamma",
        "i0",
        "sinc",
        "expm1",
        "exp2",
        "log1p",
        "ndtr",
    ):
        arg = x / 3 if name in ("erfinv",) else (1 / (1 + np.exp(-x)) if name == "logit" else x)
        ours = getattr(bp.special, name)(bp.tensor(arg))
        theirs = getattr(torch.special, name)(torch.tensor(arg))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(
        bp.special.softmax(bp.tensor(x), 1).numpy(), torch.special.softmax(torch.tensor(x), 1)
    )
    np.testing.assert_allclose(
        bp.softmax(bp.tensor(x), 0).numpy(), torch.softmax(torch.tensor(x), 0)
    )
    np.testing.assert_allclose(
        bp.log_softmax(bp.tensor(x), -1).numpy(), torch.log_softmax(torch.tensor(x), -1)
    )


def test_every_new_primitive_states_its_rule() -> None:
    from backprop.ops import composite, linalg, special, stats

    primitives = [
        v
        for mod in (special, stats, composite, linalg)
        for v in vars(mod).values()
        if isinstance(v, type)
        and issubclass(v, bp.Function)
        and v.__module__ == mod.__name__
        and not v.__name__.startswith("_")
    ]
    assert len(primitives) >= 25
    for cls in primitives:
        assert cls.name and cls.name != "function", cls
        assert cls.formulas and all(isinstance(f, str) for f in cls.formulas), cls
    x = bp.tensor([0.5, 1.5], requires_grad=True, name="x")
    text = str(bp.explain((x.lgamma() + x.erfc()).sum(), x))
    assert "d(lgamma(x))/dx = digamma(x)" in text
    assert "(equals backward's gradient" in text
