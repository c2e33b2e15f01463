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
