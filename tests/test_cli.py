"""The `backprop` command end to end on small runs."""

import csv
import json
import subprocess
import sys

import matplotlib.image
import pytest

from backprop.cli import build_parser, main
from backprop.data import load_dataset

SMALL = [
    "--dataset",
    "iris",
    "--hidden",
    "8,8",
    "--activation",
    "tanh",
    "--epochs",
    "3",
    "--batch-size",
    "16",
    "--no-progress",
]


def test_train_evaluate_predict(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                *SMALL,
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
                "--seed",
                "3",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"run directory: {run}" in out and "curves.png" in out and "test loss" in out

    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("train", "val", "test"):
        assert 0 <= metrics[f"{split}_accuracy"] <= 1 and metrics[f"{split}_loss"] > 0
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert {
        "train_loss",
        "val_loss",
        "train_accuracy",
        "val_accuracy",
        "grad_norm/0",
        "grad_norm/2",
        "grad_norm/4",
    } <= set(rows[0])
    for png in ("curves.png", "gradients.png"):
        image = matplotlib.image.imread(run / png)
        assert image.ndim == 3 and image.shape[0] > 200 and image.std() > 0.01
    meta = json.loads((run / "checkpoint" / "checkpoint.json").read_text())["meta"]
    assert meta["architecture"]["hidden"] == [8, 8] and meta["seed"] == 3
    assert meta["config"]["optimizer"] == "adam" and meta["dataset"]["name"] == "iris"
    assert meta["epoch"] == 3 and "val_loss" in meta["metrics"]
    assert metrics["keep"] == "best" and metrics["model_epoch"] == metrics["best_epoch"]
    assert meta["config"]["keep"] == "best" and (run / "best" / "checkpoint.json").exists()

    assert main(["evaluate", str(run), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["test_accuracy"] == metrics["test_accuracy"]

    s = load_dataset("iris", seed=3, standardize=False)
    features = tmp_path / "new.csv"
    with open(features, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(s.feature_names)
        w.writerows(s.X_test[:5].tolist())
    assert main(["predict", str(run), "--input", str(features)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("prediction,probability,p_setosa")
    assert len(lines) == 6

    assert main(["train", "--resume", str(run), "--epochs", "4", "--no-progress"]) == 0
    assert json.loads((run / "metrics.json").read_text())["epochs_run"] == 4


def test_keep_flag(tmp_path, capsys):
    argv = ["train", "--dataset", "diabetes", "--epochs", "15", "--no-progress", "--no-plots"]
    assert main([*argv, "--out", str(tmp_path / "best")]) == 0
    assert "model of epoch 7 (best validation loss)" in capsys.readouterr().out
    assert main([*argv, "--keep", "last", "--out", str(tmp_path / "last")]) == 0
    assert "model of epoch" not in capsys.readouterr().out
    best, last = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("best", "last"))
    assert (best["keep"], best["model_epoch"], last["keep"], last["model_epoch"]) == (
        "best",
        7,
        "last",
        15,
    )
    assert best["val_loss"] < last["val_loss"] and not (tmp_path / "last" / "best").exists()
    assert main(["evaluate", str(tmp_path / "best"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["test_loss"] == best["test_loss"]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "--dataset", "nope"], "unknown dataset 'nope'"),
        (["train", "--hidden", "64,x"], "hidden sizes must be positive integers"),
        (["train", "--hidden", "0"], "hidden sizes must be positive"),
        (["train", "--lr", "-1"], "must be positive"),
        (["train", "--activation", "swish"], "invalid choice"),
        (["train", "--keep", "first"], "invalid choice"),
        (["evaluate", "/nonexistent/run"], "no such run directory"),
        (["predict", "/nonexistent/run", "--input", "x.csv"], "no such run directory"),
    ],
)
def test_bad_flags_are_one_line_errors(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_help_explains_every_flag():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in ("train", "evaluate", "predict"):
        p = sub.choices[name]
        for action in p._actions:
            assert action.help, f"{name} {action.option_strings} has no help"
        text = p.format_help()
        for action in p._actions:
            for opt in action.option_strings:
                assert opt in text


def test_python_dash_m():
    r = subprocess.run(
        [sys.executable, "-m", "backprop", "train", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "--hidden" in r.stdout and "--resume" in r.stdout
