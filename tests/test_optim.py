"""bp.optim against torch.optim: the same weights after 50 steps, float64."""

import numpy as np
import pytest
import torch

import backprop as bp
from backprop import nn, optim


def twin_models(seed=0):
    """A small tanh MLP in both libraries with the same float64 weights, and fixed data."""
    bp.manual_seed(seed)
    ours = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    theirs = theirs.double()
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    return ours, theirs, X, Y


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda c: str(c))
def test_trajectory_matches_torch(name, kwargs):
    ours, theirs, X, Y = twin_models()
    opt = getattr(optim, name)(ours.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    x, y, tx, ty = bp.tensor(X), bp.tensor(Y), torch.tensor(X), torch.tensor(Y)
    for _ in range(50):
        opt.zero_grad()
        nn.MSELoss()(ours(x), y).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.MSELoss()(theirs(tx), ty).backward()
        topt.step()
    for (k, v), tv in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(v, tv.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)


def test_plain_sgd_is_the_lecture_update():
    w = nn.Parameter(bp.tensor([1.0, -2.0], dtype=bp.float64))
    before = w._data.copy()
    (w * w * w).sum().backward()  # dL/dw = 3 w^2
    optim.SGD([w], lr=0.01).step()
    np.testing.assert_array_equal(w._data, before - 0.01 * (3 * before**2))


def test_param_groups_state_dict_and_reload():
    ours, _, X, Y = twin_models()
    opt = optim.Adam(
        [{"params": ours[0].parameters(), "lr": 0.1}, {"params": ours[2].parameters()}], lr=0.01
    )
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    for _ in range(3):
        opt.zero_grad()
        nn.MSELoss()(ours(bp.tensor(X)), bp.tensor(Y)).backward()
        opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert sd["param_groups"][1]["params"] == [2, 3]
    assert sd["state"][0]["step"] == 3 and sd["state"][0]["exp_avg"].shape == (5, 3)
    fresh = optim.Adam(
        [{"params": ours[0].parameters(), "lr": 0.5}, {"params": ours[2].parameters()}], lr=0.5
    )
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["lr"] == 0.1
    np.testing.assert_array_equal(
        fresh.state[ours[0].weight]["exp_avg"], opt.state[ours[0].weight]["exp_avg"]
    )


def test_zero_grad_sets_none_by_default():
    w = nn.Parameter(bp.ones(2))
    opt = optim.SGD([w], lr=0.1)
    w.sum().backward()
    opt.zero_grad(set_to_none=False)
    assert (w.grad == 0).all()
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # no gradient: nothing moves
    assert (w._data == 1).all()


def test_bad_arguments():
    w = nn.Parameter(bp.ones(2))
    with pytest.raises(ValueError):
        optim.SGD([w], lr=-1)
    with pytest.raises(ValueError):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError):
        optim.SGD([bp.ones(2)], lr=0.1)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("StepLR", dict(step_size=3, gamma=0.5)),
        ("ExponentialLR", dict(gamma=0.9)),
        ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001)),
    ],
)
def test_schedules_match_torch(name, kwargs):
    w = nn.Parameter(bp.ones(1))
    tw = torch.nn.Parameter(torch.ones(1))
    opt, topt = optim.SGD([w], lr=0.1), torch.optim.SGD([tw], lr=0.1)
    sched = getattr(optim.lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(12):
        assert sched.get_last_lr()[0] == pytest.approx(tsched.get_last_lr()[0], rel=1e-12)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    state = sched.state_dict()
    again = getattr(optim.lr_scheduler, name)(optim.SGD([w], lr=0.1), **kwargs)
    again.load_state_dict(state)
    assert again.get_last_lr() == sched.get_last_lr()
    assert again.optimizer.param_groups[0]["lr"] == sched.get_last_lr()[0]
