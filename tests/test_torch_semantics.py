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
