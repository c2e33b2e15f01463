"""``check``: mark hand-worked backprop -- which claimed numbers hold, and where the work breaks.

Give the numbers you worked out by hand, by name: forward values (``"h11"``), partials and
gradients (``"dL/dh11"``), updated weights (``"w5_new"``). ``check`` compares each with the
engine's value for the same graph, at the precision you printed (``0.009`` holds for anything
that rounds to it). Items are kept in the order a backward pass computes them, so the first
item that fails is the first step where the work goes wrong. Where you also pass ``local``
(each line recomputed from *your own* numbers on its right-hand side), the report tells an
arithmetic slip on that line from an error carried in from an earlier line.

>>> import backprop as bp
>>> w = bp.tensor(0.5, requires_grad=True, name="w", dtype=bp.float64)
>>> h = w * 4.0; h.name = "h"
>>> L = h * h; L.name = "L"
>>> r = bp.check({"h": 2.0, "L": 4.0, "dL/dh": 4.0, "dL/dw": 8.0, "w_new": 0.3}, L, lr=0.1)
>>> r.ok, [i.name for i in r.wrong], r.first_wrong
(False, ['dL/dw', 'w_new'], 'dL/dw')
>>> r["dL/dw"].computed
16.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from ..tensor import Tensor
from .graph import Graph


def printed_tolerance(claim) -> float:
    """Half a unit in the last printed digit: ``0.009`` -> ``0.0005``; ``0.2465`` -> ``5e-05``.

    >>> round(printed_tolerance("0.00019"), 9), round(printed_tolerance(0.5), 9)
    (5e-06, 0.05)
    """
    text = claim if isinstance(claim, str) else repr(float(claim))
    exp = Decimal(text).as_tuple().exponent
    return 0.5 * 10.0 ** int(exp) * (1 + 1e-9) + 1e-15


@dataclass
class Item:
    """One claimed quantity and its verdict."""

    name: str
    claimed: float
    computed: float | None
    holds: bool | None  # None: nothing to compare with
    tolerance: float
    local: float | None = None  # the line recomputed from the claimed inputs
    local_holds: bool | None = None
    line: str = ""  # where the claim comes from (e.g. the lecture's line)

    def __str__(self) -> str:
        mark = {True: "ok   ", False: "WRONG", None: "?    "}[self.holds]
        s = f"{mark} {self.name:<12} claimed {self.claimed:<10.6g}"
        if self.computed is not None:
            s += f" computed {self.computed:.6g}"
        if self.local_holds is False:
            s += f"  (its own line gives {self.local:.6g}: slip on this line)"
        elif self.holds is False and self.local_holds:
            s += "  (this line's arithmetic is right: the error comes from an earlier line)"
        return s


@dataclass
class Report:
    items: list[Item]
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Item:
        for i in self.items:
            if i.name == name:
                return i
        raise KeyError(name)

    @property
    def ok(self) -> bool:
        return all(i.holds is not False and i.local_holds is not False for i in self.items)

    @property
    def wrong(self) -> list[Item]:
        return [i for i in self.items if i.holds is False or i.local_holds is False]

    @property
    def first_wrong(self) -> str | None:
        """The first item, in computation order, that does not hold."""
        w = self.wrong
        return w[0].name if w else None

    @property
    def first_slip(self) -> str | None:
        """The first item whose own line does not follow from its own claimed inputs."""
        for i in self.items:
            if i.local_holds is False:
                return i.name
        return None

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "first_wrong": self.first_wrong,
            "first_slip": self.first_slip,
            "items": [
                {
                    "name": i.name,
                    "claimed": i.claimed,
                    "computed": i.computed,
                    "holds": i.holds,
                    "from_own_line": i.local,
                    "own_line_holds": i.local_holds,
                    "line": i.line,
                }
                for i in self.items
            ],
        }

    def discrepancies(self) -> list[dict]:
        return [
            {
                "quantity": i.name,
                "printed": i.claimed,
                "computed": i.computed,
                "from_own_line": i.local,
                "line": i.line,
            }
            for i in self.wrong
        ]

    def __str__(self) -> str:
        lines = [str(i) for i in self.items]
        if self.ok:
            lines.append("all claims hold")
        else:
            lines.append(f"first wrong step: {self.first_wrong}")
            if self.first_slip and self.first_slip != self.first_wrong:
                lines.append(f"first slip within a line: {self.first_slip}")
        return "\n".join(lines + self.notes)


def graph_values(output: Tensor, lr: float | None = None) -> dict[str, float]:
    """Named values, gradients ``dL/dname`` and updates ``name_new``, in computation order."""
    G = Graph(output)
    adj = G.adjoints() if output.requires_grad else {}
    out: dict[str, float] = {}
    for n in G.nodes:  # forward order
        out[n.name] = _num(n.value)
    for n in reversed(G.nodes):  # backward order
        if n.index in adj:
            out[f"dL/d{n.name}"] = _num(adj[n.index])
    if lr is not None:
        for n in G.params():
            if n.index in adj:
                out[f"{n.name}_new"] = _num(n.value - lr * adj[n.index])
    return out


def _num(a):
    a = np.asarray(a, dtype=np.float64)
    return float(a) if a.size == 1 else a


def check(
    claims: dict,
    truth: Tensor | dict,
    lr: float | None = None,
    local: dict[str, Callable[[dict], float]] | None = None,
    lines: dict[str, str] | None = None,
    tolerance: float | None = None,
) -> Report:
    """Check ``claims`` (name -> number, or a string as printed) against ``truth``.

    ``truth`` is the scalar output of the graph (named tensors; gradients are ``dL/d<name>``,
    updates ``<name>_new`` with learning rate ``lr``) or a dict of correct values. ``local``
    maps a claim to a function of the claims that redoes that claim's own line; ``lines``
    gives each claim its source text. ``tolerance`` overrides the printed precision.
    """
    if isinstance(truth, Tensor):
        out_name = truth.name
        truth = graph_values(truth, lr)
        if out_name:  # accept dLoss/dx as well as dL/dx
            for k in list(truth):
                if k.startswith("dL/d"):
                    truth.setdefault(f"d{out_name}/d{k[4:]}", truth[k])
    order = {k: i for i, k in enumerate(truth)}
    names = sorted(claims, key=lambda k: order.get(k, len(order)))
    values = {k: float(v) for k, v in claims.items()}
    items = []
    for k in names:
        tol = tolerance if tolerance is not None else printed_tolerance(claims[k])
        c = truth.get(k)
        c = None if c is None else float(np.asarray(c))
        holds = None if c is None else abs(values[k] - c) <= tol
        item = Item(k, values[k], c, holds, tol, line=(lines or {}).get(k, ""))
        if local and k in local:
            item.local = float(local[k](values))
            item.local_holds = abs(values[k] - item.local) <= tol
        items.append(item)
    return Report(items)
