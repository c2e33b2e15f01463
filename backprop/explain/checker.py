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

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from ..tensor import Tensor
from . import fmt
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
    written: float | None = None  # the line's arithmetic exactly as written (its own formula)
    written_uses: list[str] = field(default_factory=list)  # the claims that arithmetic reads
    line: str = ""  # where the claim comes from (e.g. the lecture's line)
    fitted: str = ""  # what was inferred from this claim (then it cannot be evidence)
    uses: list[str] = field(default_factory=list)  # the claims its own line reads
    carried_from: str | None = None  # the earlier wrong claim an error comes from
    reason: str = ""  # why it is wrong: sign, factor, rounded too early, ...
    unchecked_why: str = ""  # why it could not be checked

    @property
    def _written_holds(self) -> bool:
        return self.written is not None and abs(self.claimed - self.written) <= self.tolerance

    @property
    def verdict(self) -> str:
        """One of ``fitted``, ``ok``, ``slip on this line``, ``carried from <line>``,
        ``wrong``, ``unchecked``."""
        if self.fitted:
            return "fitted"
        if self.local_holds is False:
            return "slip on this line"
        if self.holds is None:
            return "unchecked"
        if self.holds:
            return "ok"
        if self.carried_from:
            return f"carried from {self.carried_from}"
        return "wrong"

    def __str__(self) -> str:
        v = self.verdict
        mark = v.upper() if v == "wrong" else v
        s = f"{mark:<22} {self.name:<12} claimed {self.claimed:<10.6g}"
        if self.fitted:
            return s + f" (an unknown, {self.fitted}, was inferred from it: not evidence)"
        if self.computed is not None:
            s += f" correct {self.computed:.6g}"
        if self.holds is None:
            s += f" (not checked: {self.unchecked_why or 'no such quantity in the graph'})"
        if self.local_holds is False and self.written is not None and self._written_holds:
            s += f"; its own arithmetic gives {self.written:.6g}, as printed"
        elif self.local_holds is False:
            s += f"; its own line gives {self.local:.6g}"
        if self.reason:
            s += f": {self.reason}"
        return s


def _why(claimed: float, right: float, tol: float, what: str = "the correct value") -> str:
    """What kind of mistake turns ``right`` into ``claimed``, when a simple one does.

    ``what`` says what ``right`` is: the correct value, or the value the claim's own line
    gives (then a reason is about that line, not about the correct value).
    """
    if right == 0 or claimed == 0:
        return ""
    if abs(claimed + right) <= tol:
        return "the sign is wrong"
    digits = Decimal(repr(float(claimed))).normalize().as_tuple()
    sig = len(digits.digits)
    e = np.floor(np.log10(abs(right)))
    unit = 10 ** (e - sig + 1)
    if abs(np.trunc(right / unit) * unit - claimed) <= 1e-12:  # cut to the printed digits
        r, rounded = fmt.num(right, 6), fmt.num(np.round(right / unit) * unit, sig)
        return (
            f"rounded too early: {what} {r} cut to {sig} significant digit(s) "
            f"(rounded, it reads {rounded})"
        )
    for k, text in ((2, "twice"), (0.5, "half"), (4, "4 times"), (0.25, "a quarter of")):
        if abs(claimed - k * right) <= tol:
            return f"a factor: {text} {what}"
    if abs(claimed - (1 - right)) <= tol:
        return f"1 minus {what} (sigma(-x) for sigma(x)?)"
    if abs(claimed) < abs(right) and abs(claimed - right) < 0.5 * abs(right):
        return "a rounded or cut intermediate value was carried into this line"
    return ""


class _Reads(dict):
    """A dict that records which keys a line's recomputation reads."""

    def __init__(self, *a):
        super().__init__(*a)
        self.read: list[str] = []

    def __getitem__(self, k):
        self.read.append(k)
        return super().__getitem__(k)


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
        """Every checkable claim holds (unchecked and fitted claims are not counted)."""
        return all(i.verdict in ("ok", "fitted", "unchecked") for i in self.items)

    @property
    def wrong(self) -> list[Item]:
        return [i for i in self.items if i.verdict not in ("ok", "fitted", "unchecked")]

    @property
    def unchecked(self) -> list[Item]:
        return [i for i in self.items if i.verdict == "unchecked"]

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
            "unchecked": [i.name for i in self.unchecked],
            "items": [
                {
                    "name": i.name,
                    "claimed": i.claimed,
                    "computed": i.computed,
                    "holds": i.holds,
                    "from_own_line": i.local,
                    "own_line_holds": i.local_holds,
                    "as_written": i.written,
                    "verdict": i.verdict,
                    "reason": i.reason,
                    "fitted": i.fitted,
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
                "as_written": i.written,
                "verdict": i.verdict,
                "reason": i.reason,
                "line": i.line,
            }
            for i in self.wrong
        ]

    def __str__(self) -> str:
        lines = [str(i) for i in self.items]
        checked = [i for i in self.items if i.verdict not in ("unchecked", "fitted")]
        un = self.unchecked
        if self.ok:
            head = f"all {len(checked)} checked claims hold" if checked else "nothing was checked"
            if un:
                head += f"; {len(un)} could not be checked ({', '.join(i.name for i in un)})"
            lines.append(head)
        else:
            lines.append(f"first wrong step: {self.first_wrong}")
            if self.first_slip and self.first_slip != self.first_wrong:
                lines.append(f"first slip within a line: {self.first_slip}")
            if un:
                lines.append(f"not checked: {', '.join(i.name for i in un)}")
        return fmt.wrap("\n".join(lines + self.notes))


def graph_values(output: Tensor, lr: float | None = None) -> dict[str, float]:
    """Named values, gradients ``dL/dname``, local partials ``dg/dh`` between a named node and
    its named inputs, and updates ``name_new``, in computation order."""
    G = Graph(output)
    adj = G.adjoints() if output.requires_grad else {}
    out: dict[str, float] = {}
    for n in G.nodes:  # forward order
        out[n.name] = _num(n.value)
    for n in reversed(G.nodes):  # backward order
        if n.index in adj:
            out[f"dL/d{n.name}"] = _num(adj[n.index])
            if n.op is not None and n.value.size == 1 and n.user_named:
                for p in G.view_parents(n, "named"):  # the lecture's boxed local partials
                    r = G.local(n, np.ones_like(n.value), "named").get(p.index)
                    if r is not None:
                        out.setdefault(fmt.d(n.name, p.name), _num(r))
    if lr is not None:
        for n in G.params():
            if n.index in adj:
                out[f"{n.name}_new"] = _num(n.value - lr * adj[n.index])
    return out


def _num(a):
    a = np.asarray(a, dtype=np.float64)
    return float(a.reshape(())) if a.size == 1 else a


def _lookup(truth: dict, k: str):
    """The correct value of claim ``k``, and why there is none: a name, or one element of a
    tensor's value or gradient written ``name[i, j]`` (``dL/d0.weight[1, 2]``)."""
    if k in truth:
        v = np.asarray(truth[k], dtype=np.float64)
        if v.size == 1:
            return float(v.reshape(())), ""
        first = ", ".join("0" for _ in v.shape)
        return None, (f"{k} is a {fmt.shape(v.shape)} array: claim one element, as {k}[{first}]")
    m = re.match(r"^(.+)\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]$", k)
    if m and m.group(1) in truth:
        v = np.asarray(truth[m.group(1)], dtype=np.float64)
        idx = tuple(int(i) for i in m.group(2).split(","))
        if v.ndim == 1 and len(idx) == 1 or len(idx) == v.ndim:
            if all(0 <= i < n for i, n in zip(idx, v.shape)):
                return float(v[idx]), ""
        return None, f"{m.group(1)} has shape {fmt.shape(v.shape)}: no element {list(idx)}"
    return None, "no such quantity in the graph"


def check(
    claims: dict,
    truth: Tensor | dict,
    lr: float | None = None,
    local: dict[str, Callable[[dict], float]] | None = None,
    lines: dict[str, str] | None = None,
    tolerance: float | None = None,
    fitted: dict[str, str] | None = None,
    written: dict[str, Callable[[dict], float]] | None = None,
) -> Report:
    """Check ``claims`` (name -> number, or a string as printed) against ``truth``.

    ``truth`` is the scalar output of the graph (named tensors; gradients are ``dL/d<name>``,
    local partials ``d<g>/d<h>`` between named tensors, updates ``<name>_new`` with learning
    rate ``lr``) or a dict of correct values. ``local`` maps a claim to a function of the
    claims that redoes that claim's own line; ``lines`` gives each claim its source text.
    ``fitted`` names the claims an unknown was inferred from (they cannot be evidence).
    ``written`` maps a claim to its line's arithmetic exactly as written, wrong formula and
    all: where that gives the claim but ``local`` (the right formula on the same numbers) does
    not, the slip is in the line's formula, not its arithmetic.
    ``tolerance`` overrides the printed precision.

    Each item gets one verdict: ``ok``, ``fitted``, ``slip on this line`` (its own line does
    not give it), ``carried from X`` (its line is right, but it used the wrong claim X),
    ``wrong`` or ``unchecked``, and where it can tell, why (sign, factor, rounded too early).
    """
    if isinstance(truth, Tensor):
        out_name = truth.name
        truth = graph_values(truth, lr)
        if out_name:  # accept dLoss/dx as well as dL/dx
            for k in list(truth):
                if k.startswith("dL/d"):
                    truth.setdefault(f"d{out_name}/d{k[4:]}", truth[k])
    order = {k: i for i, k in enumerate(truth)}

    def place(k: str) -> int:  # an element claim sits where its tensor does
        return order.get(k, order.get(k.split("[")[0], len(order)))

    names = sorted(claims, key=place)
    values = {k: float(v) for k, v in claims.items()}
    items: dict[str, Item] = {}
    for k in names:
        tol = tolerance if tolerance is not None else printed_tolerance(claims[k])
        c, missing = _lookup(truth, k)
        holds = None if c is None else abs(values[k] - c) <= tol
        item = Item(k, values[k], c, holds, tol, line=(lines or {}).get(k, ""))
        item.unchecked_why = missing
        item.fitted = (fitted or {}).get(k, "")
        if local and k in local:
            reads = _Reads(values)
            item.local = float(local[k](reads))
            item.uses = list(dict.fromkeys(reads.read))
            item.local_holds = abs(values[k] - item.local) <= tol
        if written and k in written:
            reads = _Reads(values)
            item.written = float(written[k](reads))
            item.written_uses = list(dict.fromkeys(reads.read))
        items[k] = item
    for item in items.values():  # reasons, now that every item's verdict on its own is known
        wrong_inputs = [
            u for u in item.uses if u in items and items[u].verdict not in ("ok", "fitted")
        ]
        if item.local_holds is False and item._written_holds:
            item.reason = "the formula is wrong, not the arithmetic"
            wrong_written = [
                u
                for u in item.written_uses
                if u in items and items[u].verdict not in ("ok", "fitted")
            ]
            if wrong_written:
                item.reason += f"; it also uses the wrong {', '.join(wrong_written)}"
        elif item.local_holds is False:
            item.reason = _why(item.claimed, item.local, item.tolerance, "its line's own value")
            if item.holds and item.computed:
                off = abs(item.claimed - item.computed) / abs(item.computed)
                item.reason += (
                    f" (at that precision {fmt.num(item.claimed)} also matches the correct "
                    f"{fmt.num(item.computed, 6)}, but carried into later lines it is "
                    f"{off:.0%} off)"
                )
            if wrong_inputs:
                item.reason += f"; it also uses the wrong {', '.join(wrong_inputs)}"
        elif item.holds is False and wrong_inputs:
            item.carried_from = wrong_inputs[0]
            item.reason = f"this line's arithmetic is right; it uses {', '.join(wrong_inputs)}"
        elif item.holds is False:
            item.reason = _why(item.claimed, item.computed, item.tolerance)
    return Report(list(items.values()))
