"""PyTorch's semantics at the edges, checked against torch itself (issue 9): dtype promotion
of mixed operands, the exception types PyTorch raises, indexing rules, factories, formats."""

import numpy as np
import pytest

import backprop as bp

torch = pytest.importorskip("torch")


def _same(b, t):
    a = np.asarray(b.detach().numpy())
    e = t.detach().numpy()
    assert a.shape == e.shape, (a.shape, e.shape)
    assert a.dtype == e.dtype, (a.dtype, e.dtype)
    np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-6)


I32 = np.array([5, 6, -7, 0], np.int32)
F32 = np.array([2.0, -3.0, 2.5, 1.0], np.float32)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, a, b: a.fmod(b),
        lambda m, a, b: a % b,
        lambda m, a, b: a // b,
        lambda m, a, b: a.div(b, rounding_mode="trunc"),
        lambda m, a, b: a.div(b, rounding_mode="floor"),
        lambda m, a, b: b.fmod(a),
        lambda m, a, b: b % a,
    ],
)
def test_int_float_operands_promote_as_torch(fn):
    with np.errstate(all="ignore"):
        out = fn(bp, bp.tensor(I32), bp.tensor(F32))
    _same(out, fn(torch, torch.tensor(I32), torch.tensor(F32)))


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: 0x1337 & a,
        lambda a: 0x1337 | a,
        lambda a: 0x1337 ^ a,
        lambda a: a & 3,
        lambda a: 1 << a.abs(),
        lambda a: 64 >> a.abs(),
        lambda a: a << 2,
    ],
)
def test_python_int_does_not_widen_int32(fn):
    _same(fn(bp.tensor(I32)), fn(torch.tensor(I32)))


@pytest.mark.parametrize(
    "fn, exc",
    [
        (lambda m, x: x.clip(None, None), RuntimeError),
        (lambda m, x: x.div(x, rounding_mode="typo"), RuntimeError),
        (lambda m, x: x.roll(shifts=1, dims=(0, 1)), RuntimeError),
        (lambda m, x: x.roll((1, 2)), RuntimeError),
        (lambda m, x: m.nn.functional.pad(x, (1, 1), mode="typo"), NotImplementedError),
        (lambda m, x: x << 1, RuntimeError),
        (lambda m, x: x >> 1, RuntimeError),
        (lambda m, x: x.scatter_reduce(0, x.long().abs(), x, reduce="bad"), RuntimeError),
    ],
)
def test_error_types_as_torch(fn, exc):
    data = np.ones((2, 3), np.float32)
    with pytest.raises(exc):
        fn(torch, torch.tensor(data))
    with pytest.raises(exc):
        fn(bp, bp.tensor(data))


# ---------------------------------------------------------------------------- indexing

_I = [0, 2, 2, -1]  # repeated and negative
_M = np.array([True, False, True])


def _index_table(T):
    """Index expressions built with the library ``T`` (torch or backprop) for index tensors."""
    it = T.tensor([0, 2, 2, -1])
    return [
        (1, slice(None), [0, 2]),  # an int and an index list separated by a slice
        (0, slice(None), slice(1, 3), [1, 0]),
        (slice(None), [0, 1], slice(None), [1, 2]),  # separated: indexed dims go first
        ([0, 1], [1, 2]),  # adjacent: they keep their place
        (slice(None), [0, 1], [1, 2]),
        (slice(None), [[0, 1], [2, 0]], 1),
        (Ellipsis, None),
        (None, Ellipsis, 1),
        (Ellipsis, [1, 0]),
        (slice(None), _M),  # a bool mask with slices
        (1, _M, slice(None, None, 2)),
        (slice(None), it),  # an index tensor of the library's own type
        (it,),
        (-1, slice(None), -2),
        _I,
        (slice(None), None, _I, slice(1, None)),
        (0, slice(None), it, None),
    ]


_TABLE_LEN = len(_index_table(bp))


@pytest.mark.parametrize("k", range(_TABLE_LEN))
def test_getitem_matches_torch_with_grads(k):
    x = np.random.default_rng(k).standard_normal((3, 3, 4, 5))
    tx = torch.tensor(x, requires_grad=True)
    bx = bp.tensor(x, requires_grad=True)
    tout = tx[_index_table(torch)[k]]
    bout = bx[_index_table(bp)[k]]
    _same(bout, tout)
    w = np.random.default_rng(99).standard_normal(tuple(tout.shape))
    (tout * torch.tensor(w)).sum().backward()
    (bout * bp.tensor(w)).sum().backward()
    _same(bx.grad, tx.grad)  # repeated indices accumulate


@pytest.mark.parametrize("k", range(_TABLE_LEN))
def test_setitem_matches_torch(k):
    x = np.random.default_rng(k).standard_normal((3, 3, 4, 5))
    tx, bx = torch.tensor(x), bp.tensor(x)
    shape = tuple(tx[_index_table(torch)[k]].shape)
    v = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    if k == 14 or k == 15 or k == 12:  # repeated indices: the written value is unspecified
        v = np.full(shape, 7.0)
    tx[_index_table(torch)[k]] = torch.tensor(v)
    bx[_index_table(bp)[k]] = bp.tensor(v)
    _same(bx, tx)
    tx[_index_table(torch)[k]] = 3.5
    bx[_index_table(bp)[k]] = 3.5
    _same(bx, tx)


# ---------------------------------------------------------------------------- op edge cases


def _both(fn, *arrays, grad=True):
    """``fn(lib, *tensors)`` with torch and backprop (float64): values and input gradients."""
    ts = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    bs = [bp.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    tout, bout = fn(torch, *ts), fn(bp, *bs)
    _same(bout, tout)
    if grad and tout.requires_grad:
        tout.sum().backward()
        bout.sum().backward()
        for b, t in zip(bs, ts):
            if t.grad is not None:
                _same(b.grad, t.grad)


X = np.random.default_rng(0).standard_normal((1, 2, 5, 5))


@pytest.mark.parametrize(
    "pads, mode",
    [
        ((-1, 2, 2, -1), "reflect"),
        ((3, -3, 0, -3), "reflect"),
        ((0, 0, 0, -5), "reflect"),
        ((3, -5, 1, -5), "replicate"),
        ((1, -2, 2, -1), "circular"),
        ((-2, 1, 0, 0), "circular"),
        ((2, 2, 1, 1), "reflect"),
    ],
)
def test_pad_negative_widths_as_torch(pads, mode):
    _both(lambda m, x: m.nn.functional.pad(x, pads, mode=mode), X)


@pytest.mark.parametrize("dim, correction", [((0, 3), 1), ((0, 3), 5), ((1, 3), 0), (2, 5)])
def test_var_std_with_nothing_left_after_correction(dim, correction):
    x = np.random.default_rng(1).standard_normal((1, 2, 5, 1))
    with np.errstate(all="ignore"):
        _both(lambda m, x: x.var(dim=dim, correction=correction), x, grad=False)
        _both(lambda m, x: x.std(axis=dim, correction=correction), x, grad=correction != 5)


def test_scatter_reads_src_only_where_index_is():
    idx = np.random.default_rng(2).integers(0, 4, (3, 4, 5))
    src = np.random.default_rng(3).standard_normal((4, 5, 6))
    x = np.random.default_rng(4).standard_normal((4, 5, 6))
    for dim in (0, 1, -1):  # (torch's backward refuses a src larger than the index)
        _both(lambda m, x, s, dim=dim: x.scatter(dim, m.tensor(idx), s), x, src, grad=False)
        _both(
            lambda m, x, s, dim=dim: x.scatter_reduce(dim, m.tensor(idx), s, "prod"),
            x,
            src,
            grad=False,
        )
    with pytest.raises(RuntimeError):
        bp.tensor(x).half().scatter(1, bp.tensor(idx), bp.tensor(src))


def test_small_api_as_torch():
    x = np.random.default_rng(5).standard_normal((2, 3, 4)).astype(np.float32)
    _both(lambda m, x: x.view(m.int32), x, grad=False)
    _both(lambda m, x: m.nn.functional.normalize(x, p=0), x)
    _both(lambda m, x: m.stack(m.std_mean(x, axis=(1, 2))), x)
    for name in ("all", "any", "amax", "argmax", "var", "cumsum"):
        _both(lambda m, x, name=name: getattr(x, name)(axis=1), x, grad=False)
    with pytest.raises(RuntimeError):
        bp.linspace(0, 1, 3, dtype=bp.bool)
    _same(
        bp.tensor(x)[1, (2, 1, 0), None, (0, 1, 3)], torch.tensor(x)[1, (2, 1, 0), None, (0, 1, 3)]
    )
