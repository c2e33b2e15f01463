"""Shape and indexing ops (gather, scatters, sort, topk, flip, roll, unfold, pad, diagonals,
repeat, split, meshgrid, ...) and the named products (einsum, mm, bmm, addmm, ...): the op
table of test_ops.py run the same three ways, then ties, repeats and errors against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from test_ops import Case, op_table_tests

import backprop as bp
import backprop.ops.layout as layout

torch = pytest.importorskip("torch")
F = torch.nn.functional


def lib(x):
    """The library a tensor belongs to, so one lambda serves both."""
    return torch if isinstance(x, torch.Tensor) else bp


def T(x, values):
    """An index (or mask) tensor of the same library as ``x``."""
    return lib(x).tensor(values)


def pad(x, *args, **kwargs):
    return (
        F.pad(x, *args, **kwargs) if isinstance(x, torch.Tensor) else layout.pad(x, *args, **kwargs)
    )


def joined(pieces):
    """Pieces of a split as one tensor, each scaled differently (so gradients tell them apart)."""
    x = pieces[0]
    return lib(x).cat([p.reshape(-1) * (i + 1) for i, p in enumerate(pieces)])


IDX = [[0, 2, 1, 0], [1, 1, 0, 2]]  # for (2, 4) outputs from a dim of size 3

CASES = [
    # gather and scatter
    Case("gather-1", lambda a: a.gather(1, T(a, [[2, 0, 0], [1, 1, 3], [0, 1, 2]])), ((3, 4),)),
    Case("gather-0", lambda a: a.gather(0, T(a, IDX)), ((3, 4),)),
    Case("gather-fn-small", lambda a: lib(a).gather(a, 1, T(a, [[1], [0]])), ((3, 4),)),
    Case("take_along_dim", lambda a: lib(a).take_along_dim(a, T(a, [[0], [2], [1]]), 1), ((3, 4),)),
    Case(
        "scatter-src",
        lambda a, s: a.scatter(1, T(a, [[2, 0], [1, 3], [0, 1]]), s),
        ((3, 4), (3, 2)),
    ),
    Case("scatter-value", lambda a: a.scatter(0, T(a, [[2, 0, 1, 1]]), 1.5), ((3, 4),)),
    Case("scatter_add", lambda a, s: a.scatter_add(0, T(a, IDX), s), ((3, 4), (2, 4))),
    *[
        Case(
            f"scatter_reduce-{how}-{self}",
            lambda a, s, how=how, self=self: a.scatter_reduce(
                0, T(a, IDX), s, how, include_self=self
            ),
            ((3, 4), (2, 4)),
            "da",
        )
        for how in ("sum", "prod", "mean", "amax", "amin")
        for self in (True, False)
    ],
    # sorting
    Case("sort", lambda a: a.sort().values, ((3, 4),), "d"),
    Case("sort-desc-0", lambda a: a.sort(0, descending=True)[0], ((3, 4),), "d"),
    Case("sort-fn", lambda a: lib(a).sort(a, dim=1).values, ((2, 5),), "d"),
    Case("topk", lambda a: a.topk(2).values, ((3, 4),), "d"),
    Case("topk-smallest-0", lambda a: a.topk(2, dim=0, largest=False)[0], ((3, 4),), "d"),
    # index_select, masks
    Case("index_select", lambda a: a.index_select(1, T(a, [3, 0, 3])), ((3, 4),)),
    Case("index_select-fn", lambda a: lib(a).index_select(a, 0, T(a, [2, 2])), ((3, 4),)),
    Case(
        "masked_fill",
        lambda a: a.masked_fill(T(a, [True, False, True, False]), -1.0),
        ((3, 4),),
    ),
    Case(
        "masked_fill-tensor-value",
        lambda a, v: a.masked_fill(T(a, [[True], [False], [True]]), v),
        ((3, 4), ()),
    ),
    Case("masked_select", lambda a: a.masked_select(T(a, [True, False, True, True])), ((3, 4),)),
    # flip, roll, unfold, triangles and diagonals
    Case("flip", lambda a: a.flip(1), ((3, 4),)),
    Case("flip-dims", lambda a: a.flip((0, 2)), ((2, 3, 4),)),
    Case("flip-fn", lambda a: lib(a).flip(a, [0]), ((3, 4),)),
    Case("fliplr", lambda a: lib(a).fliplr(a), ((3, 4),)),
    Case("roll", lambda a: a.roll(1, 1), ((3, 4),)),
    Case("roll-flat", lambda a: a.roll(5), ((3, 4),)),
    Case("roll-dims", lambda a: a.roll((1, -2), (0, 1)), ((3, 4),)),
    Case("unfold", lambda a: a.unfold(1, 2, 1), ((3, 5),)),
    Case("unfold-step", lambda a: a.unfold(0, 3, 2), ((8, 2),)),
    Case("tril", lambda a: a.tril(), ((3, 4),)),
    Case("tril-diag", lambda a: a.tril(-1), ((2, 4, 3),)),
    Case("triu", lambda a: a.triu(1), ((4, 3),)),
    Case("triu-fn", lambda a: lib(a).triu(a, diagonal=-1), ((3, 3),)),
    Case("diag-1d", lambda a: lib(a).diag(a), ((4,),)),
    Case("diag-1d-offset", lambda a: lib(a).diag(a, -2), ((3,),)),
    Case("diag-2d", lambda a: a.diag(1), ((3, 4),)),
    Case("diagonal", lambda a: a.diagonal(), ((3, 4),)),
    Case("diagonal-dims", lambda a: a.diagonal(1, 0, 2), ((3, 2, 4),)),
    Case("diagonal-neg", lambda a: lib(a).diagonal(a, -1, -1, -2), ((2, 4, 3),)),
    Case("diag_embed", lambda a: lib(a).diag_embed(a), ((2, 3),)),
    Case("diag_embed-offset", lambda a: lib(a).diag_embed(a, 1, 0, 2), ((2, 3),)),
    # padding (F.pad)
    Case("pad", lambda a: pad(a, (1, 2)), ((3, 4),)),
    Case("pad-2d-value", lambda a: pad(a, (1, 0, 2, 1), value=0.5), ((2, 3, 4),)),
    Case("pad-negative", lambda a: pad(a, (-1, 2, 1, -1)), ((3, 4),)),
    Case("pad-reflect", lambda a: pad(a, (2, 1), mode="reflect"), ((2, 3, 4),)),
    Case("pad-reflect-2d", lambda a: pad(a, (1, 2, 2, 1), mode="reflect"), ((1, 2, 3, 4),)),
    Case("pad-replicate", lambda a: pad(a, (3, 1), mode="replicate"), ((2, 3, 4),)),
    Case("pad-circular", lambda a: pad(a, (2, 1, 1, 1), mode="circular"), ((1, 2, 3, 4),)),
    # repeat, split and friends
    Case("repeat", lambda a: a.repeat(2, 3), ((3, 4),)),
    Case("repeat-new-dims", lambda a: a.repeat(2, 1, 2), ((4,),)),
    Case("tile", lambda a: a.tile((2,)), ((3, 4),)),
    Case("repeat_interleave", lambda a: a.repeat_interleave(2, dim=1), ((3, 4),)),
    Case("repeat_interleave-flat", lambda a: a.repeat_interleave(3), ((2, 2),)),
    Case(
        "repeat_interleave-counts", lambda a: a.repeat_interleave(T(a, [1, 0, 3]), dim=0), ((3, 2),)
    ),
    Case("split", lambda a: joined(a.split(2, dim=1)), ((3, 5),)),
    Case("split-sizes", lambda a: joined(a.split([1, 3, 1], 1)), ((3, 5),)),
    Case("chunk", lambda a: joined(a.chunk(3)), ((5, 2),)),
    Case("unbind", lambda a: joined(a.unbind(1)), ((3, 4),)),
    Case("tensor_split", lambda a: joined(a.tensor_split(3, dim=1)), ((2, 7),)),
    Case("narrow", lambda a: a.narrow(1, 1, 2), ((3, 4),)),
    Case("narrow-neg", lambda a: lib(a).narrow(a, 0, -2, 2), ((3, 4),)),
    Case("select", lambda a: a.select(1, -1), ((3, 4),)),
    Case("unflatten", lambda a: a.unflatten(1, (2, -1)), ((3, 4),)),
    Case("movedim", lambda a: a.movedim(0, -1), ((2, 3, 4),)),
    Case("movedim-many", lambda a: lib(a).movedim(a, (0, 1), (2, 0)), ((2, 3, 4),)),
    Case("swapaxes", lambda a: a.swapaxes(0, 2), ((2, 3, 4),)),
    Case("view_as", lambda a, b: a.view_as(b) * b, ((3, 4), (4, 3))),
    Case("reshape_as", lambda a, b: a.reshape_as(b) + b, ((3, 4), (2, 6))),
    Case("expand_as", lambda a, b: a.expand_as(b) * b, ((3, 1), (3, 4))),
    Case("meshgrid-ij", lambda a, b: joined(lib(a).meshgrid(a, b, indexing="ij")), ((3,), (4,))),
    Case("meshgrid-xy", lambda a, b: joined(lib(a).meshgrid(a, b, indexing="xy")), ((3,), (4,))),
    Case(
        "meshgrid-3",
        lambda a, b, c: joined(lib(a).meshgrid([a, b, c], indexing="xy")),
        ((2,), (3,), (4,)),
    ),
    Case("hstack", lambda a, b: lib(a).hstack([a, b]), ((3, 2), (3, 1))),
    Case("vstack", lambda a, b: lib(a).vstack([a, b]), ((4,), (2, 4))),
    # products
    Case("einsum-matmul", lambda a, b: lib(a).einsum("ij,jk->ik", a, b), ((2, 3), (3, 4))),
    Case("einsum-trace", lambda a: lib(a).einsum("ii", a), ((3, 3),)),
    Case("einsum-diag", lambda a: lib(a).einsum("ii->i", a), ((3, 3),)),
    Case("einsum-batch", lambda a, b: lib(a).einsum("bij,bjk->bik", a, b), ((2, 2, 3), (2, 3, 4))),
    Case("einsum-ellipsis", lambda a, b: lib(a).einsum("...ij,...jk", a, b), ((2, 2, 3), (3, 4))),
    Case("einsum-implicit", lambda a, b: lib(a).einsum("ij,jk", a, b), ((2, 3), (3, 4))),
    Case("einsum-outer-sum", lambda a, b: lib(a).einsum("i,j->", a, b), ((3,), (4,))),
    Case(
        "einsum-three",
        lambda a, b, c: lib(a).einsum("ij,jk,kl->il", a, b, c),
        ((2, 3), (3, 4), (4, 2)),
    ),
    Case("einsum-broadcast", lambda a, b: lib(a).einsum("...i,...i->...", a, b), ((3, 4), (1, 4))),
    Case("einsum-list", lambda a, b: lib(a).einsum("ij,ij->j", [a, b]), ((3, 4), (3, 4))),
    Case("mm", lambda a, b: a.mm(b), ((2, 3), (3, 4))),
    Case("bmm", lambda a, b: lib(a).bmm(a, b), ((5, 2, 3), (5, 3, 4))),
    Case("mv", lambda a, b: a.mv(b), ((2, 3), (3,))),
    Case("dot", lambda a, b: lib(a).dot(a, b), ((4,), (4,))),
    Case("outer", lambda a, b: a.outer(b), ((3,), (4,))),
    Case("addmm", lambda c, a, b: lib(a).addmm(c, a, b), ((4,), (2, 3), (3, 4))),
    Case(
        "addmm-scaled", lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2.0), ((2, 4), (2, 3), (3, 4))
    ),
    Case(
        "baddbmm",
        lambda c, a, b: lib(a).baddbmm(c, a, b, alpha=0.5),
        ((2, 4), (3, 2, 3), (3, 3, 4)),
    ),
    Case("tensordot", lambda a, b: lib(a).tensordot(a, b, dims=1), ((2, 3), (3, 4))),
    Case(
        "tensordot-pairs",
        lambda a, b: lib(a).tensordot(a, b, dims=([0, 2], [1, 0])),
        ((2, 3, 4), (4, 2)),
    ),
]


test_matches_torch, test_gradcheck, test_float32_stays_float32 = op_table_tests(CASES)


NAN = float("nan")


def _grads_match(fn, *inputs) -> None:
    xs = [bp.tensor(np.array(v, dtype=np.float64), requires_grad=True) for v in inputs]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    out, expected = fn(*xs), fn(*ts)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12)
    up = np.arange(1.0, out.numel() + 1).reshape(out.shape)
    out.backward(up)
    expected.backward(torch.tensor(up))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "fn, inputs",
    [
        # prod at zeros: one zero in a slot, in self, and two zeros
        (
            lambda a, s: a.scatter_reduce(0, T(a, [0, 0, 1, 2, 2]), s, "prod"),
            ([2.0, 0.0, 3.0], [0.0, 4.0, 5.0, 0.0, 0.0]),
        ),
        (
            lambda a, s: a.scatter_reduce(0, T(a, [0, 0, 1]), s, "prod", include_self=False),
            ([2.0, 0.0, 3.0], [0.0, 4.0, 5.0]),
        ),
        # amax/amin ties share the gradient (self included when equal)
        (
            lambda a, s: a.scatter_reduce(0, T(a, [0, 0, 1, 1]), s, "amax"),
            ([3.0, 1.0, 7.0], [3.0, 2.0, 5.0, 5.0]),
        ),
        (
            lambda a, s: a.scatter_reduce(0, T(a, [0, 0, 1]), s, "amin", include_self=False),
            ([3.0, 1.0, 7.0], [2.0, 2.0, 5.0]),
        ),
        (
            lambda a, s: a.scatter_reduce(0, T(a, [2, 2, 2]), s, "mean", include_self=False),
            ([3.0, 1.0, 7.0], [2.0, 4.0, 5.0]),
        ),
        # repeated indices accumulate in gather and index_select
        (lambda a: a.gather(0, T(a, [1, 1, 1, 0])), ([1.0, 2.0, 3.0],)),
        (lambda a: a.index_select(0, T(a, [2, 2, 0])), ([1.0, 2.0, 3.0],)),
        # ties in sort keep their order, NaN sorts as the largest
        (lambda a: a.sort().values, ([2.0, 1.0, 2.0, NAN, 1.0],)),
        (lambda a: a.sort(descending=True).values, ([2.0, 1.0, 2.0, NAN, 1.0],)),
        (lambda a: a.cummax(0).values * a.flip(0), ([1.0, 3.0, 3.0, 2.0],)),
        (lambda a: a.unfold(0, 3, 1).sum(1), ([1.0, 2.0, 3.0, 4.0, 5.0],)),
        (lambda a: a.repeat_interleave(T(a, [2, 0, 1])), ([1.0, 2.0, 3.0],)),
    ],
)
def test_ties_zeros_and_repeats_match_torch(fn, inputs) -> None:
    _grads_match(fn, *inputs)


def test_sort_argsort_topk_indices_match_torch() -> None:
    data = np.array([[2.0, 1.0, 2.0, NAN, 1.0], [0.0, -1.0, 5.0, 5.0, 3.0]])
    a, t = bp.tensor(data), torch.tensor(data)
    for fn in [
        lambda x: x.sort(stable=True).indices,
        lambda x: x.sort(descending=True, stable=True).indices,
        lambda x: x.argsort(dim=0),
        lambda x: x.argsort(descending=True, stable=True),
        lambda x: lib(x).argsort(x[1:]),
    ]:
        assert fn(a).tolist() == fn(t).tolist()
    v = bp.tensor([1.0, 3.0, 2.0, 0.5])
    assert v.topk(2).indices.tolist() == [1, 2]
    assert v.topk(3, largest=False).values.tolist() == [0.5, 1.0, 2.0]


def test_nonzero_and_masked_ops_match_torch() -> None:
    data = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    a, t = bp.tensor(data), torch.tensor(data)
    assert a.nonzero().tolist() == t.nonzero().tolist()
    assert a.nonzero().dtype == np.int64
    ours, theirs = bp.nonzero(a, as_tuple=True), torch.nonzero(t, as_tuple=True)
    assert [x.tolist() for x in ours] == [x.tolist() for x in theirs]
    assert bp.argwhere(a).tolist() == torch.argwhere(t).tolist()
    mask = np.array([True, False, True])
    assert (
        a.masked_fill(bp.tensor(mask), 9).tolist() == t.masked_fill(torch.tensor(mask), 9).tolist()
    )
    i = bp.tensor([1, 2, 3])
    assert i.masked_fill(bp.tensor([True, False, False]), 7).dtype == np.int64


def test_in_place_scatter_and_masked_fill() -> None:
    out = bp.zeros(2, 3)
    out.scatter_(1, bp.tensor([[2], [0]]), 5.0)
    assert out.tolist() == [[0.0, 0.0, 5.0], [5.0, 0.0, 0.0]]
    out.scatter_add_(0, bp.tensor([[0, 0, 0]]), bp.ones(1, 3))
    assert out.tolist() == [[1.0, 1.0, 6.0], [5.0, 0.0, 0.0]]
    out.masked_fill_(out > 4, 0.0)
    assert out.tolist() == [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    # filled from a tensor that needs a gradient, the fresh tensor joins the graph
    src = bp.tensor([[1.0, 2.0]], requires_grad=True)
    buf = bp.zeros(2, 2)
    buf.scatter_(0, bp.tensor([[1, 0]]), src)
    (buf * bp.tensor([[10.0, 20.0], [30.0, 40.0]])).sum().backward()
    assert src.grad.tolist() == [[30.0, 20.0]]
    w = bp.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w.masked_fill_(bp.tensor([True, False, True]), 0.0)


def test_scatter_with_reduce_add_and_multiply() -> None:
    a = bp.ones(2, 3)
    idx = bp.tensor([[0, 1, 0]])
    src = bp.tensor([[2.0, 3.0, 4.0]])
    t = torch.ones(2, 3)
    ti, ts = torch.tensor([[0, 1, 0]]), torch.tensor([[2.0, 3.0, 4.0]])
    for how in ("add", "multiply"):
        assert (
            a.scatter(0, idx, src, reduce=how).tolist() == t.scatter(0, ti, ts, reduce=how).tolist()
        )


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda x: x.gather(1, bp.tensor([[4]])), RuntimeError),
        (lambda x: x.gather(2, bp.tensor([[0]])), IndexError),
        (lambda x: x.gather(1, bp.tensor([0.5])), TypeError),
        (lambda x: x.index_select(0, bp.tensor([3])), IndexError),
        (lambda x: x.unfold(1, 5, 1), RuntimeError),
        (lambda x: x.repeat(2), RuntimeError),
        (lambda x: x.split([1, 1], 1), RuntimeError),
        (lambda x: x.topk(5), RuntimeError),
        (lambda x: layout.pad(x, (4, 4), mode="reflect"), RuntimeError),
        (lambda x: layout.pad(x, (1,)), RuntimeError),
        (lambda x: bp.mm(x, x), ValueError),
        (lambda x: bp.bmm(x, x), RuntimeError),
        (lambda x: bp.einsum("ij,jk", x), ValueError),
        (lambda x: bp.meshgrid(x[0], indexing="bad"), RuntimeError),
        (lambda x: x.scatter_reduce(0, bp.tensor([[0]]), x, "max"), ValueError),
        (lambda x: x.diagonal(0, 1, 1), RuntimeError),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error) -> None:
    x = bp.ones(3, 4)
    with pytest.raises(error):
        call(x)


def test_shape_ops_show_their_rules_in_explain() -> None:
    x = bp.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="x")
    y = (x.flip(0) * x.gather(1, bp.tensor([[1, 0], [0, 0]])) + bp.einsum("ij->j", x)).sum()
    text = str(bp.explain(y, x))
    assert "d(flip(x))/dx = 1 (the gradient is flipped back)" in text
    assert "gather" in text and "einsum" in text
    assert "(equals backward's gradient" in text
