"""The rest of torch.nn that real programs use: activations, functional helpers, K-dim
cross-entropy, containers, normalisation, Embedding, nn.utils and the Module API, each
against torch in float64 (values and gradients)."""

import numpy as np
import pytest
import torch

import backprop as bp
import backprop.nn.functional as F
from backprop import nn

TF = torch.nn.functional
RTOL, ATOL = 1e-10, 1e-12


def both(arr, requires_grad=True):
    arr = np.asarray(arr, dtype=np.float64)
    return (
        bp.tensor(arr.copy(), requires_grad=requires_grad),
        torch.tensor(arr.copy(), requires_grad=requires_grad),
    )


def close(a, b, rtol=RTOL, atol=ATOL):
    a = a._data if isinstance(a, bp.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(
        np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=atol
    )


def check(ours_fn, theirs_fn, *arrays, rtol=RTOL, atol=ATOL):
    """Same value and same gradient for every input, with a random upstream gradient."""
    pairs = [both(a) for a in arrays]
    out, tout = ours_fn(*(p[0] for p in pairs)), theirs_fn(*(p[1] for p in pairs))
    close(out, tout, rtol, atol)
    g = np.random.default_rng(0).normal(size=np.shape(tout.detach().numpy()))
    (out * bp.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    for x, tx in pairs:
        close(x.grad, tx.grad, rtol, atol)


# Kinks of every activation included: 0, +-1, +-3, 6.
X = np.array([[-30.0, -6.0, -3.0, -2.5, -1.0, -1e-3, 0.0], [1e-3, 0.5, 1.0, 3.0, 6.0, 7.0, 30.0]])

ACTS = [
    ("SiLU", {}),
    ("Mish", {}),
    ("Hardtanh", {}),
    ("Hardtanh", dict(min_val=-2.5, max_val=3.0)),
    ("ReLU6", {}),
    ("SELU", {}),
    ("CELU", {}),
    ("CELU", dict(alpha=2.0)),
    ("Hardswish", {}),
    ("Hardsigmoid", {}),
    ("LogSigmoid", {}),
    ("Softsign", {}),
    ("Tanhshrink", {}),
    ("Threshold", dict(threshold=0.5, value=-1.0)),
    ("Softmin", dict(dim=1)),
    ("Softmax", dict(dim=0)),
    ("ReLU6", dict(inplace=True)),
]


@pytest.mark.parametrize("name,kwargs", ACTS, ids=lambda c: str(c))
def test_activation_modules_match_torch(name, kwargs):
    # PyTorch's hardsigmoid backward multiplies by the float32 constant 1.0f / 6.0f even in
    # float64; ours is the exact 1/6, so it agrees to float32's precision there.
    rtol = 1e-7 if name == "Hardsigmoid" else RTOL
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    check(lambda x: ours(x * 1.0), lambda x: theirs(x * 1.0), X, rtol=rtol)


def test_softmax_methods_dims_and_dtype():
    x = np.random.default_rng(1).normal(size=(2, 3, 4))
    for dim in (0, 1, 2, -1):
        check(lambda t, d=dim: t.softmax(d), lambda t, d=dim: t.softmax(d), x)
        check(lambda t, d=dim: t.log_softmax(dim=d), lambda t, d=dim: t.log_softmax(dim=d), x)
    check(lambda t: F.softmax(t, dim=None), lambda t: TF.softmax(t, dim=None), x)
    assert bp.tensor([1.0, 2.0]).softmax(0, dtype=bp.float64).dtype == np.float64
    with pytest.raises(IndexError, match="range"):
        bp.ones(2, 3).softmax(2)


def test_functional_helpers_match_torch():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    a[1] = 0.0  # a zero vector: normalize keeps it 0, with finite gradients
    check(lambda x: F.normalize(x), lambda x: TF.normalize(x), a)
    check(lambda x: F.normalize(x, p=1, dim=0), lambda x: TF.normalize(x, p=1, dim=0), a)
    check(F.cosine_similarity, TF.cosine_similarity, a + 0.5, b)
    check(
        lambda x, y: F.cosine_similarity(x, y, dim=0),
        lambda x, y: TF.cosine_similarity(x, y, dim=0),
        a + 0.5,
        b,
    )
    check(F.pairwise_distance, TF.pairwise_distance, a, b)
    idx = np.array([[0, 3], [2, 1]])
    assert F.one_hot(bp.tensor(idx)).tolist() == TF.one_hot(torch.tensor(idx)).tolist()
    assert F.one_hot(bp.tensor(idx), 6).dtype == np.int64
    with pytest.raises(ValueError):
        F.one_hot(bp.tensor(idx), 2)
    x = bp.ones(4, 4)
    assert F.dropout(x, 0.5, training=False, inplace=True) is x


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_match_torch(reduction):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(3, 4)) * 2, rng.normal(size=(3, 4))
    x[0, 0] = y[0, 0]  # d = 0
    x[0, 1] = y[0, 1] + 0.5  # |d| = beta exactly
    for beta in (1.0, 0.5, 0.0):
        check(
            lambda a, b, beta=beta: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
            lambda a, b, beta=beta: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
            x,
            y,
        )
    for delta in (1.0, 0.5):
        check(
            lambda a, b, delta=delta: nn.HuberLoss(reduction, delta)(a, b),
            lambda a, b, delta=delta: torch.nn.HuberLoss(reduction, delta)(a, b),
            x,
            y,
        )
    check(nn.L1Loss(reduction=reduction), torch.nn.L1Loss(reduction=reduction), x, y)
    check(
        nn.SmoothL1Loss(reduction=reduction, beta=0.5),
        torch.nn.SmoothL1Loss(reduction=reduction, beta=0.5),
        x,
        y,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    rng = np.random.default_rng(4)
    logp = np.log(rng.dirichlet(np.ones(5), size=3))
    q = rng.dirichlet(np.ones(5), size=3)
    q[0, 2] = 0.0  # a zero target probability contributes 0
    tgt = np.log(q + 1e-3) if log_target else q
    # The target as a constant (PyTorch's gradient for a zero target is NaN).
    check(
        lambda a: nn.KLDivLoss(reduction=reduction, log_target=log_target)(a, bp.tensor(tgt)),
        lambda a: torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(
            a, torch.tensor(tgt)
        ),
        logp,
    )
    if log_target:  # and as a variable, where the gradient is defined everywhere
        check(
            lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=True),
            lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=True),
            logp,
            tgt,
        )


CE_CASES = [
    dict(),
    dict(label_smoothing=0.2),
    dict(weight=[0.2, 1.0, 3.0]),
    dict(weight=[0.2, 1.0, 3.0], label_smoothing=0.1),
    dict(ignore_index=1),
    dict(ignore_index=1, label_smoothing=0.3, weight=[1.0, 2.0, 0.5]),
]


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4), (2, 3, 2, 3), (3,)])
@pytest.mark.parametrize("kwargs", CE_CASES, ids=lambda c: str(c))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_kdim_smoothing_weight_ignore(shape, kwargs, reduction):
    rng = np.random.default_rng(5)
    x = rng.normal(size=shape) * 3
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    t = rng.integers(0, 3, size=tshape)
    kw = dict(kwargs)
    w = kw.pop("weight", None)
    ours_kw = dict(kw, weight=None if w is None else bp.tensor(np.array(w)), reduction=reduction)
    theirs_kw = dict(
        kw, weight=None if w is None else torch.tensor(w, dtype=torch.float64), reduction=reduction
    )
    check(
        lambda a: nn.CrossEntropyLoss(**ours_kw)(a, bp.tensor(t)),
        lambda a: torch.nn.CrossEntropyLoss(**theirs_kw)(a, torch.tensor(t)),
        x,
    )
    nll_kw = {k: v for k, v in ours_kw.items() if k != "label_smoothing"}
    tnll_kw = {k: v for k, v in theirs_kw.items() if k != "label_smoothing"}
    check(
        lambda a: nn.NLLLoss(**nll_kw)(a.log_softmax(0 if len(shape) == 1 else 1), bp.tensor(t)),
        lambda a: torch.nn.NLLLoss(**tnll_kw)(
            a.log_softmax(0 if len(shape) == 1 else 1), torch.tensor(t)
        ),
        x,
    )
    # class probabilities over dim 1 (no ignore_index with probabilities)
    if "ignore_index" not in kw:
        p = rng.dirichlet(np.ones(3), size=int(np.prod(tshape)) or 1)
        p = np.moveaxis(p.reshape(tshape + (3,)), -1, 1 if len(shape) > 1 else 0)
        check(
            lambda a, b: F.cross_entropy(a, b, **ours_kw),
            lambda a, b: TF.cross_entropy(a, b, **theirs_kw),
            x,
            p,
        )


def test_cross_entropy_errors_are_clear():
    with pytest.raises(ValueError, match=r"target \(N, d1"):
        F.cross_entropy(bp.ones(2, 3, 4), bp.tensor([0, 1]))
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(bp.ones(2, 3, 4), bp.tensor([[0, 1, 2, 3], [0, 0, 0, 0]]))


def _container_net(lib):
    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.blocks = lib.ModuleList([lib.Linear(2, 2), lib.Linear(2, 2)])
            self.blocks.append(lib.Tanh())
            self.heads = lib.ModuleDict({"a": lib.Linear(2, 1), "b": lib.Linear(2, 3)})
            self.scales = lib.ParameterList(
                [lib.Parameter(bp.ones(2) if lib is nn else torch.ones(2))]
            )
            self.extra = lib.ParameterDict(
                {"bias": lib.Parameter(bp.zeros(3) if lib is nn else torch.zeros(3))}
            )

    return Net()


def test_containers_register_like_torch():
    ours, theirs = _container_net(nn), _container_net(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert len(ours.blocks) == 3 and isinstance(ours.blocks[-1], nn.Tanh)
    assert list(ours.heads.keys()) == ["a", "b"] and "a" in ours.heads
    assert len(ours.blocks[:2]) == 2 and ours.extra["bias"].shape == (3,)
    ours.scales.append(bp.ones(4))  # a tensor becomes a Parameter
    assert isinstance(ours.scales[1], nn.Parameter) and "scales.1" in ours.state_dict()
    del ours.heads["a"]
    assert "heads.a.weight" not in ours.state_dict()
    with pytest.raises(IndexError):
        ours.blocks[5]


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
def test_batchnorm1d_train_eval_running_stats(momentum, shape):
    rng = np.random.default_rng(6)
    ours, theirs = (
        nn.BatchNorm1d(3, momentum=momentum).double(),
        torch.nn.BatchNorm1d(3, momentum=momentum).double(),
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.weight.data.copy_(bp.tensor([0.5, 1.0, 2.0], dtype=bp.float64))
    theirs.weight.data.copy_(torch.tensor([0.5, 1.0, 2.0]))
    for _ in range(3):
        check(ours, theirs, rng.normal(size=shape) * 2 + 1)
    for k, v in theirs.state_dict().items():
        close(ours.state_dict()[k], v)
    ours.eval()
    theirs.eval()
    check(ours, theirs, rng.normal(size=shape))
    assert int(ours.num_batches_tracked.item()) == 3
    fresh = nn.BatchNorm1d(3).double()
    fresh.load_state_dict(theirs.state_dict())
    close(fresh.running_var, theirs.running_var)


def test_batchnorm_options_and_errors():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5, 4))
    for kw in (dict(affine=False), dict(track_running_stats=False)):
        ours, theirs = nn.BatchNorm1d(4, **kw).double(), torch.nn.BatchNorm1d(4, **kw).double()
        assert list(ours.state_dict()) == list(theirs.state_dict())
        check(ours, theirs, x)
        check(ours.eval(), theirs.eval(), x)
    with pytest.raises(ValueError, match="channels"):
        nn.BatchNorm1d(3)(bp.ones(4, 5))
    with pytest.raises(ValueError, match="more than 1 value"):
        nn.BatchNorm1d(3)(bp.ones(1, 3))
    check(
        nn.BatchNorm2d(3).double(), torch.nn.BatchNorm2d(3).double(), rng.normal(size=(2, 3, 2, 2))
    )


def test_layernorm_matches_torch():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(2, 3, 4))
    for shape, kw in [
        (4, {}),
        ((3, 4), {}),
        (4, dict(elementwise_affine=False)),
        (4, dict(bias=False)),
    ]:
        ours, theirs = nn.LayerNorm(shape, **kw).double(), torch.nn.LayerNorm(shape, **kw).double()
        if ours.weight is not None:
            w = rng.normal(size=ours.weight.shape)
            ours.weight.data.copy_(bp.tensor(w))
            theirs.weight.data.copy_(torch.tensor(w))
        assert list(ours.state_dict()) == list(theirs.state_dict())
        check(ours, theirs, x)


def test_embedding_matches_torch():
    ours = nn.Embedding(6, 3, padding_idx=2).double()
    theirs = torch.nn.Embedding(6, 3, padding_idx=2).double()
    assert np.all(ours.weight._data[2] == 0)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    idx = np.array([[0, 2, 5], [5, 5, 1]])  # repeated indices accumulate their gradients
    g = np.random.default_rng(9).normal(size=(2, 3, 3))
    (ours(bp.tensor(idx)) * bp.tensor(g)).sum().backward()
    (theirs(torch.tensor(idx)) * torch.tensor(g)).sum().backward()
    close(ours.weight.grad, theirs.weight.grad)
    pre = nn.Embedding.from_pretrained(bp.tensor(np.eye(3)))
    assert not pre.weight.requires_grad and pre(bp.tensor([1])).tolist() == [[0.0, 1.0, 0.0]]
    with pytest.raises(IndexError):
        ours(bp.tensor([6]))


def _twin_grads(seed=0):
    rng = np.random.default_rng(seed)
    ours = [nn.Parameter(bp.tensor(rng.normal(size=s))) for s in [(3, 4), (4,), (2,)]]
    theirs = [torch.nn.Parameter(torch.tensor(p._data.copy())) for p in ours]
    for p, tp in zip(ours, theirs):
        g = rng.normal(size=p.shape) * 3
        p.grad = bp.tensor(g.copy())
        tp.grad = torch.tensor(g.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _twin_grads()
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    close(total, ttotal)
    for p, tp in zip(ours, theirs):
        close(p.grad, tp.grad)


def test_clip_grad_value_and_vectors_match_torch():
    ours, theirs = _twin_grads(1)
    nn.utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, tp in zip(ours, theirs):
        close(p.grad, tp.grad)
    vec = nn.utils.parameters_to_vector(ours)
    close(vec, torch.nn.utils.parameters_to_vector(theirs))
    (vec * vec).sum().backward()  # differentiable, like torch's
    nn.utils.vector_to_parameters(bp.tensor(np.arange(18.0)), ours)
    torch.nn.utils.vector_to_parameters(torch.arange(18.0, dtype=torch.float64), theirs)
    for p, tp in zip(ours, theirs):
        close(p, tp)
    with pytest.raises(RuntimeError, match="non-finite"):
        ours[0].grad = bp.tensor(np.full((3, 4), np.inf))
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)


def test_module_api_as_torch():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)
            self.bn = nn.BatchNorm1d(2)
            self.register_buffer("steps", bp.zeros(1))
            self.register_buffer("cache", bp.zeros(3), persistent=False)

    net = Net()
    assert [n for n, _ in net.named_buffers()] == [
        "steps",
        "cache",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
    ]
    assert "cache" not in net.state_dict() and "steps" in net.state_dict()
    assert next(iter(net.state_dict(None, "net."))) == "net.steps"  # the old positional form
    assert net.state_dict(keep_vars=True)["fc.weight"] is net.fc.weight
    assert len(list(net.buffers())) == 5 and len(list(net.children())) == 2
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Linear", "BatchNorm1d"]
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "BatchNorm1d", "Net"]
    assert net.eval() is net and not net.bn.training
    assert net.train() is net and net.bn.training
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    net.requires_grad_(True)
    net.fc(bp.ones(1, 2)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert net.fc.weight.grad is not None and not net.fc.weight.grad.numpy().any()
    net.zero_grad()
    assert net.fc.weight.grad is None
    assert net.get_submodule("bn") is net.bn and net.get_parameter("fc.bias") is net.fc.bias
    with pytest.raises(TypeError, match="buffer"):
        net.register_buffer("bad", [1, 2])
    with pytest.raises(RuntimeError, match="missing"):
        net.load_state_dict({})
