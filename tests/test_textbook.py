"""003's delta recursion (pure NumPy) equals the engine's gradients to 1e-12 in float64."""

import numpy as np
import pytest

import backprop as bp
from backprop.explain import textbook

f64 = bp.float64
ACTS = {
    "sigmoid": lambda t: t.sigmoid(),
    "tanh": lambda t: t.tanh(),
    "relu": lambda t: t.relu(),
    "identity": lambda t: t,
}


def _engine(W, x, y, hidden, output, loss):
    Ws = [bp.tensor(w, requires_grad=True, dtype=f64) for w in W]
    one = bp.tensor([[1.0]], dtype=f64)
    o = bp.cat([one, bp.tensor(np.reshape(x, (-1, 1)), dtype=f64)], 0)
    for l, Wt in enumerate(Ws, 1):
        s = Wt @ o
        o = s if l == len(Ws) else bp.cat([one, ACTS[hidden](s)], 0)
    yt = bp.tensor(np.reshape(y, (-1, 1)), dtype=f64)
    if loss == "squared":
        out = o if output == "identity" else o.sigmoid()
        L = ((out - yt) ** 2).sum()
    else:  # binary cross-entropy with a sigmoid output
        p = o.sigmoid()
        L = -(yt * p.log() + (1.0 - yt) * (1.0 - p).log()).sum()
    L.backward()
    return float(L._data), [w.grad for w in Ws]


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "identity"])
@pytest.mark.parametrize(
    "output,loss", [("identity", "squared"), ("sigmoid", "squared"), ("sigmoid", "cross_entropy")]
)
def test_recursion_equals_engine(hidden, output, loss):
    rng = np.random.default_rng(7)
    W = [rng.normal(size=(3, 3)), rng.normal(size=(4, 4)), rng.normal(size=(2, 5))]
    x, y = rng.normal(size=2), np.array([0.0, 1.0])
    r = textbook.layerwise_backprop(W, x, y, hidden=hidden, output=output, loss=loss)
    L, grads = _engine(W, x, y, hidden, output, loss)
    assert abs(L - r.loss) < 1e-12
    for G, g in zip(r.gradients(), grads):
        assert G.shape == g.shape
        np.testing.assert_allclose(G, g, rtol=0, atol=1e-12)
    for l in range(1, 4):  # G(l) = delta(l) o(l-1)^T
        np.testing.assert_allclose(r.G[l], r.delta[l] @ r.o[l - 1].T)


def test_slide_formula_for_tanh_bias_row_is_zero():
    rng = np.random.default_rng(3)
    W = [rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(1, 3))]
    r = textbook.layerwise_backprop(W, [0.3, -0.2], [0.5], hidden="tanh")
    for l in (1, 2):  # the slide's W^T delta (.) (1 - o (.) o) keeps a zero bias row
        full = (r.W[l + 1].T @ r.delta[l + 1]) * (1 - r.o[l] * r.o[l])
        assert full[0, 0] == 0.0
        np.testing.assert_allclose(full[1:], r.delta[l], atol=1e-15)


def test_minibatch_is_mean_of_per_example_gradients_and_sgd_step():
    W = [np.array([[0.1, 0.2, -0.3]]), np.array([[0.0, 0.5]])]
    X, Y = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([[0.1], [0.2]])
    G = textbook.minibatch_gradient(W, X, Y)
    G0 = textbook.layerwise_backprop(W, X[0], Y[0]).gradients()
    G1 = textbook.layerwise_backprop(W, X[1], Y[1]).gradients()
    for g, a, b in zip(G, G0, G1):
        np.testing.assert_allclose(g, (a + b) / 2)
    new = textbook.sgd_step(W, G, 0.1)
    np.testing.assert_allclose(new[1], W[1] - 0.1 * G[1])


# 003's table of activations, each as the engine (PyTorch's names) and as PyTorch itself
TABLE_003 = {
    "sigmoid": ("sigmoid", "sigmoid"),
    "tanh": ("tanh", "tanh"),
    "relu": ("relu", "relu"),
    "gelu": ("gelu", "gelu"),
    "softplus": ("softplus", "softplus"),
    "elu": ("elu", "elu"),
    "leaky_relu": ("leaky_relu", "leaky_relu"),
    "prelu": ("prelu", "prelu"),
}


def _zero_signal_net(act: str, lib):
    """One hidden layer whose pre-activations are exactly 0 (W1 = 0), a linear output, squared
    error; ``lib`` is backprop or torch. Returns the loss and [W1, W2]."""
    import torch

    W1v = np.zeros((3, 3))
    W2v = np.array([[0.3, -0.7, 0.5, 0.9]])
    x = np.array([0.4, -1.2])
    if lib is bp:
        W1, W2 = (bp.tensor(w, requires_grad=True, dtype=f64) for w in (W1v, W2v))
        o0 = bp.tensor(np.r_[1.0, x].reshape(-1, 1), dtype=f64)
        s1 = W1 @ o0
        F = bp.nn.functional
        h = F.prelu(s1, bp.tensor([0.25], dtype=f64)) if act == "prelu" else getattr(F, act)(s1)
        o1 = bp.cat([bp.tensor([[1.0]], dtype=f64), h], 0)
    else:
        W1, W2 = (torch.tensor(w, requires_grad=True, dtype=torch.float64) for w in (W1v, W2v))
        o0 = torch.tensor(np.r_[1.0, x].reshape(-1, 1), dtype=torch.float64)
        s1 = W1 @ o0
        F = torch.nn.functional
        if act == "prelu":
            h = F.prelu(s1.T, torch.tensor([0.25], dtype=torch.float64)).T
        else:
            h = getattr(F, act)(s1)
        o1 = torch.cat([torch.ones((1, 1), dtype=torch.float64), h], 0)
    L = ((W2 @ o1 - 0.5) ** 2).sum()
    L.backward()
    return [W1, W2]


@pytest.mark.parametrize("act", sorted(TABLE_003))
def test_exactly_zero_pre_activations_follow_pytorch_and_the_lecture_on_request(act):
    ours = [w.grad.numpy() for w in _zero_signal_net(act, bp)]
    import torch

    theirs = [w.grad.numpy() for w in _zero_signal_net(act, torch)]
    for a, b in zip(ours, theirs):  # the engine keeps PyTorch's convention at the kink
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    hidden = textbook.prelu(0.25) if act == "prelu" else act
    W = [np.zeros((3, 3)), np.array([[0.3, -0.7, 0.5, 0.9]])]
    x, y = [0.4, -1.2], [0.5]
    r = textbook.layerwise_backprop(W, x, y, hidden=hidden)
    for G, g in zip(r.gradients(), ours):  # the textbook's default is the engine's convention
        np.testing.assert_allclose(G, g, rtol=0, atol=1e-12)
    lec = textbook.layerwise_backprop(W, x, y, hidden=hidden, kink="lecture")
    slope = {"leaky_relu": 0.01, "prelu": 0.25}.get(act)
    if slope is None:  # no kink, or the lecture's branch agrees with PyTorch's at 0
        np.testing.assert_allclose(lec.G[1], r.G[1], rtol=0, atol=1e-12)
    else:  # 003's table puts 0 in the x >= 0 branch: slope 1 instead of the negative slope
        np.testing.assert_allclose(lec.G[1], r.G[1] / slope, rtol=1e-12)
        assert np.abs(lec.G[1]).max() > 0
