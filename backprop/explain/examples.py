"""The lectures' worked examples, computed, explained and drawn by the engine.

``backprop example --list`` lists them; ``backprop example NAME`` prints one. Where a lecture
gives symbols only (000, 001, 002, 003) we chose small clear numbers and say so in ``givens``.

>>> r = run("linear-000")
>>> r["gradient"]["w1"] == r["closed_form"]["dLoss/dw1"]
True
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import ops
from ..tensor import Tensor, float64
from ..tensor import tensor as _tensor
from . import textbook
from .counts import summary
from .graph import Graph
from .paths import explain
from .picture import draw
from .steps import trace

LECTURES = "/work/shared/seeds"  # where the lecture texts live in this project's checkout
REGISTRY: dict[str, tuple[str, str, Callable]] = {}  # name -> (lecture file, title, builder)


def example(name: str, lecture: str, title: str):
    def deco(fn):
        REGISTRY[name] = (lecture, title, fn)
        return fn

    return deco


def T(value, name: str, grad: bool = False) -> Tensor:
    """A float64 tensor with a name (the lecture's symbol)."""
    return _tensor(value, requires_grad=grad, dtype=float64, name=name)


def named(t: Tensor, name: str) -> Tensor:
    t.name = name
    return t


def _num(a):
    a = np.asarray(a, dtype=np.float64)
    return a.item() if a.size == 1 else a.tolist()


def finish(
    loss: Tensor,
    params: list[Tensor],
    lr: float,
    highlight: Tensor | None,
    out_dir: str | None,
    name: str,
    **extra,
) -> dict:
    """Trace, explain and draw the graph, then run the engine's backward and one update."""
    t = trace(loss)
    focus = highlight if highlight is not None else params[0]
    e = explain(loss, focus)
    s = summary(loss)
    G = Graph(loss)
    forward = {n.name: _num(n.value) for n in G.nodes if G.keep(n, t.view)}
    picture = None
    if out_dir is not None:
        picture = draw(
            loss,
            Path(out_dir) / f"{name}.png",
            highlight=focus,
            title=f"{name}: d{loss.name}/d{focus.name}",
        )
    loss.backward()
    grads = {p.name: _num(t.gradients[p.name]) for p in params}
    # the replayed steps use the engine's op rules; Tensor.backward must give the same numbers
    disagree = [
        p.name
        for p in params
        if not np.allclose(t.gradients[p.name], p._grad, rtol=1e-12, atol=1e-15)
    ]
    update = {f"{p.name}_new": _num(p._data - lr * t.gradients[p.name]) for p in params}
    return dict(
        _graph=loss,  # for --html: the explorer of this graph (not part of the JSON)
        forward=forward,
        trace=t,
        explanation=e,
        summary=s,
        gradient=grads,
        backward_disagrees=disagree,
        lr=lr,
        update=update,
        picture=picture,
        **extra,
    )


# ---------------------------------------------------------------------------- 000


@example("linear-000", "000_3e8e7599d68e8c3b.txt", "linear model b + w1 x1 + w2 x2, squared error")
def linear_000(out_dir=None) -> dict:
    x1, x2, y = T(2.0, "x1"), T(3.0, "x2"), T(1.0, "y")
    b, w1, w2 = T(0.1, "b", True), T(0.5, "w1", True), T(-1.0, "w2", True)
    a1 = named(w1 * x1, "a1")
    a2 = named(w2 * x2, "a2")
    yhat = named(b + a1 + a2, "yhat")
    loss = named((yhat - y) ** 2, "Loss")
    r = 2 * (0.1 + 0.5 * 2.0 - 1.0 * 3.0 - 1.0)  # 2 (b + w1 x1 + w2 x2 - y), "old-fashioned"
    closed = {"dLoss/db": r, "dLoss/dw1": r * 2.0, "dLoss/dw2": r * 3.0}
    return finish(
        loss,
        [b, w1, w2],
        0.1,
        w1,
        out_dir,
        "linear-000",
        givens={
            "x1": 2.0,
            "x2": 3.0,
            "y": 1.0,
            "b": 0.1,
            "w1": 0.5,
            "w2": -1.0,
            "lr": 0.1,
            "note": "000 gives symbols only; these numbers are ours",
        },
        closed_form=closed,
    )


# ---------------------------------------------------------------------------- 001


@example("chain-001", "001_f3b3148ee7434f65.txt", "two-weight chain h = x w1 + b1, g = h w2 + b2")
def chain_001(out_dir=None) -> dict:
    x, y = T(1.5, "x"), T(1.0, "y")
    w1, b1, w2, b2 = T(0.8, "w1", True), T(0.1, "b1", True), T(-0.5, "w2", True), T(0.2, "b2", True)
    h = named(x * w1 + b1, "h")
    g = named(h * w2 + b2, "g")
    loss = named(0.5 * (y - g) ** 2, "L")
    hv = 1.5 * 0.8 + 0.1
    gv = hv * -0.5 + 0.2
    dg = -(1.0 - gv)  # the boxed dL/dg = 2 * 1/2 * (y - g)(-1)
    closed = {"dL/dw1": dg * -0.5 * 1.5, "dL/db1": dg * -0.5, "dL/dw2": dg * hv, "dL/db2": dg}
    return finish(
        loss,
        [w1, b1, w2, b2],
        0.1,
        w1,
        out_dir,
        "chain-001",
        givens={
            "x": 1.5,
            "y": 1.0,
            "w1": 0.8,
            "b1": 0.1,
            "w2": -0.5,
            "b2": 0.2,
            "alpha": 0.1,
            "note": "001 gives symbols only; these numbers are ours",
        },
        closed_form=closed,
    )


@example("sigmoid-221-001", "001_f3b3148ee7434f65.txt", "2-2-1 sigmoid network, classwork Q1-Q5")
def sigmoid_221_001(out_dir=None) -> dict:
    x0, x1, y = T(0.5, "x0"), T(-1.0, "x1"), T(1.0, "y")
    w = [T(v, f"w{i}", True) for i, v in enumerate([0.1, -0.2, 0.3, 0.4, 0.5, -0.6])]
    b = [T(v, f"b{i}", True) for i, v in enumerate([0.05, -0.05, 0.1])]
    z0 = named(x0 * w[0] + x1 * w[2] + b[0], "z0")
    a0 = named(z0.sigmoid(), "a0")
    z1 = named(x0 * w[1] + x1 * w[3] + b[1], "z1")
    a1 = named(z1.sigmoid(), "a1")
    a2 = named(a0 * w[4] + a1 * w[5] + b[2], "a2")
    loss = named(0.5 * (y - a2) ** 2, "L")
    s = summary(loss)
    answers = {
        "Q1 gradient dimension": s.gradient_dimension,
        "Q2 local partials needed": s.n_local_partials,
        "Q3 dL/dw4": " + ".join(s.partials["w4"]),
        "Q4 dL/dw0": " + ".join(s.partials["w0"]),
        "Q5 chain length": f"w0: {s.chain_length['w0']} edges, w4: {s.chain_length['w4']} edges"
        " -> earlier weights have longer chains",
    }
    return finish(
        loss,
        w + b,
        0.1,
        w[0],
        out_dir,
        "sigmoid-221-001",
        answers=answers,
        givens={
            "x0": 0.5,
            "x1": -1.0,
            "y": 1.0,
            "w0..w5": [0.1, -0.2, 0.3, 0.4, 0.5, -0.6],
            "b0..b2": [0.05, -0.05, 0.1],
            "alpha": 0.1,
            "note": "001 gives symbols only; these numbers are ours",
        },
    )


# ---------------------------------------------------------------------------- 002


@example("relu-neuron-002", "002_d87689e2740eb02c.txt", "one ReLU neuron, batch loss 1/(2m) sum")
def relu_neuron_002(out_dir=None) -> dict:
    X = np.array([[1.0, 2.0], [0.5, -1.0], [-1.0, 0.5], [2.0, 1.0]])  # (m, 2)
    Y = np.array([1.5, 0.2, 0.3, 2.0])
    m = len(Y)
    x1, x2, y = T(X[:, 0], "x1"), T(X[:, 1], "x2"), T(Y, "y")
    w1, w2, b = T(0.6, "w1", True), T(-0.4, "w2", True), T(0.1, "b", True)
    c = named(x1 * w1 + x2 * w2 + b, "c")
    p = named(c.relu(), "p")
    loss = named(((p - y) ** 2).sum() / (2 * m), "L")
    cv = X @ [0.6, -0.4] + 0.1
    on = (cv >= 0).astype(float)  # 002's ReLU'(c) = 1 for c >= 0; no c is exactly 0 here
    r = (np.maximum(cv, 0) - Y) * on / m
    closed = {"dL/dw1": float(r @ X[:, 0]), "dL/dw2": float(r @ X[:, 1]), "dL/db": float(r.sum())}
    return finish(
        loss,
        [w1, w2, b],
        0.1,
        w1,
        out_dir,
        "relu-neuron-002",
        closed_form=closed,
        givens={
            "X": X.tolist(),
            "y": Y.tolist(),
            "w1": 0.6,
            "w2": -0.4,
            "b": 0.1,
            "lr": 0.1,
            "note": "002 gives symbols only; these numbers are ours",
        },
        notes=[
            "002 takes ReLU'(c) = 1 at c = 0; 003's table and the engine take 0. The "
            "data avoid c = 0, where the two conventions would differ.",
            "002 writes dL/dp = 1/m sum (p - y) outside the product; read it per "
            "example: dL/dw1 = 1/m sum_i (p_i - y_i) 1[c_i >= 0] x1_i.",
            "002's update 'w_i -> w_i - 2 dL/dw_i' shows 2 where a learning rate "
            "belongs (a lost symbol); we use lr = 0.1.",
        ],
    )


# ---------------------------------------------------------------------------- 003

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
def tanh_003(out_dir=None) -> dict:
    Ws = [T(W003[i], f"W{i + 1}", True) for i in range(3)]
    out = _layers_003(Ws, X003[0])
    loss = named(((out - _tensor(Y003[0].reshape(1, 1), dtype=float64)) ** 2).sum(), "loss")
    ref = textbook.layerwise_backprop(W003, X003[0], Y003[0], hidden="tanh")
    eta = 0.1
    res = finish(
        loss,
        Ws,
        eta,
        Ws[0],
        out_dir,
        "tanh-003",
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
    Gmb = textbook.minibatch_gradient(W003, X003, Y003, hidden="tanh")
    res["sgd_step"] = {
        f"W{l + 1}_new": textbook.sgd_step(W003, ref.gradients(), eta)[l].tolist() for l in range(3)
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
    ]
    return res


# ---------------------------------------------------------------------------- 003 aside


@example("vanishing-003", "003_f5ac1c86d92b1738.txt", "vanishing gradients: sigmoid vs ReLU depth")
def vanishing_003(out_dir=None, depth: int = 12, width: int = 16) -> dict:
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
    return {
        "_graph": graphs["sigmoid"],
        "givens": {"depth": depth, "width": width, "seed": 0, "init": "N(0, 2/width)"},
        "layer_gradient_norms": norms,
        "first_over_last": ratio,
        "picture": picture,
        "notes": [
            "sigma' <= 1/4, so each sigmoid layer shrinks delta by 4 or more; "
            "ReLU' is 0 or 1 and keeps the norm of the layers it passes."
        ],
    }


def names() -> list[tuple[str, str, str]]:
    """``(name, lecture file, title)`` for every example."""
    from . import lecture004  # noqa: F401  (registers 004's example)

    return [(k, v[0], v[1]) for k, v in REGISTRY.items()]


def run(name: str, out_dir: str | None = None) -> dict:
    """Run one example; pictures go to ``out_dir`` when given."""
    names()
    if name not in REGISTRY:
        raise KeyError(f"no example {name!r}; choose from {sorted(REGISTRY)}")
    lecture, title, fn = REGISTRY[name]
    res = fn(out_dir)
    return {"name": name, "lecture": lecture, "title": title, **res}


def to_jsonable(res: dict) -> dict:
    out = {}
    for k, v in res.items():
        if k.startswith("_"):
            continue
        if hasattr(v, "to_dict"):
            v = v.to_dict()
        out[k] = v
    return json.loads(json.dumps(out, default=lambda o: np.asarray(o).tolist()))
