"""The lectures' worked examples, computed, explained and drawn by the engine: one module per
lecture (``lecture000`` ... ``lecture004``), the registry and ``finish`` in ``common``.

``backprop example --list`` lists them; ``backprop example NAME`` prints one. Where a lecture
gives symbols only (000, 001, 002, 003) we chose small clear numbers and say so in ``givens``.

>>> r = run("linear-000")
>>> r["gradient"]["w1"] == r["closed_form"]["dLoss/dw1"]
True
"""

from __future__ import annotations

import json

import numpy as np

from . import lecture000, lecture001, lecture002, lecture003, lecture004  # noqa: F401  (register)
from .common import LECTURES, REGISTRY, T, check_kink, finish, named


def names() -> list[tuple[str, str, str]]:
    """``(name, lecture file, title)`` for every example."""
    return [(k, v[0], v[1]) for k, v in REGISTRY.items()]


def run(name: str, out_dir: str | None = None, kink: str = "pytorch") -> dict:
    """Run one example; pictures go to ``out_dir`` when given.

    ``kink``: the derivative taken at a pre-activation of exactly 0 by the example's
    references (closed forms, 003's delta recursion): ``"pytorch"`` (the engine's, the
    default) or ``"lecture"`` (the lectures' branch: 002 and 003's table put 0 in ``x >= 0``
    for leaky ReLU and PReLU, 002 also for ReLU). The engine itself always keeps PyTorch's;
    each result says, computed from its graph, whether any pre-activation sits on a kink.

    >>> run("kinks-003", kink="lecture")["differ"]
    ['leaky_relu', 'prelu']
    """
    names()
    if name not in REGISTRY:
        raise KeyError(f"no example {name!r}; choose from {sorted(REGISTRY)}")
    check_kink(kink)
    lecture, title, fn = REGISTRY[name]
    res = fn(out_dir, kink=kink)
    return {"name": name, "lecture": lecture, "title": title, "kink": kink, **res}


def to_jsonable(res: dict) -> dict:
    out = {}
    for k, v in res.items():
        if k.startswith("_"):
            continue
        if hasattr(v, "to_dict"):
            v = v.to_dict()
        out[k] = v
    return json.loads(json.dumps(out, default=lambda o: np.asarray(o).tolist()))


__all__ = ["LECTURES", "REGISTRY", "T", "finish", "named", "names", "run", "to_jsonable"]
