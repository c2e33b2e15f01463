"""Lecture 003's layer-wise backpropagation, written as on the slides, in plain NumPy.

This is the independent reference the engine is tested against: it shares no code with
``backprop.ops`` or ``backprop.autograd``. The notation is the lecture's (CMU 10-701, 003):

* ``W[l]`` has shape ``[d(l), d(l-1) + 1]``; its column 0 holds the biases.
* ``o[0] = [1, x]`` and every hidden ``o[l] = [1, theta(s[l])]`` is augmented with a leading 1;
  the output ``o[L] = theta_out(s[L])`` is not.
* forward: ``s[l] = W[l] o[l-1]``.
* base case: ``delta[L] = d loss / d s[L]``; for squared error ``(o - y)^2`` and an identity
  output this is the slide's ``2 (o[L] - y)``.
* recursion: ``delta[l] = (W[l+1]^T delta[l+1])[1:] (.) theta'(s[l])``. The slide writes
  ``W[l+1]^T delta[l+1] (.) (1 - o[l] (.) o[l])`` for tanh: that vector has ``d(l) + 1`` rows,
  and its row 0 (the bias unit's) is multiplied by ``1 - 1*1 = 0``; we drop that row, which
  is the same thing for tanh and the right thing for activations where it is not zero.
* gradient: ``G[l] = delta[l] o[l-1]^T``, the same shape as ``W[l]``.

>>> import numpy as np
>>> W = [np.array([[0.1, 0.2, -0.3], [0.0, 0.5, 0.4]]), np.array([[0.2, -0.6, 0.7]])]
>>> r = layerwise_backprop(W, x=[1.0, 2.0], y=[0.5], hidden="tanh")
>>> [g.shape for g in r.gradients()]
[(2, 3), (1, 3)]
>>> bool(np.allclose(r.G[2], r.delta[2] @ r.o[1].T))
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

# Each activation: (theta, theta') as functions of the signal s. The lecture's table (003).
_SQRT2 = np.sqrt(2.0)


def _sigmoid(s):
    return 0.5 * (1.0 + np.tanh(0.5 * s))  # stable for large |s|


def _erf(x):
    # imported on first use: SciPy (and the second OpenBLAS its wheel loads) stays out of
    # `import backprop`
    from scipy.special import erf

    return erf(x)


def _gelu(s):
    return 0.5 * s * (1.0 + _erf(s / _SQRT2))


def _gelu_d(s):
    return 0.5 * (1.0 + _erf(s / _SQRT2)) + s * np.exp(-0.5 * s * s) / np.sqrt(2 * np.pi)


ACTIVATIONS: dict[str, tuple[Callable, Callable, str]] = {
    "identity": (lambda s: s, lambda s: np.ones_like(s), "theta(z) = z, theta' = 1"),
    "sigmoid": (
        _sigmoid,
        lambda s: _sigmoid(s) * (1 - _sigmoid(s)),
        "sigma(z) = 1/(1+e^-z), sigma' = sigma (1 - sigma)",
    ),
    "tanh": (np.tanh, lambda s: 1 - np.tanh(s) ** 2, "tanh' = 1 - tanh^2 = 1 - o (.) o"),
    # At an exact 0 every rule here takes PyTorch's branch, as the engine does (KINKS below
    # lists the lectures' branch). ReLU'(0) = 0: PyTorch and 003's table (0 if x <= 0) agree;
    # 002 takes 1 at 0.
    "relu": (lambda s: np.maximum(s, 0), lambda s: (s > 0).astype(float), "1 if s > 0 else 0"),
    "gelu": (_gelu, _gelu_d, "x Phi(x); derivative Phi(x) + x phi(x)"),
    "softplus": (lambda s: np.logaddexp(0, s), _sigmoid, "ln(1 + e^x); derivative sigma(x)"),
    "elu": (
        lambda s: np.where(s > 0, s, np.expm1(np.minimum(s, 0))),
        lambda s: np.where(s > 0, 1.0, np.exp(np.minimum(s, 0))),
        "alpha (e^x - 1) if x <= 0 else x (alpha = 1); derivative alpha e^x or 1",
    ),
    "leaky_relu": (
        lambda s: np.where(s > 0, s, 0.01 * s),
        lambda s: np.where(s > 0, 1.0, 0.01),
        "x if x > 0 else 0.01 x; derivative 1 or 0.01 (0.01 at 0, as in PyTorch)",
    ),
}

# The derivative at exactly 0 under each convention, for the activations with a kink:
# "pytorch" is the engine's (PyTorch's) and the default; "lecture" is the branch 003's table
# puts 0 in (ReLU and ELU: x <= 0; leaky ReLU and PReLU: x >= 0).
KINKS = {
    "relu": {"pytorch": 0.0, "lecture": 0.0},
    "elu": {"pytorch": 1.0, "lecture": 1.0},  # alpha e^0 = alpha = 1 in both branches' limit
    "leaky_relu": {"pytorch": 0.01, "lecture": 1.0},
}


def prelu(alpha: float) -> tuple:
    """The PReLU activation with a fixed ``alpha``, in the form ``ACTIVATIONS`` uses.

    At exactly 0 the derivative is ``alpha`` (PyTorch); ``kink="lecture"`` takes 003's
    ``x >= 0`` branch, 1.

    >>> f, df, _, at0 = prelu(0.2)
    >>> float(f(np.array(-1.0))), float(df(np.array(-1.0))), float(df(np.array(0.0))), at0
    (-0.2, 0.2, 0.2, {'pytorch': 0.2, 'lecture': 1.0})
    """
    return (
        lambda s: np.where(s > 0, s, alpha * s),
        lambda s: np.where(s > 0, 1.0, alpha),
        f"x if x > 0 else {alpha} x",
        {"pytorch": float(alpha), "lecture": 1.0},
    )


def _activation(a):
    if isinstance(a, tuple):
        return a[:3]
    try:
        return ACTIVATIONS[a]
    except KeyError:
        raise ValueError(f"unknown activation {a!r}; choose from {sorted(ACTIVATIONS)}") from None


def _col(v) -> np.ndarray:
    return np.asarray(v, dtype=np.float64).reshape(-1, 1)


def augment(v) -> np.ndarray:
    """``[1, v]`` as a column: the lecture's output vector with its bias unit.

    >>> augment([2.0, 3.0]).ravel().tolist()
    [1.0, 2.0, 3.0]
    """
    return np.vstack([np.ones((1, 1)), _col(v)])


@dataclass
class LayerwiseBackprop:
    """Every quantity of 003's algorithm for one example; index ``l`` as in the lecture.

    ``s[l]``, ``delta[l]`` and ``G[l]`` are defined for ``l = 1..L`` (index 0 holds ``None``);
    ``o[l]`` for ``l = 0..L``; ``W[l]`` for ``l = 1..L`` (``W[0]`` is ``None``).
    """

    W: list
    s: list
    o: list
    delta: list
    G: list
    loss: float
    y: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def L(self) -> int:
        return len(self.W) - 1

    def gradients(self) -> list[np.ndarray]:
        """``[G(1), ..., G(L)]``."""
        return self.G[1:]

    def __str__(self) -> str:
        def fmt(a):
            return np.array2string(np.asarray(a).ravel(), precision=6, suppress_small=True)

        lines = [f"forward (L = {self.L} layers)", f"  o(0) = [1, x] = {fmt(self.o[0])}"]
        for l in range(1, self.L + 1):
            lines.append(f"  s({l}) = W({l}) o({l - 1}) = {fmt(self.s[l])}")
            lines.append(f"  o({l}) = {fmt(self.o[l])}")
        lines.append(f"  loss = {self.loss:.6g}")
        lines.append("backward")
        L = self.L
        lines.append(f"  delta({L}) = d loss / d s({L}) = {fmt(self.delta[L])}")
        for l in range(L - 1, 0, -1):
            lines.append(
                f"  delta({l}) = (W({l + 1})^T delta({l + 1}))[1:] (.) theta'(s({l})) = "
                f"{fmt(self.delta[l])}"
            )
        for l in range(1, L + 1):
            g = self.G[l]
            lines.append(
                f"  G({l}) = delta({l}) o({l - 1})^T  [{g.shape[0]}x1][1x{g.shape[1]}] = "
                f"{np.array2string(g, precision=6, suppress_small=True)}".replace("\n", "\n    ")
            )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def forward(W: Sequence, x, hidden="tanh", output="identity") -> tuple[list, list]:
    """The forward propagation: ``(s, o)`` lists indexed by layer as in ``LayerwiseBackprop``.

    >>> s, o = forward([np.array([[0.5, 2.0]])], x=[1.0])
    >>> float(s[1][0, 0]), float(o[1][0, 0])
    (2.5, 2.5)
    """
    Ws = [None] + [np.asarray(w, dtype=np.float64) for w in W]
    L = len(Ws) - 1
    theta, _, _ = _activation(hidden)
    theta_out = _output_fn(output)
    s: list = [None]
    o: list = [augment(x)]
    for l in range(1, L + 1):
        if Ws[l].shape[1] != o[l - 1].shape[0]:
            raise ValueError(
                f"W({l}) has shape {Ws[l].shape}; it needs {o[l - 1].shape[0]} columns "
                f"(d({l - 1}) + 1, bias in column 0)"
            )
        s.append(Ws[l] @ o[l - 1])  # (d(l), 1)
        o.append(theta_out(s[l]) if l == L else augment(theta(s[l])))
    return s, o


def _softmax(s):
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _output_fn(output):
    if output == "softmax":
        return _softmax
    return _activation(output)[0]


def _derivative(hidden, kink: str) -> Callable:
    """theta' with the chosen convention at an exact 0."""
    if kink not in ("pytorch", "lecture"):
        raise ValueError(f"kink must be 'pytorch' or 'lecture', not {kink!r}")
    d = _activation(hidden)[1]
    at0 = hidden[3] if isinstance(hidden, tuple) and len(hidden) > 3 else KINKS.get(hidden)
    if at0 is None:
        return d
    return lambda s: np.where(s == 0, at0[kink], d(s))


def layerwise_backprop(
    W: Sequence,
    x,
    y,
    hidden="tanh",
    output="identity",
    loss: str = "squared",
    kink: str = "pytorch",
) -> LayerwiseBackprop:
    """Run 003's backpropagation algorithm on one example ``(x, y)``.

    ``hidden``: an activation name from ``ACTIVATIONS`` (or a ``(theta, theta', text)`` tuple).
    ``output``: the output layer's activation (``"identity"`` in the lecture; ``"sigmoid"``
    or ``"softmax"`` with cross-entropy). ``loss``: ``"squared"`` for ``sum (o - y)^2`` (the
    lecture's ``(o1 - y)^2``, no 1/2) or ``"cross_entropy"`` (binary with a sigmoid output,
    ``-sum y log o`` with softmax). ``kink``: at a pre-activation of exactly 0, ``"pytorch"``
    (the engine's convention, the default) or ``"lecture"`` (003's table: leaky ReLU and
    PReLU take their ``x >= 0`` branch, slope 1).

    >>> W = [np.array([[0.0, 1.0]]), np.array([[0.0, 2.0]])]
    >>> r = layerwise_backprop(W, x=[0.5], y=[0.0], hidden="identity")
    >>> float(r.loss), r.G[1].tolist(), r.G[2].tolist()   # o = 2 * 0.5 = 1
    (1.0, [[4.0, 2.0]], [[2.0, 1.0]])
    """
    Ws = [None] + [np.asarray(w, dtype=np.float64) for w in W]
    L = len(Ws) - 1
    y = _col(y)
    s, o = forward(W, x, hidden, output)
    out = o[L]
    notes: list[str] = []
    if loss == "squared":
        ell = float(((out - y) ** 2).sum())
        if output == "softmax":
            raise ValueError("squared error with a softmax output is not supported here")
        dout = _activation(output)[1](s[L])
        delta_L = 2 * (out - y) * dout  # the slide's 2 (o1 - y), times theta_out' = 1
        notes.append("delta(L) = 2 (o(L) - y) (.) theta_out'(s(L))")
    elif loss == "cross_entropy":
        if output == "sigmoid":
            ell = float(-(y * np.log(out) + (1 - y) * np.log1p(-out)).sum())
        elif output == "softmax":
            ell = float(-(y * np.log(out)).sum())
        else:
            raise ValueError("cross_entropy needs output='sigmoid' or output='softmax'")
        delta_L = out - y  # dl/do times do/ds collapse to o - y for both pairings
        notes.append("delta(L) = o(L) - y (cross-entropy with its matching output)")
    else:
        raise ValueError(f"unknown loss {loss!r}: expected 'squared' or 'cross_entropy'")

    theta_d = _derivative(hidden, kink)
    delta: list = [None] * (L + 1)
    delta[L] = delta_L
    for l in range(L - 1, 0, -1):
        back = Ws[l + 1].T @ delta[l + 1]  # (d(l) + 1, 1): row 0 belongs to the bias unit
        delta[l] = back[1:] * theta_d(s[l])  # (d(l), 1)
    G: list = [None] + [delta[l] @ o[l - 1].T for l in range(1, L + 1)]
    return LayerwiseBackprop(W=Ws, s=s, o=o, delta=delta, G=G, loss=ell, y=y, notes=notes)


def minibatch_gradient(
    W: Sequence,
    X,
    Y,
    hidden="tanh",
    output="identity",
    loss: str = "squared",
    kink: str = "pytorch",
) -> list[np.ndarray]:
    """003's mini-batch gradient ``G(l) = 1/B sum_b G_b(l)``: one row of ``X``/``Y`` per example.

    >>> W = [np.array([[0.0, 1.0]])]
    >>> [g.tolist() for g in minibatch_gradient(W, [[1.0], [3.0]], [[0.0], [0.0]])]
    [[[4.0, 10.0]]]
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    B = X.shape[0]
    total = None
    for b in range(B):
        g = layerwise_backprop(W, X[b], Y[b], hidden, output, loss, kink).gradients()
        total = g if total is None else [t + gi for t, gi in zip(total, g)]
    return [t / B for t in total]


def sgd_step(W: Sequence, G: Sequence, eta: float) -> list[np.ndarray]:
    """``W(l) <- W(l) - eta G(l)`` for every layer (the slide drops the minus sign in print).

    >>> sgd_step([np.array([[1.0]])], [np.array([[2.0]])], 0.1)[0].tolist()
    [[0.8]]
    """
    return [np.asarray(w, dtype=np.float64) - eta * np.asarray(g) for w, g in zip(W, G)]
