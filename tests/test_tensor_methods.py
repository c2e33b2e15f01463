"""PyTorch's remaining Tensor methods (backprop/tensor_methods.py), against torch."""

import numpy as np
import pytest

import backprop as bp

torch = pytest.importorskip("torch")

X = [[0.5, 1.5, -0.25], [2.0, -1.0, 0.75]]


def _both(expr):
    want = expr(torch, torch.tensor(X, dtype=torch.float64))
    got = expr(bp, bp.tensor(X, dtype=bp.float64))
    return got, want


def _arr(v):
    return np.asarray(v.detach().numpy() if hasattr(v, "detach") else v)


@pytest.mark.parametrize(
    "expr",
    [
        lambda lib, x: x.t(),
        lambda lib, x: x.ravel(),
        lambda lib, x: x.multiply(2),
        lambda lib, x: x.divide(4),
        lambda lib, x: x.subtract(x * 3),
        lambda lib, x: x.negative(),
        lambda lib, x: x.absolute(),
        lambda lib, x: x.sgn(),
        lambda lib, x: x.greater(0.6),
        lambda lib, x: x.less_equal(0.5),
        lambda lib, x: x.inner(x),
        lambda lib, x: x.dist(x * 2),
        lambda lib, x: x.dist(x * 2, 1),
        lambda lib, x: x.msort(),
        lambda lib, x: x.positive(),
        lambda lib, x: x.byte(),
        lambda lib, x: x.char(),
    ],
)
def test_aliases_and_small_methods_give_torchs_values(expr):
    got, want = _both(expr)
    np.testing.assert_allclose(_arr(got), _arr(want))
    assert _arr(got).dtype == _arr(want).dtype


@pytest.mark.parametrize(
    "name,args",
    [
        ("sin_", ()),
        ("cos_", ()),
        ("tanh_", ()),
        ("floor_", ()),
        ("reciprocal_", ()),
        ("square_", ()),
        ("expm1_", ()),
        ("clamp_min_", (0.6,)),
        ("clamp_max_", (0.6,)),
        ("fmod_", (0.7,)),
        ("cumsum_", (1,)),
        ("tril_", ()),
        ("multiply_", (3.0,)),
        ("atan2_", (None,)),
    ],
)
def test_inplace_forms_change_the_tensor_and_differentiate_as_torch(name, args):
    def run(lib):
        x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        y = x * 1.5
        a = tuple(y.detach() + 1 if v is None else v for v in args)
        out = getattr(y, name)(*a)
        assert out is y
        (y * y).sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    for g, w in zip(run(bp), run(torch)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_shape_changes_in_place():
    for lib in (bp, torch):
        x = lib.tensor(X)
        x.unsqueeze_(0)
        assert tuple(x.shape) == (1, 2, 3)
        x.squeeze_(0)
        x.t_()
        assert tuple(x.shape) == (3, 2)
        x.transpose_(0, 1)
        assert x.tolist() == lib.tensor(X).tolist()
    with pytest.raises(RuntimeError, match="unsqueeze_: changes the shape"):
        bp.ones(2, requires_grad=True).unsqueeze_(0)


def test_queries_as_torch():
    for lib in (bp, torch):
        x = lib.tensor(X)
        assert x.is_cpu and x.get_device() == -1
        assert x.is_signed() and not lib.tensor([1], dtype=lib.uint8).is_signed()
        assert x.is_same_size(x * 2) and not x.is_same_size(x[0])
        assert lib.tensor([0.0]).is_nonzero() is False
        with pytest.raises(RuntimeError, match="ambiguous"):
            x.is_nonzero()
        y = x * 1
        assert y.retains_grad is False
    with pytest.raises(RuntimeError, match="t: expects a tensor with <= 2 dimensions"):
        bp.ones(2, 3, 4).t()


def test_random_methods_draw_what_they_should():
    bp.manual_seed(0)
    b = bp.full((20000,), 0.3).bernoulli()
    assert set(np.unique(b.numpy())) <= {0.0, 1.0} and abs(b.numpy().mean() - 0.3) < 0.02
    e = bp.empty(20000).exponential_(2.0)
    assert abs(e.numpy().mean() - 0.5) < 0.02 and e.numpy().min() >= 0
    w = bp.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0]])
    idx = w.multinomial(4000, replacement=True).numpy()
    assert idx.shape == (2, 4000) and (idx[1] == 0).all() and not (idx[0] == 0).any()
    assert abs((idx[0] == 2).mean() - 0.75) < 0.03
    no_rep = bp.tensor([1.0, 1.0, 1.0]).multinomial(3)
    assert sorted(no_rep.tolist()) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="without replacement"):
        bp.tensor([1.0, 1.0]).multinomial(3)
    z = bp.zeros(3, 3).fill_diagonal_(5.0)
    np.testing.assert_array_equal(z.numpy(), np.eye(3) * 5)
