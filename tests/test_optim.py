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
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
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
    ("SGD", dict(lr=0.01, momentum=0.5, maximize=True, foreach=False)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.01, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1), maximize=True)),
    ("Rprop", dict(lr=0.001, foreach=False)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=10, weight_decay=0.01)),
    ("ASGD", dict(lr=0.05, t0=0, maximize=True)),
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
    # The state dicts agree key by key (PyTorch's format: same indices, names and shapes).
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["state"].keys() == tsd["state"].keys()
    for i, entry in tsd["state"].items():
        assert set(sd["state"][i]) == set(entry)
        for k, tv in entry.items():
            np.testing.assert_allclose(np.asarray(sd["state"][i][k]), tv.numpy(), rtol=1e-9)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_matches_torch(line_search_fn):
    ours, theirs, X, Y = twin_models()
    kw = dict(lr=0.5 if line_search_fn is None else 1, max_iter=8, history_size=5)
    opt = optim.LBFGS(ours.parameters(), line_search_fn=line_search_fn, **kw)
    topt = torch.optim.LBFGS(theirs.parameters(), line_search_fn=line_search_fn, **kw)
    x, y, tx, ty = bp.tensor(X), bp.tensor(Y), torch.tensor(X), torch.tensor(Y)

    def closure():
        opt.zero_grad()
        loss = nn.MSELoss()(ours(x), y)
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = torch.nn.MSELoss()(theirs(tx), ty)
        loss.backward()
        return loss

    for _ in range(4):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        assert float(loss) == pytest.approx(float(tloss), rel=1e-9)
    for (k, v), tv in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(v, tv.numpy(), rtol=1e-7, atol=1e-10, err_msg=k)
    assert (
        opt.state[next(ours.parameters())]["func_evals"]
        == (topt.state[next(theirs.parameters())]["func_evals"])
    )


def test_load_torch_optimizer_state_dict_converts_tensors():
    ours, theirs, X, Y = twin_models()
    topt = torch.optim.Adam(theirs.parameters(), lr=0.01, amsgrad=True)
    for _ in range(3):
        topt.zero_grad()
        torch.nn.MSELoss()(theirs(torch.tensor(X)), torch.tensor(Y)).backward()
        topt.step()
    ours.load_state_dict(theirs.state_dict())
    opt = optim.Adam(ours.parameters(), lr=0.5, amsgrad=True)
    opt.load_state_dict(topt.state_dict())
    assert opt.param_groups[0]["lr"] == 0.01
    for _ in range(3):  # both continue from the same state to the same weights
        opt.zero_grad()
        nn.MSELoss()(ours(bp.tensor(X)), bp.tensor(Y)).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.MSELoss()(theirs(torch.tensor(X)), torch.tensor(Y)).backward()
        topt.step()
    for (k, v), tv in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(v, tv.numpy(), rtol=1e-9, err_msg=k)
    assert type(opt.state[ours[0].weight]["exp_avg"]) is np.ndarray
    assert opt.state[ours[0].weight]["step"] == 6


def test_load_state_dict_refuses_what_it_cannot_use():
    ours, _, _, _ = twin_models()
    opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"weights": 1})
    bad = {
        "state": {0: {"momentum_buffer": np.zeros(7)}},
        "param_groups": [{"lr": 0.1, "params": [0, 1, 2, 3]}],
    }
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(bad)
    bad["state"][0]["momentum_buffer"] = object()
    with pytest.raises(TypeError, match="momentum_buffer"):
        opt.load_state_dict(bad)
    with pytest.raises(NotImplementedError, match="fused"):
        optim.Adam(ours.parameters(), fused=True)


def test_add_param_group_as_torch():
    a, b = nn.Parameter(bp.ones(2)), nn.Parameter(bp.ones(3))
    opt = optim.SGD([a], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.5 and opt.param_groups[1]["lr"] == 0.01
    with pytest.raises(ValueError, match="more than one"):
        opt.add_param_group({"params": [a]})


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
        ("CosineAnnealingLR", dict(T_max=4)),
        ("LambdaLR", dict(lr_lambda=lambda e: 0.95**e)),
        ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9)),
        ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.5)),
        ("ConstantLR", dict(factor=0.5, total_iters=4)),
        ("LinearLR", dict(start_factor=0.1, total_iters=6)),
        ("PolynomialLR", dict(total_iters=8, power=2.0)),
        ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.01)),
        ("OneCycleLR", dict(max_lr=1.0, total_steps=20)),
        (
            "OneCycleLR",
            dict(
                max_lr=1.0, epochs=4, steps_per_epoch=5, three_phase=True, anneal_strategy="linear"
            ),
        ),
        ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3)),
        (
            "CyclicLR",
            dict(base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=4, mode="triangular2"),
        ),
        ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.9)),
    ],
)
def test_schedules_match_torch(name, kwargs):
    w = nn.Parameter(bp.ones(1))
    tw = torch.nn.Parameter(torch.ones(1))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    sched = getattr(optim.lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(19):
        assert sched.get_last_lr()[0] == pytest.approx(tsched.get_last_lr()[0], rel=1e-12)
        assert opt.param_groups[0]["momentum"] == pytest.approx(topt.param_groups[0]["momentum"])
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    state = sched.state_dict()
    again = getattr(optim.lr_scheduler, name)(optim.SGD([w], lr=0.1, momentum=0.9), **kwargs)
    again.load_state_dict(state)
    assert again.get_last_lr() == sched.get_last_lr()
    assert again.optimizer.param_groups[0]["lr"] == sched.get_last_lr()[0]


def test_sequential_and_plateau_match_torch():
    from backprop.optim.lr_scheduler import LinearLR, ReduceLROnPlateau, SequentialLR, StepLR

    w, tw = nn.Parameter(bp.ones(1)), torch.nn.Parameter(torch.ones(1))
    opt, topt = optim.Adam([w], lr=0.1), torch.optim.Adam([tw], lr=0.1)
    seq = SequentialLR(opt, [LinearLR(opt, 0.2, total_iters=3), StepLR(opt, 2, 0.5)], [4])
    T = torch.optim.lr_scheduler
    tseq = T.SequentialLR(topt, [T.LinearLR(topt, 0.2, total_iters=3), T.StepLR(topt, 2, 0.5)], [4])
    for _ in range(10):
        assert seq.get_last_lr()[0] == pytest.approx(tseq.get_last_lr()[0], rel=1e-12)
        opt.step()
        topt.step()
        seq.step()
        tseq.step()
    opt, topt = optim.SGD([w], lr=1.0), torch.optim.SGD([tw], lr=1.0)
    kw = dict(factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=0.05)
    plateau, tplateau = ReduceLROnPlateau(opt, **kw), T.ReduceLROnPlateau(topt, **kw)
    for metric in [5, 4, 4, 4, 4, 3.99, 3.99, 3.99, 3.99, 1, 1, 1, 1, 1, 1, 1, 1, 1]:
        plateau.step(metric)
        tplateau.step(metric)
        assert plateau.get_last_lr() == pytest.approx(tplateau.get_last_lr(), rel=1e-12)
    assert opt.param_groups[0]["lr"] == 0.0625  # 1 -> 0.5 -> 0.25 -> 0.125 -> 0.0625
