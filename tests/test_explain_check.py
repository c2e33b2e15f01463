"""check: flags planted errors, passes correct work, finds the first wrong step."""

import backprop as bp

f64 = bp.float64


def _net():
    x = bp.tensor(1.5, dtype=f64, name="x")
    w1 = bp.tensor(0.8, requires_grad=True, dtype=f64, name="w1")
    w2 = bp.tensor(-0.5, requires_grad=True, dtype=f64, name="w2")
    h = x * w1
    h.name = "h"
    g = h * w2
    g.name = "g"
    L = 0.5 * (1.0 - g) ** 2
    L.name = "L"
    return L


CORRECT = {
    "h": "1.2",
    "g": "-0.6",
    "L": "1.28",
    "dL/dg": "-1.6",
    "dL/dh": "0.8",
    "dL/dw2": "-1.92",
    "dL/dw1": "1.2",
    "w1_new": "0.68",
    "w2_new": "-0.308",
}


def test_correct_work_passes():
    r = bp.check(CORRECT, _net(), lr=0.1)
    assert r.ok and r.first_wrong is None and "all claims hold" in str(r)


def test_planted_errors_are_flagged_with_correct_value_and_first_step():
    claims = dict(CORRECT, **{"dL/dh": "-0.8", "dL/dw1": "-1.2", "w2_new": "-0.208"})
    r = bp.check(claims, _net(), lr=0.1)
    assert {i.name for i in r.wrong} == {"dL/dh", "dL/dw1", "w2_new"}
    assert r.first_wrong == "dL/dh"
    assert abs(r["dL/dh"].computed - 0.8) < 1e-12


def test_own_line_check_separates_slips_from_carried_errors():
    claims = {"dL/dg": "-1.6", "dL/dh": "-0.8", "dL/dw1": "-1.2"}
    local = {"dL/dh": lambda c: c["dL/dg"] * -0.5, "dL/dw1": lambda c: c["dL/dh"] * 1.5}
    r = bp.check(claims, _net(), local=local)
    assert r["dL/dh"].local_holds is False  # the slip is on this line
    assert r["dL/dw1"].local_holds is True and r["dL/dw1"].holds is False  # carried in
    assert r.first_slip == "dL/dh"


def test_printed_precision():
    r = bp.check({"h": "1.20", "g": "-0.6004"}, _net())
    assert r["h"].holds and not r["g"].holds
