"""Lecture 003: the 2-2-2-1 tanh network (delta recursion, SGD) and vanishing gradients."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ... import ops
from ...tensor import Tensor, float64
from ...tensor import tensor as _tensor
from .. import textbook
from .common import T, check_kink, example, finish, kink_note, named

W003 = [
    np.array([[0.1, 0.4, -0.3], [-0.2, 0.2, 0.5]]),  # W(1): [d(1), d(0) + 1], bias column 0
    np.array([[0.05, -0.6, 0.3], [0.1, 0.7, -0.4]]),  # W(2)
    np.array([[0.2, 0.9, -0.8]]),  # W(3): the single output node
]
X003 = np.array([[1.0, -0.5], [0.3, 0.8]])  # two examples (rows)
Y003 = np.array([[0.6], [-0.2]])


def _layers_003(Ws: list[Tensor], x) -> Tensor:
    """The lecture's forward pass with engine ops: s(l) = W(l) o(l-1), o augmented with 1."""
    one = _tensor([[1.0]], dtype=float64)
    o = named(ops.cat([one, _tensor(np.reshape(x, (-1, 1)), dtype=float64)], 0), "o0")
    L = len(Ws)
    for l, W in enumerate(Ws, 1):
        s = named(W @ o, f"s{l}")  # (d(l), 1)
        o = s if l == L else named(ops.cat([one, s.tanh()], 0), f"o{l}")
    return named(o, "o3")


@example("tanh-003", "003_f5ac1c86d92b1738.txt", "2-2-2-1 tanh network: delta recursion, SGD")
def tanh_003(out_dir=None, kink: str = "pytorch") -> dict:
    Ws = [T(W003[i], f"W{i + 1}", True) for i in range(3)]
    out = _layers_003(Ws, X003[0])
    y = named(_tensor(Y003[0].reshape(1, 1), dtype=float64), "y")  # the target, by its name
    loss = named(((out - y) ** 2).sum(), "loss")
    ref = textbook.layerwise_backprop(W003, X003[0], Y003[0], hidden="tanh", kink=kink)
    eta = 0.1
    res = finish(
        loss,
        Ws,
        eta,
        Ws[0],
        out_dir,
        "tanh-003",
        kink=kink,
        givens={
            "W(1..3)": [w.tolist() for w in W003],
            "x": X003[0].tolist(),
            "y": Y003[0].tolist(),
            "eta": eta,
            "note": "003 gives symbols only; these numbers are ours",
        },
    )
    deltas = {f"delta({l})": ref.delta[l].ravel().tolist() for l in (3, 2, 1)}
    grads_engine = res["gradient"]
    res["textbook"] = {
        "deltas": deltas,
        "G": {f"G({l})": ref.G[l].tolist() for l in (1, 2, 3)},
        "max_abs_difference_vs_engine": max(
            float(np.abs(np.asarray(grads_engine[f"W{l}"]) - ref.G[l]).max()) for l in (1, 2, 3)
        ),
        "text": str(ref),
    }
    Gmb = textbook.minibatch_gradient(W003, X003, Y003, hidden="tanh", kink=kink)
    res["sgd_step"] = {
        f"W{l + 1}_new": textbook.sgd_step(W003, ref.gradients(), eta)[l].tolist() for l in range(3)
    }
    res["givens"]["minibatch (x, y) rows"] = {
        "X": X003.tolist(),
        "Y": Y003.tolist(),
        "note": "the mini-batch step uses both rows; the single-example step the first",
    }
    res["minibatch_sgd_step"] = {
        "B": len(X003),
        **{f"W{l + 1}_new": textbook.sgd_step(W003, Gmb, eta)[l].tolist() for l in range(3)},
    }
    res["notes"] = [
        "003's matrix line prints W(l+1) delta(l+1) without the transpose its sanity check uses.",
        "W(l+1)^T delta(l+1) has d(l)+1 rows; row 0 is the bias unit's and is dropped (tanh's "
        "1 - o (.) o is 0 there anyway).",
        "The printed updates 'W(t) eta G' and losses '(o y)^2' lost their minus signs.",
    ] + res["notes"]
    return res


# ---------------------------------------------------------------------------- 003 aside


@example("vanishing-003", "003_f5ac1c86d92b1738.txt", "vanishing gradients: sigmoid vs ReLU depth")
def vanishing_003(out_dir=None, depth: int = 12, width: int = 16, kink: str = "pytorch") -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((width, 8))
    norms = {}
    graphs = {}
    for act in ("sigmoid", "relu"):
        Ws = [
            T(rng.standard_normal((width, width)) * np.sqrt(2.0 / width), f"W{i + 1}", True)
            for i in range(depth)
        ]
        h = _tensor(x, dtype=float64)
        for W in Ws:
            h = getattr(W @ h, act)()
        loss = named(h.sum() / h.shape[1], "L")
        loss.backward()
        graphs[act] = loss
        norms[act] = [float(np.linalg.norm(W._grad)) for W in Ws]
    picture = None
    if out_dir is not None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot()
        for act, ns in norms.items():
            ax.semilogy(range(1, depth + 1), ns, marker="o", label=act)
        ax.set_xlabel("layer (1 = nearest the input)")
        ax.set_ylabel("||dL/dW(l)||")
        ax.set_title(f"gradient norm per layer, {depth} layers of {width}")
        ax.legend()
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        picture = str(Path(out_dir) / "vanishing-003.png")
        fig.savefig(picture, dpi=100, bbox_inches="tight")
    ratio = {a: ns[0] / ns[-1] for a, ns in norms.items()}
    # how much each layer shrinks the gradient on the way back: ||G(l+1)|| / ||G(l)||
    shrink = {a: [ns[l + 1] / ns[l] for l in range(depth - 1)] for a, ns in norms.items()}
    return {
        "_graph": graphs["sigmoid"],
        "givens": {"depth": depth, "width": width, "seed": 0, "init": "N(0, 2/width)"},
        "layer_gradient_norms": norms,
        "first_over_last": ratio,
        "picture": picture,
        "per_layer_shrink": shrink,
        "notes": [
            f"Going back one layer, ||dL/dW|| shrinks by a factor between "
            f"{min(shrink['sigmoid']):.2g} and {max(shrink['sigmoid']):.2g} with sigmoid and "
            f"between {min(shrink['relu']):.2g} and {max(shrink['relu']):.2g} with ReLU (this "
            f"network, these weights). sigma' <= 1/4 bounds the activation's share of each "
            f"factor; W^T multiplies in too, so the factor is not a fixed 4.",
            f"Over {depth} layers: the first layer's gradient is {ratio['sigmoid']:.2g} times the "
            f"last one's with sigmoid, {ratio['relu']:.2g} times with ReLU.",
            kink_note(graphs["relu"], kink),
        ],
    }


# ---------------------------------------------------------------------------- 003's kinks

TABLE_003 = ("sigmoid", "tanh", "relu", "gelu", "softplus", "elu", "leaky_relu", "prelu")
PRELU_ALPHA = 0.25


def _zero_signal(act: str) -> tuple[Tensor, list[Tensor]]:
    """003's layered network with W(1) = 0: every hidden pre-activation is exactly 0."""
    from ...nn import functional as F

    Ws = [T(np.zeros((3, 3)), "W1", True), T(np.array([[0.3, -0.7, 0.5, 0.9]]), "W2", True)]
    one = _tensor([[1.0]], dtype=float64)
    o0 = named(ops.cat([one, _tensor([[0.4], [-1.2]], dtype=float64)], 0), "o0")
    s1 = named(Ws[0] @ o0, "s1")
    if act == "prelu":
        h = F.prelu(s1, _tensor([PRELU_ALPHA], dtype=float64))
    else:
        h = getattr(F, act)(s1)
    o1 = named(ops.cat([one, h], 0), "o1")
    loss = named(((Ws[1] @ o1 - 0.5) ** 2).sum(), "loss")
    return loss, Ws


@example(
    "kinks-003",
    "003_f5ac1c86d92b1738.txt",
    "exactly-zero pre-activations: 003's activations at their kinks",
)
def kinks_003(out_dir=None, kink: str = "pytorch") -> dict:
    check_kink(kink)
    rows, differ, graph = {}, [], None
    for act in TABLE_003:
        loss, Ws = _zero_signal(act)
        if act == "leaky_relu":
            graph = loss
        loss.backward()
        hidden = textbook.prelu(PRELU_ALPHA) if act == "prelu" else act
        W = [w.detach().numpy() for w in Ws]
        ref = textbook.layerwise_backprop(W, [0.4, -1.2], [0.5], hidden=hidden, kink=kink)
        zero = _tensor(0.0, dtype=float64, requires_grad=True)
        from ...nn import functional as F

        if act == "prelu":
            F.prelu(zero.reshape(1), _tensor([PRELU_ALPHA], dtype=float64)).sum().backward()
        else:
            getattr(F, act)(zero).backward()
        d_engine = float(np.asarray(zero._grad))
        d_ref = float(textbook._derivative(hidden, kink)(np.array(0.0)))
        same = bool(np.allclose(ref.G[1], np.asarray(Ws[0]._grad), rtol=1e-12, atol=1e-15))
        rows[act] = {
            "derivative at 0, engine": d_engine,
            f"derivative at 0, {kink}": d_ref,
            "dL/dW1 engine": np.asarray(Ws[0]._grad).tolist(),
            f"dL/dW1 textbook ({kink})": ref.G[1].tolist(),
            "agree": same,
        }
        if not same:
            differ.append(act)
    if differ:
        detail = ", ".join(
            f"{a} ({rows[a][f'derivative at 0, {kink}']:.3g} instead of "
            f"{rows[a]['derivative at 0, engine']:.3g})"
            for a in differ
        )
        verdict = (
            f"With kink={kink!r} the derivative at exactly 0 differs from the engine's for "
            f"{detail}: dL/dW(1) differs too; the other {len(TABLE_003) - len(differ)} "
            f"activations agree."
        )
    else:
        verdict = (
            f"With kink={kink!r} all {len(TABLE_003)} activations of 003's table give the "
            f"engine's dL/dW(1) at exactly-zero pre-activations."
        )
    return {
        "_graph": graph,
        "givens": {
            "W(1)": "0 (3x3): every hidden pre-activation s(1) is exactly 0",
            "W(2)": [[0.3, -0.7, 0.5, 0.9]],
            "x": [0.4, -1.2],
            "y": [0.5],
            "prelu alpha": PRELU_ALPHA,
            "note": "003 gives symbols only; these numbers are ours",
        },
        "kinks": rows,
        "differ": differ,
        "notes": [verdict],
    }
