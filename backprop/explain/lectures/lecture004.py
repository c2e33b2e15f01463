"""Lecture 004's 2-2-2-1 shared-weight sigmoid network, rebuilt and checked line by line.

The network (004): ``h11 = b_h11 + w1 x1 + w2 x2`` and ``h12 = b_h12 + w1 x1 + w2 x2`` share
``w1, w2``; ``h21 = b_h21 + w3 a11 + w4 a12`` and ``h22 = b_h22 + w3 a11 + w4 a12`` share
``w3, w4``; ``z = b_z + w5 a21 + w6 a22``; every ``a = sigma(h)``, ``y_pred = sigma(z)`` and
``L = 1/2 (y - y_pred)^2`` (the 1/2 of its first slide).

What the lecture prints as givens: ``x2 = 0.6``, ``w1 = 0.16``; read off its arithmetic:
``x1 = 0.3`` (``(0.0005 + 0.0007)(0.3)`` for dL/dw1), ``w3 = 0.14`` (``(0.009 + 0.009)(0.14)``),
``w5 = w6 = 0.14`` (``(0.249)(0.14)`` for dL/da21 and dL/da22). Not printed, so inferred:

* hidden biases ``b_h11 = b_h12 = b_h21 = b_h22 = 0`` (no bias value appears anywhere);
* ``w2`` from the printed ``h11 = 0.023``: ``w2 = (0.023 - w1 x1) / x2 = -1/24``;
* ``w4`` from the printed ``h21 = h22 = 0.158``: ``w4 = 0.158 / sigma(h11) - w3``;
* ``b_z`` from the printed ``z = 0.295``: ``b_z = 0.295 - (w5 + w6) sigma(0.158)``;
* ``y`` from the printed ``dL/dz = 0.249``: ``y = y_pred - 0.249 / sigma'(z)`` = -0.4446
  under ``L = 1/2 (y - y_pred)^2``. The lecture never writes its loss down ("MSE or Cross
  entropy"); under plain ``(y - y_pred)^2`` or cross-entropy a target in [0, 1] reproduces
  0.249 (``loss_conventions`` computes each).
* ``w4`` uses the correct ``a11 = sigma(0.023) = 0.5057``; with the lecture's own
  ``a11 = 0.494`` it would be 0.18, and the example says whether a verdict depends on it.

With these, every other printed number is recomputed in float64 and checked at the precision
printed; each line is also redone from the lecture's own numbers on its right-hand side, to
tell a slip on that line from an error carried in.
"""

from __future__ import annotations

import numpy as np

from .. import fmt
from ..checker import check
from .common import T, example, finish, named

X1, X2, W1, W3, W5, W6 = 0.3, 0.6, 0.16, 0.14, 0.14, 0.14
ETA = 0.01


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _dsig(z):
    return _sig(z) * (1.0 - _sig(z))


W2 = (0.023 - W1 * X1) / X2
W4 = float(0.158 / _sig(0.023) - W3)
W4_LECTURE = float(0.158 / 0.494 - W3)  # the same fit from the lecture's a11 = 0.494
BZ = float(0.295 - (W5 + W6) * _sig(0.158))
Y = float(_sig(0.295) - 0.249 / _dsig(0.295))

# name -> (printed value as printed, the lecture's line, that line redone from its own numbers)
PRINTED = {
    "h11": ("0.023", "h11 = b_h11 + w1 x1 + w2 x2 = 0.023", None),
    "a11": ("0.494", "a11 = sigma(h11) = 0.494", lambda c: _sig(c["h11"])),
    "h21": ("0.158", "h21 = b_h21 + w3 a11 + w4 a12 = 0.158", None),
    "a21": ("0.461", "a21 = sigma(h21) = 0.461", lambda c: _sig(c["h21"])),
    "h22": ("0.158", "h22 = b_h22 + w3 a11 + w4 a12 = 0.158", None),
    "a22": ("0.461", "a22 = sigma(h22) = 0.461", lambda c: _sig(c["h22"])),
    "z": ("0.295", "z = b_z + w5 a21 + w6 a22 = 0.295", None),
    "dL/dz": ("0.249", "dL/dz = dL/dy_pred (1 - sigma(z)) sigma(z)", None),
    "dL/da22": ("0.035", "dL/da22 = dL/dz w6 = (0.249)(0.14) = 0.035", lambda c: c["dL/dz"] * W6),
    "dL/da21": ("0.035", "dL/da21 = dL/dz w5 = (0.249)(0.14) = 0.035", lambda c: c["dL/dz"] * W5),
    "dL/dh22": (
        "0.009",
        "dL/dh22 = dL/da22 sigma(h22)(1 - sigma(h22)) = 0.035(0.461)(1 - 0.461)",
        lambda c: c["dL/da22"] * c["a22"] * (1 - c["a22"]),
    ),
    "dL/dh21": (
        "0.009",
        "dL/dh21 = dL/da21 sigma(h21)(1 - sigma(h21)) = 0.035(0.461)(1 - 0.461)",
        lambda c: c["dL/da21"] * c["a21"] * (1 - c["a21"]),
    ),
    "dL/da11": (
        "0.002",
        "dL/da11 = (dL/dh21 + dL/dh22) w3 = (0.009 + 0.009)(0.14) = 0.002",
        lambda c: (c["dL/dh21"] + c["dL/dh22"]) * W3,
    ),
    "dL/dh12": ("0.0007", "dL/dh12 = 0.0007 (used in dL/dx1 and dL/dw1)", None),
    "dL/dh11": (
        "0.0005",
        "dL/dh11 = dL/da11 sigma(h11)(1 - sigma(h11)) = (0.002)(0.494)(1 - 0.494)",
        lambda c: c["dL/da11"] * c["a11"] * (1 - c["a11"]),
    ),
    "dL/dx1": (
        "0.00019",
        "dL/dx1 = (dL/dh11 + dL/dh12) w1 = (0.0005 + 0.0007)(0.16) = 0.00019",
        lambda c: (c["dL/dh11"] + c["dL/dh12"]) * W1,
    ),
    "dL/dw1": (
        "0.00036",
        "dL/dw1 = (dL/dh11 + dL/dh12) x1 = (0.0005 + 0.0007)(0.3) = 0.00036",
        lambda c: (c["dL/dh11"] + c["dL/dh12"]) * X1,
    ),
    "dL/dw5": (
        "0.25",
        "w5_new = w5 - eta dL/dz dz/dw5 = 0.249 - 0.01 (0.035/0.14): the "
        "gradient used is 0.035/0.14 = 0.25",
        lambda c: c["dL/dz"] * c["a21"],  # dL/dz dz/dw5 with the lecture's own numbers
    ),
    "w5_new": (
        "0.2465",
        "w5_new = 0.249 - 0.01 (0.035/0.14) = 0.249 - 0.0025 = 0.2465",
        lambda c: W5 - ETA * c["dL/dw5"],  # w5 - eta dL/dw5 with the lecture's own numbers
    ),
}

# Lines whose arithmetic, as written, gives the printed number although their formula (redone
# right in PRINTED with the same numbers) does not: the slip is in the formula.
WRITTEN = {
    "dL/dw5": lambda c: c["dL/da21"] / W5,  # 0.035/0.14
    "w5_new": lambda c: c["dL/dz"] - ETA * c["dL/dw5"],  # starts from 0.249, not w5
}

# Formulas that do not hold, whatever the numbers (quantity, as printed, correct, line).
FORMULAS = [
    (
        "dL/dh11 (formula)",
        "dL/da11 sigma(h11)",
        "dL/da11 sigma(h11)(1 - sigma(h11))",
        "dL/dh11 = dL/da11 da11/dh11 = dL/da11 sigma(h11): sigma written where sigma' is meant "
        "(both derivation slides; the first also for h12, h21, h22)",
    ),
    (
        "dL/dy_pred (formula)",
        "(y - y_pred)",
        "(y_pred - y)",
        "dL/dy_pred = dL/d(y - y_pred) = (y - y_pred): for L = 1/2 (y - y_pred)^2 the sign is "
        "wrong; the first slide also writes dL/dy_pred = dL/dy_pred 1/2",
    ),
    (
        "a11, a12 (names)",
        "a11 = sigma(h1), a12 = sigma(h2)",
        "sigma(h11), sigma(h12)",
        "first slide: h1, h2 for h11, h12",
    ),
    (
        "z (names)",
        "z = b_z + w5 y3 + w6 y4",
        "z = b_z + w5 a21 + w6 a22",
        "first slides: y3, y4 for a21, a22",
    ),
    (
        "weight update rule",
        "w_new = w_old - eta (dL/dNode sigma(Node)), sigma(Node) its own output",
        "w_new = w_old - eta dL/dNode * (output of the node the weight comes from)",
        "last slide (the general rule, apart from the w5 line above): it multiplies by the "
        "node's own output sigma(Node); the gradient of a weight takes the output that weight "
        "multiplies (for w5 into z: a21, not sigma(z))",
    ),
]


def _p(name: str) -> float:
    """The lecture's printed value of ``name``."""
    return float(PRINTED[name][0])


def _g(x: float) -> str:
    return fmt.num(x, 3)


def explain_discrepancies(report) -> dict[str, str]:
    """Why each wrong claim is wrong, every number computed (from the printed values, the
    graph's correct values and the checker's verdicts), none typed in."""
    out: dict[str, str] = {}
    flipped_once = False
    for a, h in (("a11", "h11"), ("a21", "h21"), ("a22", "h22")):
        item, hv = report[a], _p(h)
        if item.verdict == "ok":
            continue
        if abs(_sig(-hv) - item.claimed) <= item.tolerance:
            out[a] = (
                f"{PRINTED[a][0]} is sigma(-{fmt.num(hv)}) = {fmt.num(_sig(-hv), 4)}: "
                + (
                    "the same flipped sign"
                    if flipped_once
                    else f"the sigmoid's sign is flipped (1/(1 + e^{{+{h}}}))"
                )
                + f"; sigma({fmt.num(hv)}) = {fmt.num(_sig(hv), 4)}"
            )
            flipped_once = True
        else:
            out[a] = f"sigma({fmt.num(hv)}) = {fmt.num(_sig(hv), 4)}"
    # a slip, and the claims that carry it (transitively)
    carried: dict[str, list[str]] = {}
    for i in report.items:
        if i.carried_from:
            root = i.carried_from
            while report[root].carried_from:
                root = report[root].carried_from
            carried.setdefault(root, []).append(i.name)
    for i in report.items:
        if i.verdict == "slip on this line" and i.name in carried:
            out[i.name] = (
                f"its own line gives {_g(i.local)}, printed {PRINTED[i.name][0]}"
                + (f": {i.reason}" if i.reason else "")
                + f"; with exact inputs {_g(i.computed)}. The error carries into "
                + ", ".join(carried[i.name])
            )
        elif i.carried_from:
            src = report[i.carried_from]
            out[i.name] = (
                f"{PRINTED[i.name][0]} follows from {src.name} = {PRINTED[src.name][0]} "
                f"(correct {_g(src.computed)}); with exact inputs it is {_g(i.computed)}"
            )
    dz, a21 = report["dL/dz"], report["a21"]
    w5 = report["dL/dw5"]
    used = _p("dL/da21") / W5
    out["dL/dw5"] = (
        f"dz/dw5 = a21, so dL/dw5 = dL/dz a21 = {_g(dz.claimed)} x {_g(a21.computed)} = "
        f"{_g(dz.claimed * a21.computed)}"
        + (
            f" (with exact inputs {_g(w5.computed)})"
            if _g(w5.computed) != _g(dz.claimed * a21.computed)
            else ""
        )
        + f"; the lecture divides dL/da21 by w5 ({PRINTED['dL/da21'][0]}/{fmt.num(W5)} = {_g(used)}"
        + (" = dL/dz, rounded" if abs(used - dz.claimed) <= 0.01 * abs(dz.claimed) else "")
        + ") instead"
    )
    new = report["w5_new"]
    out["w5_new"] = (
        f"the update starts from dL/dz = {PRINTED['dL/dz'][0]} where w5 = {fmt.num(W5)} belongs "
        f"(with its own dL/dw5 = {PRINTED['dL/dw5'][0]} it would give {fmt.num(new.local, 4)}), "
        f"and it carries dL/dw5's error: w5 - eta dL/dw5 = {fmt.num(W5)} - {fmt.num(ETA)} x "
        f"{_g(w5.computed)} = {fmt.num(new.computed, 4)}"
    )
    return out


def loss_conventions(dz: float = 0.249, z: float = 0.295) -> list[dict]:
    """The target ``y`` that makes ``dL/dz`` equal the printed value, for each loss the
    lecture could mean (it says only "MSE or Cross entropy"), and whether it lies in [0, 1].

    >>> [round(r["y"], 3) for r in loss_conventions()]
    [-0.445, 1.591, 0.064, 1.082, 0.324]
    """
    p, d = _sig(z), _dsig(z)
    rows = [
        ("1/2 (y - y_pred)^2", "dL/dy_pred = y_pred - y", p - dz / d),
        ("1/2 (y - y_pred)^2, the lecture's sign", "dL/dy_pred = y - y_pred", p + dz / d),
        ("(y - y_pred)^2 (MSE)", "dL/dy_pred = 2 (y_pred - y)", p - dz / (2 * d)),
        ("(y - y_pred)^2, the lecture's sign", "dL/dy_pred = 2 (y - y_pred)", p + dz / (2 * d)),
        ("cross-entropy", "dL/dz = y_pred - y (sigmoid output)", p - dz),
    ]
    return [
        {"loss": k, "derivative": dv, "y": float(y), "in [0, 1]": bool(0 <= y <= 1)}
        for k, dv, y in rows
    ]


def _network(w4: float):
    """The lecture's graph, with ``w4`` as given (the only weight fitted through a11)."""
    x1, x2 = T(X1, "x1", True), T(X2, "x2", True)  # grad for dL/dx1, dL/dx2
    w1, w2, w3 = T(W1, "w1", True), T(W2, "w2", True), T(W3, "w3", True)
    w4, w5, w6 = T(w4, "w4", True), T(W5, "w5", True), T(W6, "w6", True)
    bz, y = T(BZ, "b_z", True), T(Y, "y")
    h11 = named(w1 * x1 + w2 * x2, "h11")  # b_h11 = 0
    h12 = named(w1 * x1 + w2 * x2, "h12")  # b_h12 = 0; the same weights: shared
    a11, a12 = named(h11.sigmoid(), "a11"), named(h12.sigmoid(), "a12")
    h21 = named(w3 * a11 + w4 * a12, "h21")
    h22 = named(w3 * a11 + w4 * a12, "h22")
    a21, a22 = named(h21.sigmoid(), "a21"), named(h22.sigmoid(), "a22")
    z = named(bz + w5 * a21 + w6 * a22, "z")
    y_pred = named(z.sigmoid(), "y_pred")
    loss = named(0.5 * (y - y_pred) ** 2, "L")
    return loss, [w1, w2, w3, w4, w5, w6, bz], [x1, x2]


# the claims an unknown was fitted to: they agree by construction, so they are not evidence
FITTED = {"h11": "w2", "h21": "w4", "h22": "w4", "z": "b_z", "dL/dz": "y"}


def _check(loss):
    return check(
        {k: v[0] for k, v in PRINTED.items()},
        loss,
        lr=ETA,
        local={k: v[2] for k, v in PRINTED.items() if v[2]},
        lines={k: v[1] for k, v in PRINTED.items()},
        fitted=FITTED,
        written=WRITTEN,
    )


@example(
    "shared-2221-004",
    "004_2f92e20e42ddb632.txt",
    "2-2-2-1 shared-weight sigmoid network, input gradients, update; checked",
)
def shared_2221_004(out_dir=None, kink: str = "pytorch") -> dict:
    loss, params, (x1, x2) = _network(W4)
    report = _check(loss)
    alt = _check(_network(W4_LECTURE)[0])  # w4 fitted with the lecture's a11 = 0.494
    depends = [
        i.name for i in report.items if i.verdict != alt[i.name].verdict and i.name not in FITTED
    ]
    res = finish(
        loss,
        params + [x1, x2],
        ETA,
        params[0],
        out_dir,
        "shared-2221-004",
        kink=kink,
        inputs=(x1, x2),
        givens={
            "printed": {"x1": X1, "x2": X2, "w1": W1, "w3": W3, "w5": W5, "w6": W6, "eta": ETA},
            "inferred": {
                "w2": W2,
                "w4": W4,
                "b_z": BZ,
                "y": Y,
                "b_h11 = b_h12 = b_h21 = b_h22": 0.0,
            },
            "note": __doc__.split("Not printed, so inferred:")[1].strip(),
        },
    )
    res["update"] = {k: v for k, v in res["update"].items() if k not in ("x1_new", "x2_new")}
    res["input_gradients"] = {
        "dL/dx1": res["gradient"].pop("x1"),
        "dL/dx2": res["gradient"].pop("x2"),
    }
    res["check"] = report
    res["loss_conventions"] = loss_conventions()
    disc = []
    why = explain_discrepancies(report)
    for d in report.discrepancies():
        d["why"] = why.get(d["quantity"], "") or d.get("reason", "")
        disc.append(d)
    conv = res["loss_conventions"]
    fits = [c for c in conv if c["in [0, 1]"]]
    disc.append(
        {
            "quantity": "the loss (never written down)",
            "printed": "MSE or Cross entropy",
            "computed": "L = 1/2 (y - y_pred)^2, from the first slide's 1/2",
            "from_own_line": None,
            "line": "we calculate loss function Using MSE or Cross entropy",
            "why": f"dL/dz = {PRINTED['dL/dz'][0]} fixes the target only once the loss is chosen: "
            + "; ".join(f"{c['loss']}: y = {c['y']:.3g}" for c in conv)
            + f". A target in [0, 1] exists under {len(fits)} of them ("
            + ", ".join(c["loss"] for c in fits)
            + "), not under the 1/2 convention this example follows",
        }
    )
    for q, printed, correct, line in FORMULAS:
        disc.append(
            {
                "quantity": q,
                "printed": printed,
                "computed": correct,
                "from_own_line": None,
                "line": line,
                "why": "formula",
            }
        )
    res["discrepancies"] = disc
    alt_h12 = alt["dL/dh12"]
    res["notes"] = [
        f"w4 is fitted to h21 = {PRINTED['h21'][0]} with the correct a11 = "
        f"{fmt.num(_sig(_p('h11')), 4)}; with the lecture's a11 = {PRINTED['a11'][0]} it would "
        f"be {fmt.num(W4_LECTURE, 4)}, and dL/dh12 would be {_g(alt_h12.computed)} instead of "
        f"{_g(report['dL/dh12'].computed)}. "
        + (
            f"Verdicts that change with that choice: {', '.join(depends)}."
            if depends
            else "No verdict changes with that choice."
        ),
        "x1 and x2 get gradients (dL/dx1, dL/dx2) as inputs; they are not parameters.",
    ] + res["notes"]
    return res
