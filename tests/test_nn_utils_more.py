"""nn.utils' weight_norm / remove_weight_norm (the hook API, weight_g/weight_v),
clip_grad_norm (deprecated alias) and skip_init, against torch in float64."""

import warnings

import numpy as np
import pytest
import torch

import backprop as bp


def close(a, b, rtol=1e-9, atol=1e-11):
    a = a._data if isinstance(a, bp.Tensor) else a
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=rtol, atol=atol)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return fn(*args, **kwargs)


LAYERS = [
    ("Linear", (3, 4), (5, 3), 0),
    ("Linear", (3, 4), (5, 3), 1),
    ("Linear", (3, 4), (5, 3), None),
    ("Conv2d", (2, 3, 3), (2, 2, 5, 5), 0),
    ("Conv2d", (2, 3, 3), (2, 2, 5, 5), 2),
    ("Conv1d", (2, 3, 2), (2, 2, 6), -1),
]


@pytest.mark.parametrize("name,args,xshape,dim", LAYERS)
def test_weight_norm_against_torch(name, args, xshape, dim):
    bp.manual_seed(0)
    ours = getattr(bp.nn, name)(*args).double()
    theirs = getattr(torch.nn, name)(*args).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        bp.nn.utils.weight_norm(ours, dim=dim)
    quiet(torch.nn.utils.weight_norm, theirs, dim=dim)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, tv in theirs.state_dict().items():
        close(ours.state_dict()[k], tv)
    # Change g and v so the recomputed weight is not the original one.
    rng = np.random.default_rng(1)
    for k in ("weight_g", "weight_v"):
        new = rng.normal(size=tuple(getattr(theirs, k).shape))
        getattr(ours, k)._data[...] = new
        with torch.no_grad():
            getattr(theirs, k).copy_(torch.tensor(new))
    x = rng.normal(size=xshape)
    yo, yt = ours(bp.tensor(x)), theirs(torch.tensor(x))
    close(yo, yt)
    close(ours.weight, theirs.weight)
    seed = rng.normal(size=tuple(yt.shape))
    (yo * bp.tensor(seed)).sum().backward()
    (yt * torch.tensor(seed)).sum().backward()
    close(ours.weight_g.grad, theirs.weight_g.grad)
    close(ours.weight_v.grad, theirs.weight_v.grad)
    bp.nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours.weight, bp.nn.Parameter) and not ours._forward_pre_hooks
    close(ours.weight, theirs.weight)
    close(ours(bp.tensor(x)), theirs(torch.tensor(x)))


def test_weight_norm_errors_as_torch():
    m = quiet(bp.nn.utils.weight_norm, bp.nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"):
        quiet(bp.nn.utils.weight_norm, m)
    with pytest.raises(ValueError, match="weight_norm of 'bias' not found"):
        bp.nn.utils.remove_weight_norm(m, "bias")


def test_weight_norm_trains_with_an_optimizer():
    m = quiet(bp.nn.utils.weight_norm, bp.nn.Linear(3, 1))
    names = [n for n, _ in m.named_parameters()]
    assert sorted(names) == ["bias", "weight_g", "weight_v"]
    opt = bp.optim.SGD(m.parameters(), lr=0.1)
    x, y = bp.randn(16, 3), bp.randn(16, 1)
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = bp.nn.functional.mse_loss(m(x), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first


def test_clip_grad_norm_alias_warns():
    w, tw = bp.nn.Parameter(bp.tensor([3.0, 4.0])), torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    (w * w).sum().backward()
    (tw * tw).sum().backward()
    with pytest.warns(FutureWarning, match="`torch.nn.utils.clip_grad_norm` is now deprecated"):
        n = bp.nn.utils.clip_grad_norm([w], 1.0)
    tn = quiet(torch.nn.utils.clip_grad_norm, [tw], 1.0)
    close(n, tn, rtol=1e-6)
    close(w.grad, tw.grad, rtol=1e-6)


def test_skip_init():
    m = bp.nn.utils.skip_init(bp.nn.Linear, 3, 4, bias=False)
    assert isinstance(m, bp.nn.Linear) and m.weight.shape == (4, 3) and m.bias is None

    class NoDevice(bp.nn.Module):
        def __init__(self):
            super().__init__()

    with pytest.raises(RuntimeError, match="support a 'device' arg"):
        bp.nn.utils.skip_init(NoDevice)
    with pytest.raises(RuntimeError, match="Expected a Module"):
        bp.nn.utils.skip_init(int)


# ---------------------------------------------------------------- parametrizations


@pytest.mark.parametrize("name,args,xshape,dim", LAYERS)
def test_parametrizations_weight_norm_against_torch(name, args, xshape, dim):
    bp.manual_seed(0)
    ours = getattr(bp.nn, name)(*args).double()
    theirs = getattr(torch.nn, name)(*args).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    P, TP = bp.nn.utils.parametrizations, torch.nn.utils.parametrizations
    P.weight_norm(ours, dim=dim)
    TP.weight_norm(theirs, dim=dim)
    assert type(ours).__name__ == type(theirs).__name__
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    rng = np.random.default_rng(1)
    new = {k: rng.normal(size=tuple(v.shape)) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict({k: torch.tensor(v) for k, v in new.items()})
    ours.load_state_dict({k: bp.tensor(v) for k, v in new.items()})
    x = rng.normal(size=xshape)
    yo, yt = ours(bp.tensor(x)), theirs(torch.tensor(x))
    close(yo, yt)
    seed = rng.normal(size=tuple(yt.shape))
    (yo * bp.tensor(seed)).sum().backward()
    (yt * torch.tensor(seed)).sum().backward()
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        close(p.grad, tp.grad, rtol=1e-8, atol=1e-10)
    # Assigning the weight goes through right_inverse.
    w = rng.normal(size=tuple(theirs.weight.shape))
    ours.weight = bp.tensor(w)
    with torch.no_grad():
        theirs.weight = torch.tensor(w)
    close(ours.weight, theirs.weight)
    close(ours.parametrizations.weight.original0, theirs.parametrizations.weight.original0)
    bp.nn.utils.parametrize.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    assert type(ours) is getattr(bp.nn, name) and isinstance(ours.weight, bp.nn.Parameter)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    close(ours.weight, theirs.weight)


def test_parametrizations_weight_norm_loads_old_state_dict():
    old = quiet(bp.nn.utils.weight_norm, bp.nn.Linear(3, 2).double())
    new = bp.nn.utils.parametrizations.weight_norm(bp.nn.Linear(3, 2).double())
    new.load_state_dict(old.state_dict())
    x = bp.randn(4, 3).double()
    close(new(x), torch.tensor(old(x).numpy()))


class Symmetric(bp.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


class TSymmetric(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


class Scale(bp.nn.Module):
    def forward(self, X):
        return 2.0 * X


class TScale(torch.nn.Module):
    def forward(self, X):
        return 2.0 * X


def test_custom_parametrization_chain_cache_and_remove():
    P, TP = bp.nn.utils.parametrize, torch.nn.utils.parametrize
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 3))
    ours, theirs = bp.nn.Linear(3, 3).double(), torch.nn.Linear(3, 3).double()
    ours.weight._data[...] = w0
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w0))
    P.register_parametrization(ours, "weight", Symmetric())
    TP.register_parametrization(theirs, "weight", TSymmetric())
    P.register_parametrization(ours, "weight", Scale())
    TP.register_parametrization(theirs, "weight", TScale())
    assert P.is_parametrized(ours) and P.is_parametrized(ours, "weight")
    assert not P.is_parametrized(ours, "bias")
    assert P.type_before_parametrizations(ours) is bp.nn.Linear
    assert list(ours.state_dict()) == list(theirs.state_dict())
    close(ours.weight, theirs.weight)
    close(ours.parametrizations.weight.original, theirs.parametrizations.weight.original)
    with P.cached():
        assert ours.weight is ours.weight
    assert ours.weight is not ours.weight
    x = rng.normal(size=(2, 3))
    ours(bp.tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    close(ours.parametrizations.weight.original.grad, theirs.parametrizations.weight.original.grad)
    P.remove_parametrizations(ours, "weight", leave_parametrized=False)
    TP.remove_parametrizations(theirs, "weight", leave_parametrized=False)
    assert not P.is_parametrized(ours) and type(ours) is bp.nn.Linear
    assert not hasattr(ours, "parametrizations")
    close(ours.weight, theirs.weight)
    with pytest.raises(ValueError, match="does not have a parametrization"):
        P.remove_parametrizations(ours, "weight")
