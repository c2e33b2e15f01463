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
    assert r.ok and r.first_wrong is None and "all 9 checked claims hold" in str(r)


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
    assert r["dL/dh"].verdict == "slip on this line" and "sign" in r["dL/dh"].reason
    assert r["dL/dw1"].verdict == "carried from dL/dh"


def test_printed_precision():
    r = bp.check({"h": "1.20", "g": "-0.6004"}, _net())
    assert r["h"].holds and not r["g"].holds


def test_reasons_sign_factor_rounding():
    r = bp.check({"dL/dg": "1.6", "dL/dh": "1.6", "dL/dw2": "-1"}, _net())
    assert r["dL/dg"].reason == "the sign is wrong"
    assert r["dL/dh"].reason == "a factor: twice the correct value"
    assert r["dL/dw2"].reason.startswith("rounded too early")  # -1.92 cut to 1 digit


def test_local_partials_are_checked():
    r = bp.check({"dg/dh": "-0.5", "dh/dw1": "1.5", "dL/dg": "-1.6"}, _net())
    assert [i.verdict for i in r.items] == ["ok", "ok", "ok"]
    r = bp.check({"dg/dh": "0.5"}, _net())
    assert r["dg/dh"].verdict == "wrong" and r["dg/dh"].computed == -0.5


def test_unknown_claims_are_never_reported_as_holding():
    r = bp.check({"h": "1.2", "dL/dq": "3"}, _net())
    text = str(r)
    assert r["dL/dq"].verdict == "unchecked" and "not checked" in text
    assert "all 1 checked claims hold; 1 could not be checked (dL/dq)" in text
    assert "all claims hold" not in text


def test_fitted_claims_are_not_evidence():
    r = bp.check({"h": "1.2", "g": "-0.6"}, _net(), fitted={"g": "w2"})
    assert r["g"].verdict == "fitted" and "inferred" in str(r["g"])


def test_rounded_too_early_names_the_lines_own_value():
    # the line dL/dh = dL/dg w2 reads dL/dg = -1.56, so gives 0.78, and prints it cut to 0.7
    r = bp.check(
        {"dL/dg": "-1.56", "dL/dh": "0.7"}, _net(), local={"dL/dh": lambda c: c["dL/dg"] * -0.5}
    )
    why = r["dL/dh"].reason
    assert r["dL/dh"].verdict == "slip on this line"
    assert why.startswith("rounded too early: its line's own value 0.78 cut to 1")
    assert "the correct value" not in why
    r = bp.check({"dL/dw2": "-1"}, _net())  # no line given: then it is the correct value
    assert r["dL/dw2"].reason.startswith("rounded too early: the correct value -1.92 cut to 1")


def test_a_wrong_formula_is_told_from_wrong_arithmetic():
    # dL/dw1 = dL/dh * x: a line that writes dL/dh / x instead, with right arithmetic
    claims = {"dL/dh": "0.8", "dL/dw1": "0.5333"}
    r = bp.check(
        claims,
        _net(),
        local={"dL/dw1": lambda c: c["dL/dh"] * 1.5},
        written={"dL/dw1": lambda c: c["dL/dh"] / 1.5},
    )
    it = r["dL/dw1"]
    assert it.verdict == "slip on this line"
    assert it.reason == "the formula is wrong, not the arithmetic"
    assert "its own arithmetic gives 0.533333, as printed" in str(it)
    assert "its own line gives" not in str(it)


def test_claims_on_a_tensor_graph_name_elements_and_never_crash():
    bp.manual_seed(0)
    model = bp.nn.Sequential(bp.nn.Linear(4, 3), bp.nn.Tanh(), bp.nn.Linear(3, 1)).double()
    x = bp.randn(2, 4, dtype=f64, name="x")
    y = bp.tensor([[0.5], [-0.5]], dtype=f64, name="y")
    loss = bp.nn.functional.mse_loss(model(x), y)
    loss.name = "loss"
    loss.backward()
    W, b = model[0].weight.grad.numpy(), model[0].bias.grad.numpy()
    claims = {
        "dL/d0.weight[0, 2]": f"{W[0, 2]:.4f}",
        "dL/d0.bias[1]": f"{b[1]:.3f}",
        "dL/d2.bias": f"{float(model[2].bias.grad[0]):.3f}",  # one element: a number
        "dL/d0.weight": "0.3",  # a 3x4 array: not a number
        "dL/d0.bias[5]": "1",
    }
    r = bp.check(claims, loss)
    assert [r[k].verdict for k in claims] == ["ok", "ok", "ok", "unchecked", "unchecked"]
    text = " ".join(str(r).split())
    assert "dL/d0.weight is a 3x4 array: claim one element, as dL/d0.weight[0, 0]" in text
    assert "dL/d0.bias has shape 3: no element [5]" in text
    assert "all 3 checked claims hold; 2 could not be checked" in text
    r = bp.check({"dL/d0.weight[0, 2]": f"{-W[0, 2]:.4f}"}, loss)
    assert r.wrong and r["dL/d0.weight[0, 2]"].reason == "the sign is wrong"
