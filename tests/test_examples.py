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
