"""The ranking, embedding, margin, triplet, Poisson and Gaussian losses against torch in
float64: values and gradients (every input), for every reduction, as modules and functions."""

import numpy as np
import pytest
import torch

import backprop as bp
import backprop.nn.functional as F


def close(a, b, rtol=1e-9, atol=1e-11):
    a = a._data if isinstance(a, bp.Tensor) else a
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=rtol, atol=atol)


def _data(rng):
    """Named inputs: floats are differentiated, ints and labels are not."""
    return {
        "x": rng.normal(size=(5, 4)),
        "x2": rng.normal(size=(5, 4)),
        "x3": rng.normal(size=(5, 4)),
        "v1": rng.normal(size=(6,)),
        "v2": rng.normal(size=(6,)),
        "d": rng.uniform(0.0, 2.0, size=(6,)),
        "pm6": np.where(rng.random(6) < 0.5, 1.0, -1.0),
        "pm5": np.where(rng.random(5) < 0.5, 1.0, -1.0),
        "pm54": np.where(rng.random((5, 4)) < 0.5, 1.0, -1.0),
        "bin54": (rng.random((5, 4)) < 0.5).astype(np.float64),
        "cls5": rng.integers(0, 4, size=5),
        "cls0": np.array(2),
        "x1d": rng.normal(size=(4,)),
        "ml": np.array([[3, 0, -1, 1], [0, 1, 2, 3], [1, -1, 0, 0], [2, 2, -1, 0], [-1, 0, 1, 2]]),
        "ml1": np.array([1, 3, -1, 0]),
        "rate": rng.uniform(0.1, 3.0, size=(5, 4)),
        "counts": rng.integers(0, 6, size=(5, 4)).astype(np.float64),
        "var": rng.uniform(0.2, 2.0, size=(5, 4)),
        "var5": rng.uniform(0.2, 2.0, size=(5,)),
        "var51": rng.uniform(0.2, 2.0, size=(5, 1)),
        "var_small": np.where(rng.random((5, 4)) < 0.5, 1e-9, 0.5),
        "w4": rng.uniform(0.5, 2.0, size=(4,)),
    }


GRAD = {"x", "x2", "x3", "v1", "v2", "d", "x1d", "rate", "var", "var5", "var51", "var_small"}

# (module name, constructor kwargs, input names in order)
CASES = [
    ("MarginRankingLoss", {}, ["v1", "v2", "pm6"]),
    ("MarginRankingLoss", {"margin": 0.5}, ["v1", "v2", "pm6"]),
    ("HingeEmbeddingLoss", {}, ["d", "pm6"]),
    ("HingeEmbeddingLoss", {"margin": 0.7}, ["x", "pm54"]),
    ("CosineEmbeddingLoss", {}, ["x", "x2", "pm5"]),
    ("CosineEmbeddingLoss", {"margin": -0.2}, ["x", "x2", "pm5"]),
    ("SoftMarginLoss", {}, ["x", "pm54"]),
    ("MultiLabelSoftMarginLoss", {}, ["x", "bin54"]),
    ("MultiLabelSoftMarginLoss", {"weight": "w4"}, ["x", "bin54"]),
    ("MultiMarginLoss", {}, ["x", "cls5"]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}, ["x", "cls5"]),
    ("MultiMarginLoss", {"weight": "w4", "margin": 1.5}, ["x", "cls5"]),
    ("MultiMarginLoss", {}, ["x1d", "cls0"]),
    ("MultiLabelMarginLoss", {}, ["x", "ml"]),
    ("MultiLabelMarginLoss", {}, ["x1d", "ml1"]),
    ("TripletMarginLoss", {}, ["x", "x2", "x3"]),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1, "swap": True}, ["x", "x2", "x3"]),
    ("TripletMarginLoss", {"p": 3, "eps": 1e-3}, ["x", "x2", "x3"]),
    ("TripletMarginWithDistanceLoss", {}, ["x", "x2", "x3"]),
    ("TripletMarginWithDistanceLoss", {"margin": 3.0, "swap": True}, ["x", "x2", "x3"]),
    ("TripletMarginWithDistanceLoss", {"distance_function": "cos"}, ["x", "x2", "x3"]),
    ("PoissonNLLLoss", {}, ["x", "counts"]),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, ["rate", "counts"]),
    ("PoissonNLLLoss", {"full": True, "eps": 1e-3}, ["x", "counts"]),
    ("GaussianNLLLoss", {}, ["x", "x2", "var"]),
    ("GaussianNLLLoss", {"full": True}, ["x", "x2", "var5"]),
    ("GaussianNLLLoss", {}, ["x", "x2", "var51"]),
    ("GaussianNLLLoss", {"eps": 1e-3}, ["x", "x2", "var_small"]),
]


def _kwargs(kw, lib, data):
    out = {}
    for k, v in kw.items():
        if v == "w4":
            v = lib.tensor(data["w4"])
        elif v == "cos":
            cos = torch.nn.functional.cosine_similarity if lib is torch else F.cosine_similarity
            v = lambda a, b, cos=cos: 1.0 - cos(a, b)  # noqa: E731
        out[k] = v
    return out


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,kw,names", CASES, ids=lambda c: str(c))
def test_loss_against_torch(name, kw, names, reduction):
    data = _data(np.random.default_rng(0))
    tin = [torch.tensor(data[n], requires_grad=n in GRAD) for n in names]
    bin_ = [bp.tensor(data[n], requires_grad=n in GRAD) for n in names]
    tl = getattr(torch.nn, name)(reduction=reduction, **_kwargs(kw, torch, data))(*tin)
    bl = getattr(bp.nn, name)(reduction=reduction, **_kwargs(kw, bp, data))(*bin_)
    assert tuple(bl.shape) == tuple(tl.shape)
    close(bl, tl)
    seed = np.random.default_rng(1).normal(size=tuple(tl.shape))
    (tl * torch.tensor(seed)).sum().backward()
    (bl * bp.tensor(seed)).sum().backward()
    for n, t, b in zip(names, tin, bin_):
        if n in GRAD:
            close(b.grad, t.grad, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    "fname,args,kw",
    [
        ("margin_ranking_loss", ["v1", "v2", "pm6"], {"margin": 0.3}),
        ("hinge_embedding_loss", ["d", "pm6"], {}),
        ("cosine_embedding_loss", ["x", "x2", "pm5"], {}),
        ("soft_margin_loss", ["x", "pm54"], {}),
        ("multilabel_soft_margin_loss", ["x", "bin54"], {}),
        ("multi_margin_loss", ["x", "cls5"], {"p": 2}),
        ("multilabel_margin_loss", ["x", "ml"], {}),
        ("triplet_margin_loss", ["x", "x2", "x3"], {"swap": True}),
        ("triplet_margin_with_distance_loss", ["x", "x2", "x3"], {"margin": 0.5}),
        ("poisson_nll_loss", ["x", "counts"], {"full": True}),
        ("gaussian_nll_loss", ["x", "x2", "var"], {"full": True}),
    ],
)
def test_functional_against_torch(fname, args, kw):
    data = _data(np.random.default_rng(2))
    tin = [torch.tensor(data[n], requires_grad=n in GRAD) for n in args]
    bin_ = [bp.tensor(data[n], requires_grad=n in GRAD) for n in args]
    tl = getattr(torch.nn.functional, fname)(*tin, **kw)
    bl = getattr(F, fname)(*bin_, **kw)
    close(bl, tl)
    tl.backward()
    bl.backward()
    for n, t, b in zip(args, tin, bin_):
        if n in GRAD:
            close(b.grad, t.grad, rtol=1e-8, atol=1e-10)


def test_gaussian_nll_float_var_and_errors():
    x, y = np.array([0.5, -1.0, 2.0]), np.array([0.0, 0.0, 1.0])
    tl = torch.nn.functional.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), 0.5)
    close(F.gaussian_nll_loss(bp.tensor(x), bp.tensor(y), 0.5), tl)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(bp.tensor(x), bp.tensor(y), bp.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(bp.tensor(x), bp.tensor(y), bp.tensor([1.0, 1.0]))


def test_bad_arguments_as_torch():
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        bp.nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="margin"):
        bp.nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(ValueError, match="reduction"):
        bp.nn.SoftMarginLoss(reduction="avg")
    with pytest.raises(TypeError, match="class indices"):
        F.multi_margin_loss(bp.randn(3, 4), bp.tensor([0.0, 1.0, 2.0]))


def test_float32_stays_float32():
    x, t = bp.randn(4, 3), bp.tensor(np.where(np.arange(12) % 2, 1.0, -1.0).reshape(4, 3))
    assert F.soft_margin_loss(x, t.float()).dtype == bp.float32
    assert bp.nn.TripletMarginLoss()(x, x * 2, x * 3).dtype == bp.float32


def _grads(fname, lib, arrays, grad_mask, **kw):
    fn = getattr(torch.nn.functional if lib is torch else F, fname)
    ts = [lib.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_mask)]
    fn(*ts, reduction="sum", **kw).backward()
    return [t.grad for t, g in zip(ts, grad_mask) if g]


@pytest.mark.parametrize(
    "fname,arrays,grad_mask,kw",
    [  # every hinge sits exactly on its kink
        ("margin_ranking_loss", [[1.0, 2.0], [1.0, 2.0], [1.0, -1.0]], [1, 1, 0], {}),
        ("hinge_embedding_loss", [[1.0, 0.5], [-1.0, -1.0]], [1, 0], {}),
        ("cosine_embedding_loss", [[[1.0, 0.0]], [[0.0, 1.0]], [-1.0]], [1, 1, 0], {}),
        ("multi_margin_loss", [[[1.0, 0.0, 0.5]], np.array([0])], [1, 0], {}),
        ("multilabel_margin_loss", [[[1.0, 0.0, 0.5]], np.array([[0, -1, 0]])], [1, 0], {}),
        ("triplet_margin_loss", [[[0.0, 0.0]], [[1.0, 0.0]], [[2.0, 0.0]]], [1, 1, 1], {}),
    ],
)
def test_gradients_at_the_kink_as_torch(fname, arrays, grad_mask, kw):
    arrays = [
        np.asarray(a, dtype=np.float64 if np.asarray(a).dtype.kind == "f" else None) for a in arrays
    ]
    mask = [bool(g) for g in grad_mask]
    kw = dict(kw, eps=0.0) if fname == "triplet_margin_loss" else kw
    for ours, theirs in zip(
        _grads(fname, bp, arrays, mask, **kw), _grads(fname, torch, arrays, mask, **kw)
    ):
        close(ours, theirs)
