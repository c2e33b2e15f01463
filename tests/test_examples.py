"""The lectures' worked examples: closed forms, 004's discrepancies, the CLI end to end."""

import json
import subprocess
import sys

import numpy as np
import pytest

from backprop.explain import examples
from backprop.explain.cli import render


def _sig(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("name", ["linear-000", "chain-001", "relu-neuron-002"])
def test_closed_forms(name):
    r = examples.run(name)
    for key, v in r["closed_form"].items():
        assert r["gradient"][key.split("/d")[-1]] == pytest.approx(v, rel=1e-12, abs=1e-15)
    assert r["backward_disagrees"] == []


def test_chain_001_update():
    r = examples.run("chain-001")
    assert r["update"]["w1_new"] == pytest.approx(0.8 - 0.1 * r["gradient"]["w1"])


def test_sigmoid_221_by_hand():
    r = examples.run("sigmoid-221-001")
    z0, z1 = 0.5 * 0.1 - 1 * 0.3 + 0.05, 0.5 * -0.2 - 1 * 0.4 - 0.05
    a0, a1 = _sig(z0), _sig(z1)
    a2 = a0 * 0.5 + a1 * -0.6 + 0.1
    dL = -(1 - a2)
    assert r["gradient"]["w4"] == pytest.approx(dL * a0, rel=1e-12)
    assert r["gradient"]["w0"] == pytest.approx(dL * 0.5 * a0 * (1 - a0) * 0.5, rel=1e-12)
    assert r["answers"]["Q1 gradient dimension"] == 9


def test_tanh_003_textbook_equals_engine():
    r = examples.run("tanh-003")
    assert r["textbook"]["max_abs_difference_vs_engine"] < 1e-12
    assert r["backward_disagrees"] == []
    assert set(r["minibatch_sgd_step"]) == {"B", "W1_new", "W2_new", "W3_new"}


def test_004_discrepancies():
    r = examples.run("shared-2221-004")
    d = {x["quantity"]: x for x in r["discrepancies"]}
    assert d["a11"]["printed"] == 0.494 and d["a11"]["computed"] == pytest.approx(_sig(0.023))
    assert d["a21"]["computed"] == pytest.approx(_sig(0.158))
    assert d["dL/dw5"]["computed"] == pytest.approx(0.249 * _sig(0.158))
    assert d["w5_new"]["computed"] == pytest.approx(0.14 - 0.01 * 0.249 * _sig(0.158))
    assert d["dL/da11"]["from_own_line"] == pytest.approx(0.00252)
    assert {"dL/dh11", "dL/dx1", "dL/dw1", "dL/dy_pred (formula)", "dL/dh11 (formula)"} <= set(d)
    for ok in ("dL/da21", "dL/dh21", "dL/dh12"):  # these lines hold
        assert ok not in d
    assert r["check"].first_wrong == "a11"
    assert r["backward_disagrees"] == []  # Tensor.backward agrees (shared weights, 0-d fan-out)
    g = r["input_gradients"]
    s = 0.000606178 + 0.000746498
    assert g["dL/dx1"] == pytest.approx(s * 0.16, rel=1e-5)
    assert g["dL/dx2"] == pytest.approx(s * (0.023 - 0.048) / 0.6, rel=1e-5)
    assert "discrepancies" in render(r)


def test_004_verdicts_are_one_each_and_fitted_claims_are_not_ok():
    r = examples.run("shared-2221-004")
    v = {i.name: i.verdict for i in r["check"].items}
    for fitted in ("h11", "h21", "h22", "z", "dL/dz"):
        assert v[fitted] == "fitted"
    assert v["dL/da11"] == "slip on this line"  # not also "ok"
    why = r["check"]["dL/da11"].reason
    assert why.startswith("rounded too early: its line's own value 0.00252 cut to 1")
    assert "18% off" in why  # 0.002 matches 0.00243 at one digit, but not when carried on
    # dL/dw5 = 0.035/0.14 = 0.25 is the lecture's own arithmetic: the slip is its formula
    w5 = r["check"]["dL/dw5"]
    assert v["dL/dw5"] == "slip on this line" and w5.written == pytest.approx(0.25)
    assert w5.reason == "the formula is wrong, not the arithmetic"
    assert "its own arithmetic gives 0.25, as printed" in str(w5)
    new = r["check"]["w5_new"]  # 0.249 - 0.0025: starts from dL/dz, and carries dL/dw5
    assert v["w5_new"] == "slip on this line" and new.written == pytest.approx(0.2465)
    assert new.reason.endswith("it also uses the wrong dL/dw5")
    d = {x["quantity"]: x["why"] for x in r["discrepancies"]}
    assert "starts from dL/dz = 0.249 where w5 = 0.14 belongs" in d["w5_new"]
    assert v["dL/dh11"] == "carried from dL/da11"
    assert v["dL/dx1"] == v["dL/dw1"] == "carried from dL/dh11"
    assert v["dL/da21"] == "ok"
    quantities = [d["quantity"] for d in r["discrepancies"]]
    assert len(quantities) == len(set(quantities))  # each discrepancy once
    assert "dL/dz" not in quantities  # fitted: its story is the loss's, told once
    assert any("dL/dh12" in n and "0.494" in n for n in r["notes"])  # the w4 choice is said


def test_004_target_under_each_loss_convention():
    from backprop.explain.lectures.lecture004 import loss_conventions

    ys = {c["loss"]: c["y"] for c in loss_conventions()}
    yp, dz = _sig(0.295), 0.249
    d = yp * (1 - yp)
    assert ys["1/2 (y - y_pred)^2"] == pytest.approx(yp - dz / d)
    assert ys["(y - y_pred)^2 (MSE)"] == pytest.approx(yp - dz / (2 * d))
    assert 0 <= ys["(y - y_pred)^2 (MSE)"] <= 1 and 0 <= ys["cross-entropy"] <= 1
    r = examples.run("shared-2221-004")
    loss = next(x for x in r["discrepancies"] if x["quantity"].startswith("the loss"))
    assert "MSE or Cross entropy" == loss["printed"] and "0.0643" in loss["why"]


def test_004_inputs_are_not_parameters():
    r = examples.run("shared-2221-004")
    s = r["summary"]
    assert s.gradient_dimension == 7 and "x1" not in s.parameters and s.inputs == ["x1", "x2"]
    text = " ".join(r["trace"].table().split())  # undo the wrapping
    assert "at x1, dL/dx1 = 0.000216428 (the sum of 2 contributions); an input" in text
    assert "x1, dL/dx1 = 0.000216428 (the sum of 2 contributions); a parameter" not in text


def test_render_fits_100_columns():
    for name, _, _ in examples.names():
        text = render(examples.run(name))
        assert max(len(line) for line in text.splitlines()) <= 100, name


def test_vanishing_sigmoid_shrinks_more_than_relu(tmp_path):
    r = examples.run("vanishing-003", out_dir=str(tmp_path))
    assert r["first_over_last"]["sigmoid"] < 1e-3 < r["first_over_last"]["relu"]
    with open(r["picture"], "rb") as f:
        assert f.read(4) == b"\x89PNG"


def _cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "backprop.cli", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    ).stdout


def test_cli_example_writes_no_file_unless_asked(tmp_path, monkeypatch):
    import os
    from pathlib import Path

    root = str(Path(examples.__file__).resolve().parents[2])  # the checkout under test
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (root, old) if p))
    _cli("example", "linear-000", "--json", cwd=tmp_path)
    _cli("example", "linear-000", cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cli_list_and_example(tmp_path):
    out = _cli("example", "--list")
    for name, lecture, _ in examples.names():
        assert name in out and lecture in out
    text = _cli("example", "linear-000", "--out", str(tmp_path))
    assert "forward values" in text and "dLoss/dw1" in text and "update" in text
    assert (tmp_path / "linear-000.png").exists()
    data = json.loads(_cli("example", "shared-2221-004", "--json", "--out", str(tmp_path)))
    assert data["discrepancies"] and data["input_gradients"]


# -- kinks: every example takes kink=, and 003's table at exactly-zero pre-activations ------


@pytest.mark.parametrize("kink", ["pytorch", "lecture"])
def test_every_example_takes_a_kink_convention_and_says_whether_it_matters(kink):
    for name, _, _ in examples.names():
        r = examples.run(name, kink=kink)
        assert r["kink"] == kink
        assert any(f"kink={kink!r}" in n for n in r["notes"]), name
        text = render(r)
        assert f"{kink}'s convention" in text
        assert max(len(line) for line in text.splitlines()) <= 100, name
    with pytest.raises(ValueError, match="kink must be"):
        examples.run("linear-000", kink="left")


@pytest.mark.parametrize("kink", ["pytorch", "lecture"])
def test_exactly_zero_pre_activations_of_every_activation_of_003s_table(kink):
    torch = pytest.importorskip("torch")
    r = examples.run("kinks-003", kink=kink)
    table = ("sigmoid", "tanh", "relu", "gelu", "softplus", "elu", "leaky_relu", "prelu")
    assert tuple(r["kinks"]) == table
    lecture_at_0 = {"leaky_relu": 1.0, "prelu": 1.0}  # 003's table: 0 in the x >= 0 branch
    for act, row in r["kinks"].items():
        # the engine's derivative at exactly 0 is PyTorch's, whatever the convention asked
        z = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        F = torch.nn.functional
        y = F.prelu(z, torch.tensor([0.25], dtype=torch.float64)) if act == "prelu" else None
        y = getattr(F, act)(z) if y is None else y
        y.sum().backward()
        assert row["derivative at 0, engine"] == pytest.approx(z.grad.item(), abs=1e-15), act
        ours = np.array(row[f"dL/dW1 textbook ({kink})"])
        engine = np.array(row["dL/dW1 engine"])
        at0 = row[f"derivative at 0, {kink}"]
        if kink == "lecture" and act in lecture_at_0:
            assert at0 == lecture_at_0[act]
            slope = row["derivative at 0, engine"]
            np.testing.assert_allclose(ours, engine / slope, rtol=1e-12)
            assert not row["agree"] and np.abs(ours).max() > 0
        else:
            assert at0 == row["derivative at 0, engine"]
            np.testing.assert_allclose(ours, engine, rtol=1e-12, atol=1e-15)
            assert row["agree"]
    assert r["differ"] == (["leaky_relu", "prelu"] if kink == "lecture" else [])
    note = r["notes"][0]
    for act in r["differ"]:
        assert act in note


def test_relu_neuron_002_closed_form_follows_the_kink_asked():
    X = np.array([[1.0, 2.0], [0.5, -1.0], [-1.0, 0.5], [2.0, 1.0]])
    for kink in ("pytorch", "lecture"):
        r = examples.run("relu-neuron-002", kink=kink)
        assert f"kink={kink!r}" in " ".join(r["notes"])
        c = X @ [0.6, -0.4] + 0.1
        assert (c != 0).all()  # no exact zero in these data: both conventions agree
        assert r["closed_form"]["dL/dw1"] == pytest.approx(r["gradient"]["w1"], rel=1e-12)


def test_cli_kink_option():
    text = " ".join(_cli("example", "kinks-003", "--kink", "lecture").split())  # unwrapped
    assert "lecture's convention" in text and "leaky_relu (1 instead of 0.01)" in text
    data = json.loads(_cli("example", "kinks-003", "--kink", "pytorch", "--json"))
    assert data["kink"] == "pytorch" and data["differ"] == []


def test_cli_render_formats_through_the_shared_module():
    import inspect
    import re

    from backprop.explain import cli

    src = inspect.getsource(cli)
    # no number formatting of its own (format specs, array2string): fmt does it all
    assert not re.search(r"\{[^{}]*:[.0-9]*[gef]\}|array2string|:\.\d", src)
    r = examples.run("kinks-003", kink="lecture")
    for line in render(r).splitlines():
        assert len(line) <= 100
    assert "agree = no" in render(r)


def test_004_statements_are_computed_not_typed_in():
    """Outside the lecture's own printed lines (PRINTED, FORMULAS) and docstrings, no string in
    lecture004.py or checker.py holds a decimal number: every number stated is computed."""
    import ast
    import importlib
    import re
    from pathlib import Path

    mods = ("backprop.explain.lectures.lecture004", "backprop.explain.checker")
    for mod in map(importlib.import_module, mods):
        tree = ast.parse(Path(mod.__file__).read_text())
        quoted: set[int] = set()  # ids of constants that quote the lecture, or document
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ("PRINTED", "FORMULAS") for t in node.targets
            ):
                quoted |= {id(c) for c in ast.walk(node.value)}
            if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
                quoted |= {id(c) for c in ast.walk(node.format_spec)}  # "{x:.3g}"
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)):
                doc = node.body[0] if node.body else None
                if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
                    quoted.add(id(doc.value))
        typed = [
            (node.lineno, node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in quoted
            and re.search(r"\d\.\d", node.value)
        ]
        assert not typed, f"{mod.__name__}: numbers typed into statements: {typed}"
    # and the statements follow the numbers: a different printed value changes the text
    r = examples.run("shared-2221-004")
    why = {d["quantity"]: d["why"] for d in r["discrepancies"]}
    assert "0.00243" in why["dL/da11"] and "dL/dh11, dL/dx1, dL/dw1" in why["dL/da11"]
    assert why["a11"].startswith("0.494 is sigma(-0.023) = 0.4943")


def test_forward_values_list_no_constant_by_its_value():
    fwd = examples.run("tanh-003")["forward"]
    assert fwd["y"] == 0.6 and "0.6" not in fwd and "1" not in fwd  # target named; bias unit
    assert "(o3 - y)^2" in render(examples.run("tanh-003"))
