"""Lecture 002: one ReLU neuron with the batch loss ``1/(2m) sum (p - y)^2``."""

from __future__ import annotations

import numpy as np

from .common import T, example, finish, named


@example("relu-neuron-002", "002_d87689e2740eb02c.txt", "one ReLU neuron, batch loss 1/(2m) sum")
def relu_neuron_002(out_dir=None, kink: str = "pytorch") -> dict:
    X = np.array([[1.0, 2.0], [0.5, -1.0], [-1.0, 0.5], [2.0, 1.0]])  # (m, 2)
    Y = np.array([1.5, 0.2, 0.3, 2.0])
    m = len(Y)
    x1, x2, y = T(X[:, 0], "x1"), T(X[:, 1], "x2"), T(Y, "y")
    w1, w2, b = T(0.6, "w1", True), T(-0.4, "w2", True), T(0.1, "b", True)
    c = named(x1 * w1 + x2 * w2 + b, "c")
    p = named(c.relu(), "p")
    loss = named(((p - y) ** 2).sum() / (2 * m), "L")
    cv = X @ [0.6, -0.4] + 0.1
    # ReLU'(0): 002 takes 1 (its c >= 0 branch), PyTorch and the engine 0
    on = (cv >= 0 if kink == "lecture" else cv > 0).astype(float)
    r = (np.maximum(cv, 0) - Y) * on / m
    closed = {"dL/dw1": float(r @ X[:, 0]), "dL/dw2": float(r @ X[:, 1]), "dL/db": float(r.sum())}
    return finish(
        loss,
        [w1, w2, b],
        0.1,
        w1,
        out_dir,
        "relu-neuron-002",
        kink=kink,
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
            "At c = 0 exactly, 002 takes ReLU'(0) = 1 (its c >= 0 branch); 003's table "
            "(0 if x <= 0) and the engine (PyTorch's convention) take 0 for ReLU. For leaky "
            "ReLU and PReLU it is the other way round: the engine takes the negative slope at "
            "0, 003's table the x >= 0 branch (slope 1); bp.textbook's kink='lecture' follows "
            f"the table. The closed form here uses kink={kink!r}. "
            + (
                f"No c of these data is exactly 0 (smallest |c| = {np.abs(cv).min():.3g})."
                if not np.any(cv == 0)
                else f"{int(np.sum(cv == 0))} of these data's c are exactly 0."
            ),
            "002 writes dL/dp = 1/m sum (p - y) outside the product; read it per "
            "example: dL/dw1 = 1/m sum_i (p_i - y_i) 1[c_i >= 0] x1_i.",
            "002's update 'w_i -> w_i - 2 dL/dw_i' shows 2 where a learning rate "
            "belongs (a lost symbol); we use lr = 0.1.",
        ],
    )
