"""What every worked example shares: the registry, named float64 tensors, and ``finish``
(trace, explain, summarize, draw, then the engine's backward and one update)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ...tensor import Tensor, float64
from ...tensor import tensor as _tensor
from ..counts import summary
from ..graph import Graph
from ..paths import explain
from ..picture import draw
from ..steps import trace

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


KINKED = {"relu", "leaky_relu", "prelu", "elu", "hardtanh", "abs"}  # ops with a kink at 0


def check_kink(kink: str) -> str:
    if kink not in ("pytorch", "lecture"):
        raise ValueError(f"kink must be 'pytorch' or 'lecture', not {kink!r}")
    return kink


def kink_note(loss: Tensor, kink: str) -> str:
    """Whether any input of a kinked activation in ``loss``'s graph is exactly 0, and so
    whether the convention at the kink matters here (computed from the graph)."""
    G = Graph(loss)
    ops = sorted({n.op_name for n in G.nodes if n.op_name in KINKED})
    if not ops:
        return (
            f"kink={kink!r}: this network has no activation with a kink, so both conventions "
            f"give the same numbers."
        )
    zeros = sum(
        int(np.sum(p.value == 0))
        for n in G.nodes
        if n.op_name in KINKED
        for _, p in n.inputs[:1]
        if hasattr(p, "value")
    )
    if not zeros:
        return (
            f"kink={kink!r}: no input of {', '.join(ops)} is exactly 0 here, so PyTorch's "
            f"convention and the lectures' give the same numbers."
        )
    return (
        f"kink={kink!r}: {zeros} input(s) of {', '.join(ops)} are exactly 0; the engine takes "
        f"PyTorch's derivative there"
        + (", the references the lectures' branch." if kink == "lecture" else ", as here.")
    )


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
    inputs=(),
    kink: str = "pytorch",
    **extra,
) -> dict:
    """Trace, explain and draw the graph, then run the engine's backward and one update."""
    t = trace(loss, inputs=inputs)
    focus = highlight if highlight is not None else params[0]
    e = explain(loss, focus, inputs=inputs)
    s = summary(loss, inputs=inputs)
    G = Graph(loss)
    forward = {  # a constant the user did not name is called by its value: "1 = 1" says nothing
        n.name: _num(n.value)
        for n in G.nodes
        if G.keep(n, t.view) and (n.user_named or not n.is_leaf)
    }
    picture = None
    if out_dir is not None:
        picture = draw(
            loss,
            Path(out_dir) / f"{name}.png",
            highlight=focus,
            title=f"{name}: d{loss.name}/d{focus.name}",
            inputs=inputs,
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
    notes = list(extra.pop("notes", [])) + [kink_note(loss, kink)]
    return dict(
        _graph=loss,  # for --html: the explorer of this graph (not part of the JSON)
        _inputs=tuple(inputs),
        forward=forward,
        trace=t,
        explanation=e,
        summary=s,
        gradient=grads,
        backward_disagrees=disagree,
        lr=lr,
        update=update,
        picture=picture,
        notes=notes,
        **extra,
    )
