"""GroupNorm, InstanceNorm, RMSNorm, LocalResponseNorm, padding layers, GLU, shrinkage,
RReLU (eval), Softmax2d, Bilinear, LazyLinear, distances, ChannelShuffle and the in-place
activations, against torch in float64 from the same weights: values and gradients."""

import numpy as np
import pytest
import torch

import backprop as bp


def close(a, b, rtol=1e-9, atol=1e-11):
    a = a._data if isinstance(a, bp.Tensor) else a
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=rtol, atol=atol)


CASES = [
    ("GroupNorm", (2, 4), (3, 4, 5)),
    ("GroupNorm", (1, 4, 1e-3, False), (3, 4, 2, 2)),
    ("InstanceNorm1d", (4,), (3, 4, 5)),
    ("InstanceNorm2d", (4, 1e-5, 0.1, True, True), (3, 4, 3, 3)),
    ("InstanceNorm3d", (2,), (2, 2, 2, 3, 2)),
    ("RMSNorm", (5,), (3, 4, 5)),
    ("RMSNorm", ((4, 5), 1e-6), (3, 4, 5)),
    ("LocalResponseNorm", (3,), (2, 5, 4)),
    ("LocalResponseNorm", (2, 1e-2, 0.5, 2.0), (2, 5, 3, 3)),
    ("ZeroPad1d", ((1, 2),), (2, 3, 4)),
    ("ZeroPad2d", (1,), (2, 3, 4, 4)),
    ("ConstantPad3d", (1, 2.5), (1, 2, 3, 3, 3)),
    ("ReflectionPad1d", (2,), (2, 3, 5)),
    ("ReflectionPad2d", ((1, 0, 2, 1),), (2, 3, 4, 4)),
    ("ReplicationPad2d", (2,), (1, 2, 3, 3)),
    ("ReplicationPad3d", (1,), (1, 2, 3, 3, 3)),
    ("CircularPad1d", (2,), (2, 3, 4)),
    ("CircularPad2d", ((1, 2, 0, 1),), (1, 2, 3, 3)),
    ("GLU", (), (3, 6)),
    ("GLU", (1,), (3, 4, 5)),
    ("Hardshrink", (), (4, 5)),
    ("Softshrink", (0.3,), (4, 5)),
    ("RReLU", (), (4, 5)),
    ("Softmax2d", (), (2, 3, 4, 4)),
    ("ChannelShuffle", (2,), (2, 4, 3, 3)),
    ("AlphaDropout", (0.2,), (3, 4)),
]


@pytest.mark.parametrize("name,args,shape", CASES)
def test_layer_against_torch(name, args, shape):
    rng = np.random.default_rng(0)
    tm = getattr(torch.nn, name)(*args).double().eval()
    bm = getattr(bp.nn, name)(*args).double().eval()
    sd = tm.state_dict()
    for v in sd.values():  # non-default weights, so the affine part is tested
        if v.dtype == torch.float64:
            v.copy_(torch.tensor(rng.normal(size=tuple(v.shape))).abs() + 0.5)
    bm.load_state_dict(sd)
    x = rng.normal(size=shape)
    tx, bx = torch.tensor(x, requires_grad=True), bp.tensor(x, requires_grad=True)
    to, bo = tm(tx), bm(bx)
    close(bo, to)
    g = rng.normal(size=tuple(to.shape))
    (to * torch.tensor(g)).sum().backward()
    (bo * bp.tensor(g)).sum().backward()
    close(bx.grad, tx.grad)
    for p, q in zip(bm.parameters(), tm.parameters()):
        close(p.grad, q.grad)


def test_instance_norm_running_stats_training():
    rng = np.random.default_rng(1)
    tm, bm = (
        torch.nn.InstanceNorm2d(3, track_running_stats=True).double(),
        bp.nn.InstanceNorm2d(3, track_running_stats=True).double(),
    )
    x = rng.normal(size=(2, 3, 4, 4))
    close(bm(bp.tensor(x)), tm(torch.tensor(x)))
    close(bm.running_mean, tm.running_mean)
    close(bm.running_var, tm.running_var)
    tm.eval(), bm.eval()
    close(bm(bp.tensor(x)), tm(torch.tensor(x)))


@pytest.mark.parametrize("two", ["Bilinear", "PairwiseDistance", "CosineSimilarity"])
def test_two_input_layers(two):
    rng = np.random.default_rng(2)
    args = (3, 4, 2) if two == "Bilinear" else ()
    tm, bm = getattr(torch.nn, two)(*args).double(), getattr(bp.nn, two)(*args).double()
    bm.load_state_dict(tm.state_dict())
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 4 if two == "Bilinear" else 3))
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ba, bb = bp.tensor(a, requires_grad=True), bp.tensor(b, requires_grad=True)
    to, bo = tm(ta, tb), bm(ba, bb)
    close(bo, to)
    to.pow(2).sum().backward()
    (bo**2).sum().backward()
    close(ba.grad, ta.grad)
    close(bb.grad, tb.grad)


def test_lazy_linear_functional_extras_and_inplace():
    m = bp.nn.LazyLinear(3)
    out = m(bp.randn(2, 5))
    assert out.shape == (2, 3) and m.weight.shape == (3, 5) and isinstance(m, bp.nn.Linear)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 3))
    tx, bx = torch.tensor(x, requires_grad=True), bp.tensor(x, requires_grad=True)
    to, bo = torch.nn.functional.pdist(tx), bp.nn.functional.pdist(bx)
    close(bo, to)
    to.sum().backward()
    bo.sum().backward()
    close(bx.grad, tx.grad)
    for name, args in [
        ("relu_", ()),
        ("elu_", ()),
        ("leaky_relu_", (0.2,)),
        ("hardtanh_", ()),
        ("threshold_", (0.1, -1.0)),
        ("selu_", ()),
        ("celu_", ()),
    ]:
        t, b = torch.tensor(x * 3), bp.tensor(x * 3)
        rt = getattr(torch.nn.functional, name)(t, *args)
        rb = getattr(bp.nn.functional, name)(b, *args)
        close(b, t)
        assert rb is b and rt is t
    y = bp.nn.functional.gumbel_softmax(bp.tensor(x), tau=0.5, hard=True)
    assert np.allclose(y._data.sum(-1), 1.0) and set(np.unique(y._data)) <= {0.0, 1.0}
