"""``trace``: the backward pass as ordered steps, printable as a table and exportable as JSON.

At each step one node is visited (outputs before inputs); the gradient arriving there is
multiplied by each edge's local partial (the engine's rule for that op) and sent to the parent;
where several contributions reach one node -- a shared weight, a tensor used twice -- they are
added, and the step says so.

>>> import backprop as bp
>>> w = bp.tensor(2.0, requires_grad=True, name="w", dtype=bp.float64)
>>> y = w * w; y.name = "y"
>>> t = bp.trace(y)
>>> [(s.node, [c.to for c in s.sends]) for s in t.steps]
[('y', ['w']), ('w', [])]
>>> float(t.gradients["w"])
4.0
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor
from . import fmt
from .graph import Graph
from .paths import _local_jacobian


@dataclass
class Send:
    """One contribution: ``upstream * d node / d to``, and the total at ``to`` after adding it."""

    to: str
    formula: str
    shape: tuple  # the shape of ``to``
    local: object  # the local partial when small enough to show, else None
    contribution: np.ndarray
    total_after: np.ndarray
    n_received: int  # how many contributions ``to`` has received, this one included


@dataclass
class Step:
    index: int
    node: str
    op: str
    value: np.ndarray
    upstream: np.ndarray  # d output / d node: the gradient arriving here, complete
    sends: list[Send] = field(default_factory=list)
    received: int = 0  # contributions summed into ``upstream``
    kind: str = "op"  # "op", "param" or "input" (a leaf marked as data)
    shape: tuple = ()


@dataclass
class Trace:
    """The ordered steps of one backward pass, and the gradient of every parameter."""

    output: str
    view: str
    steps: list[Step]
    gradients: dict[str, np.ndarray]

    def table(self) -> str:
        """The steps as text that fits a 100-column terminal: one block per node visited,
        one line per contribution sent (its formula, its value, the total it makes)."""
        out = []
        for s in self.steps:
            head = (
                f"step {s.index}: at {s.node}, {fmt.d(self.output, s.node)} = {fmt.arr(s.upstream)}"
            )
            if s.received > 1:
                head += f" (the sum of {s.received} contributions)"
            if not s.sends:
                head += {
                    "param": "; a parameter: its gradient is final",
                    "input": "; an input: its gradient dL/dx is final",
                }.get(s.kind, "; no input of this node needs a gradient")
            out.append(head)
            for c in s.sends:
                local = "" if c.local is None else f" = {fmt.jac(c.local, s.shape, c.shape)}"
                rule = f" = {c.formula}"
                if local and c.formula.split(" = ")[-1] == local[3:]:  # not "= 1 = 1"
                    rule = "".join(f" = {r}" for r in c.formula.split(" = ")[:-1])
                out.append(f"  -> {c.to}: local partial {fmt.d(s.node, c.to)}{rule}{local}")
                total = f"; total at {c.to}: {fmt.arr(c.total_after)}"
                if c.n_received > 1:
                    total += f" (accumulated, {c.n_received} contributions)"
                out.append(f"     contribution {fmt.arr(c.contribution)}{total}")
        return fmt.wrap("\n".join(out))

    def __str__(self) -> str:
        return fmt.wrap(
            f"backward pass from {self.output} ({self.view} view). Gradients dL/dX have the "
            f"shape of X; local Jacobians are printed in the same denominator layout (a row per "
            f"element of the input, a column per element of the output).\n{self.table()}"
        )

    def to_dict(self) -> dict:
        def v(a):
            return None if a is None else np.asarray(a).tolist()

        return {
            "output": self.output,
            "view": self.view,
            "steps": [
                {
                    "step": s.index,
                    "node": s.node,
                    "op": s.op,
                    "kind": s.kind,
                    "value": v(s.value),
                    "upstream": v(s.upstream),
                    "contributions_received": s.received,
                    "sends": [
                        {
                            "to": c.to,
                            "formula": c.formula,
                            "local_partial": v(c.local),
                            "contribution": v(c.contribution),
                            "total_after": v(c.total_after),
                            "accumulated": c.n_received > 1,
                        }
                        for c in s.sends
                    ],
                }
                for s in self.steps
            ],
            "gradients": {k: v(g) for k, g in self.gradients.items()},
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def trace(output: Tensor, detail: str = "auto", inputs=()) -> Trace:
    """Replay the backward pass from scalar ``output`` step by step (no ``.grad`` is touched).

    ``detail`` as in ``explain``: ``"named"`` visits only named tensors, ``"ops"`` every op.
    It works before or after ``backward()``, as ``explain`` does.

    >>> import backprop as bp
    >>> a = bp.tensor(3.0, requires_grad=True, name="a", dtype=bp.float64)
    >>> b = a * 2.0; b.name = "b"
    >>> c = a + b; c.name = "c"     # a reaches c twice: directly and through b
    >>> t = bp.trace(c)
    >>> t.steps[-1].node, t.steps[-1].received, float(t.gradients["a"])
    ('a', 2, 3.0)
    >>> '"accumulated": true' in t.to_json()
    True
    """
    G = Graph(output, inputs=inputs)
    if output._data.size != 1:
        raise ValueError(f"trace needs a scalar output; this one has shape {output.shape}")
    view = G.resolve_detail(detail)
    kept = [n for n in G.nodes if G.keep(n, view) and n.tensor.requires_grad]
    pending: dict[int, np.ndarray] = {G.output.index: np.ones_like(G.output.value)}
    received: dict[int, int] = {G.output.index: 1}
    steps: list[Step] = []
    # ops first, outputs before inputs; then the parameters, whose gradients are now final
    order = [n for n in reversed(kept) if not n.is_leaf] + [n for n in kept if n.is_leaf]
    for n in order:
        if n.index not in pending:
            continue
        g = pending[n.index]
        kind = "param" if n.is_param else ("input" if n.is_leaf else "op")
        step = Step(
            len(steps) + 1,
            n.name,
            n.op_name,
            n.value,
            g,
            received=received[n.index],
            kind=kind,
            shape=n.shape,
        )
        steps.append(step)
        if n.is_leaf:
            continue
        contrib = G.local(n, g, view)
        for p in G.view_parents(n, view):
            if p.index not in contrib:
                continue
            r = contrib[p.index]
            pending[p.index] = pending[p.index] + r if p.index in pending else r
            received[p.index] = received.get(p.index, 0) + 1
            local = _local_jacobian(G, n, p, view)
            step.sends.append(
                Send(
                    p.name,
                    G.edge_formula(n, p, view),
                    p.shape,
                    local,
                    r,
                    pending[p.index],
                    received[p.index],
                )
            )
    grads = {n.name: pending[n.index] for n in kept if n.is_leaf and n.index in pending}
    return Trace(G.output.name, view, steps, grads)


__all__ = ["Send", "Step", "Trace", "trace"]
