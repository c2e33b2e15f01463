"""Lecture 000: the linear model ``yhat = b + w1 x1 + w2 x2`` with squared error."""

from __future__ import annotations

from .common import T, example, finish, named


@example("linear-000", "000_3e8e7599d68e8c3b.txt", "linear model b + w1 x1 + w2 x2, squared error")
def linear_000(out_dir=None, kink: str = "pytorch") -> dict:
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
        kink=kink,
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
