"""Lecture 001: the two-weight chain and the 2-2-1 sigmoid network of the classwork."""

from __future__ import annotations

from ..counts import summary
from .common import T, example, finish, named


@example("chain-001", "001_f3b3148ee7434f65.txt", "two-weight chain h = x w1 + b1, g = h w2 + b2")
def chain_001(out_dir=None, kink: str = "pytorch") -> dict:
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
        kink=kink,
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
def sigmoid_221_001(out_dir=None, kink: str = "pytorch") -> dict:
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
        "Q5 chain length": f"w0: {s.chain_length['w0']} edges, w4: {s.chain_length['w4']} edges;"
        f" {s.chain_verdict}",
        "counted in": f"the {s.view!r} view (found from the graph's structure, not its names)",
    }
    return finish(
        loss,
        w + b,
        0.1,
        w[0],
        out_dir,
        "sigmoid-221-001",
        kink=kink,
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
