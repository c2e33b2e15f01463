"""Run directories under misuse and faults: one writer at a time, the user's files never
overwritten, a diverged model never kept, resume with changed settings, every part of a saved
run checked before use, full disks and read-only file systems, Ctrl-C at any moment."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop.checkpoint import save_checkpoint
from backprop.cli import build_parser, main
from backprop.runs import RunError, TrainConfig, evaluate_run, load_run, predict_run, train_run
from backprop.runs.config import settings as config_settings

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
IRIS = ["--dataset", "iris", "--hidden", "4", "--epochs", "2", "--no-progress", "--no-plots"]


def run_cli(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "iris"
    train_run(TrainConfig(dataset="iris", hidden=(4,), epochs=3, out=str(run), progress=False,
                          plots=False))  # fmt: skip
    return run


# --- the one declaration ------------------------------------------------------------------------
def test_flags_help_and_validation_come_from_the_declaration():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    train = sub.choices["train"]
    dests = {a.dest for a in train._actions}
    assert set(config_settings()) <= dests  # every setting is a flag
    text = " ".join(train.format_help().split())
    for action in train._actions:
        if action.help and action.option_strings:
            assert action.help.count("(default:") <= 1, action.option_strings
    assert "(default: 0.05)" in text and "(default: runs/<dataset>-<date>-<time>)" in text
    predict = " ".join(sub.choices["predict"].format_help().split())
    assert "--input FILE.csv the features to predict" in predict and "None" not in predict
    with pytest.raises(RunError, match="momentum must be at least 0"):
        TrainConfig(momentum=-1).validate()
    with pytest.raises(RunError, match="must be below 1, to leave something to train on"):
        TrainConfig(val_fraction=0.6, test_fraction=0.6).validate()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--momentum", "-1"], "argument --momentum: must be at least 0, got -1.0"),
        (["--weight-decay", "-1"], "argument --weight-decay: must be at least 0"),
        (["--val-fraction", "1.5"], "argument --val-fraction: must be below 1, got 1.5"),
        (["--val-fraction", "0.6", "--test-fraction", "0.6"], "must be below 1"),
        (["--seed", "-1"], "argument --seed: must be at least 0"),
        (["--target-loss", "nan"], "argument --target-loss: must be a finite number"),
        (["--lr", "inf"], "argument --lr: must be a finite number"),
        (["--epochs", "2.5"], "argument --epochs: expected an integer, got '2.5'"),
        (["--dropout", "1"], "argument --dropout: must be below 1"),
        (["--hidden", "1000000000"], "hidden layers 1000000000 needs about 55.9 GiB of memory"),
    ],
)
def test_bad_settings_are_refused_before_any_work(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("backprop.runs.build.available_memory", lambda: 2**30)
    code, _, err = run_cli(["train", *argv, "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and message in one_line(err)
    assert not (tmp_path / "r").exists()


def test_version(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.strip() == "backprop 0.1.0"


# --- lost data ----------------------------------------------------------------------------------
def test_out_never_overwrites_the_users_files(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "metrics.json").write_text('{"my": "numbers"}')
    code, _, err = run_cli(["train", *IRIS, "--out", str(mine)], capsys)
    assert code == 2 and "not a run: choose a new or empty folder" in one_line(err)
    assert (mine / "metrics.json").read_text() == '{"my": "numbers"}'
    assert sorted(p.name for p in mine.iterdir()) == ["metrics.json"]
    (tmp_path / "file").write_text("x")
    for out, message in (("file", "is a file"), ("file/run", "lies under")):
        code, _, err = run_cli(["train", *IRIS, "--out", str(tmp_path / out)], capsys)
        assert code == 2 and message in one_line(err)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli(["train", *IRIS, "--out", str(empty)], capsys)[0] == 0
    code, _, err = run_cli(["train", *IRIS, "--out", str(empty)], capsys)
    assert code == 2 and "already holds a run; pass --resume" in one_line(err)


SLOW_TRAIN = [sys.executable, "-m", "backprop", "train", "--dataset", "iris", "--batch-size",
              "1", "--epochs", "100000", "--no-progress", "--no-plots"]  # fmt: skip


def test_a_second_writer_fails_at_once_and_readers_keep_working(tmp_path, capsys):
    run = tmp_path / "run"
    first = subprocess.Popen([*SLOW_TRAIN, "--out", str(run)], env=ENV, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (run / "checkpoint" / "checkpoint.json").exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        for argv in (["--out", str(run)], ["--resume", str(run)]):
            code, _, err = run_cli(["train", *argv, "--no-progress"], capsys)
            line = one_line(err)
            assert code == 2 and f"{run} is being written by another process" in line
            assert f"(backprop train, pid {first.pid} on " in line and "started 20" in line
        for _ in range(5):  # evaluate and predict read a complete checkpoint mid-training
            model, meta = load_run(run)
            assert meta["epoch"] >= 1 and model is not None
    finally:
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
    assert first.returncode == 130 and err.decode().strip() == "backprop train: interrupted"
    # the OS released the lock with the process: the run resumes
    epoch = load_run(run)[1]["epoch"]
    argv = ["train", "--resume", str(run), "--epochs", str(epoch + 1), "--no-progress"]
    assert run_cli([*argv, "--no-plots"], capsys)[0] == 0


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
def test_ctrl_c_while_importing_is_one_line(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "backprop", "train", "--no-progress"], env=ENV,
                         stderr=subprocess.PIPE, cwd=tmp_path)  # fmt: skip
    # Interrupt as soon as NumPy's extension is mapped: `import backprop` is under way (NumPy
    # is its first heavy import), long before the command starts.
    maps = Path(f"/proc/{p.pid}/maps")
    deadline = time.monotonic() + 30
    while "_multiarray_umath" not in maps.read_text() and time.monotonic() < deadline:
        time.sleep(0.002)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err.decode().strip() == "backprop train: interrupted"


# --- silent results -----------------------------------------------------------------------------
def test_a_diverged_run_has_no_usable_model(tmp_path, capsys):
    run = tmp_path / "r"
    code, out, err = run_cli(["train", *IRIS, "--lr", "1e30", "--out", str(run)], capsys)
    assert code == 2 and "diverged at epoch 1" in one_line(err) and "no usable model" in err
    assert "model of epoch" not in out and not (run / "checkpoint").exists()
    assert json.loads((run / "metrics.json").read_text())["model_epoch"] is None
    for argv in (["evaluate", str(run)], ["predict", str(run), "--input", str(run)]):
        code, _, err = run_cli(argv, capsys)
        assert code == 2 and "has no usable model: the run diverged at epoch 1" in one_line(err)
    # with --keep last too; and a later divergence keeps the last finite checkpoint
    code, _, err = run_cli(["train", *IRIS, "--lr", "1e30", "--keep", "last", "--out",
                            str(tmp_path / "k")], capsys)  # fmt: skip
    assert code == 2 and "no usable model" in err


def test_nan_weights_are_refused_on_load(iris_run, tmp_path):
    import shutil

    run = tmp_path / "nan"
    shutil.copytree(iris_run, run)
    shutil.rmtree(run / "best")
    ckpt = run / "checkpoint"
    from backprop.checkpoint import load_checkpoint

    model, opt, meta = load_checkpoint(ckpt)
    model["0.weight"][0, 0] = np.nan
    meta["history"]["best_epoch"] = meta["epoch"]
    save_checkpoint(ckpt, model, opt, meta)
    with pytest.raises(RunError, match="weights that are not finite"):
        evaluate_run(run)


def test_resume_changes_settings_or_refuses(iris_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "r"
    shutil.copytree(iris_run, run)
    code, _, err = run_cli(["train", "--resume", str(run), "--hidden", "32,32", "--activation",
                            "tanh"], capsys)  # fmt: skip
    assert code == 2 and "--hidden, --activation cannot change when resuming" in one_line(err)
    argv = ["train", "--resume", str(run), "--lr", "0.2", "--epochs", "5", "--no-progress"]
    assert run_cli([*argv, "--no-plots"], capsys)[0] == 0
    _, meta = load_run(run)
    assert meta["config"]["lr"] == 0.2 and meta["epoch"] == 5
    assert meta["history"]["changes"] == [{"epoch": 4, "lr": [0.05, 0.2], "epochs": [3, 5]}]
    assert meta["history"]["lr"] == [0.05] * 3 + [0.2] * 2
    code, _, err = run_cli(["train", "--resume", str(run), "--epochs", "4"], capsys)
    assert code == 2 and "already trained 5 epochs" in one_line(err)


def test_evaluate_says_when_best_is_missing(iris_run, tmp_path, capsys):
    import shutil

    from backprop.checkpoint import load_checkpoint

    run = tmp_path / "r"
    shutil.copytree(iris_run, run, ignore=shutil.ignore_patterns("best"))
    model, opt, meta = load_checkpoint(run / "checkpoint")
    best = meta["history"]["best_epoch"] = 2  # whose weights were in best/
    save_checkpoint(run / "checkpoint", model, opt, meta)
    code, out, _ = run_cli(["evaluate", str(run)], capsys)
    assert code == 0 and "model of epoch 3\n" in out and "best/ " not in out
    assert f"(the model of epoch {best}, the best validation loss) is missing" in out


def test_predict_refuses_what_it_cannot_use(iris_run, tmp_path, capsys):
    names = ",".join(load_run(iris_run)[1]["dataset"]["feature_names"])
    cases = {
        "nan.csv": (f"{names}\n5.1,3.5,nan,0.2\n", "line 2, column 'petal length (cm)': 'nan'"),
        "inf.csv": ("5.1,3.5,1.4,inf\n", "line 1, column 3: 'inf' is not a finite number"),
        "bad.csv": ("5.1,abc,1.4,0.2\n", "line 1, column 1: 'abc' is not a number"),
        "header.csv": (f"{names}\n", "a header but no data rows"),
        "short.csv": (f"{names}\n5.1,3.5\n", "line 2 has 2 fields, but the features need 4"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        code, out, err = run_cli(["predict", str(iris_run), "--input", str(tmp_path / name)],
                                 capsys)  # fmt: skip
        assert code == 2 and message in one_line(err) and out == "", name
    code, _, err = run_cli(["predict", str(iris_run), "--input", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in one_line(err)
    (tmp_path / "ok.csv").write_text("5.1,3.5,1.4,0.2\n")
    code, _, err = run_cli(["predict", str(iris_run), "--input", str(tmp_path / "ok.csv"),
                            "--output", str(tmp_path)], capsys)  # fmt: skip
    assert code == 2 and "--output" in one_line(err) and "is a directory" in err


# --- environment failures -----------------------------------------------------------------------
@pytest.mark.parametrize("code, name", [(errno.ENOSPC, "no space left"),
                                        (errno.EROFS, "read-only file system")])  # fmt: skip
def test_full_disk_or_read_only_keeps_the_last_checkpoint(iris_run, tmp_path, monkeypatch,
                                                          capsys, code, name):  # fmt: skip
    import shutil

    run = tmp_path / "r"
    shutil.copytree(iris_run, run)
    real = os.replace

    def failing(src, dst):
        if "checkpoint" in str(dst):
            raise OSError(code, os.strerror(code), str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    status, _, err = run_cli(["train", "--resume", str(run), "--epochs", "5", "--no-progress",
                              "--no-plots"], capsys)  # fmt: skip
    line = one_line(err)
    assert status == 1 and name in line and "checkpoint.json" in line and "--resume" in line
    monkeypatch.setattr(os, "replace", real)
    assert load_run(run)[1]["epoch"] == 3  # the last complete checkpoint, intact
    assert sorted(p.name for p in (run / "checkpoint").iterdir())[0] == "checkpoint.json"

    # predict --output on a full disk leaves the user's earlier file as it was
    (tmp_path / "ok.csv").write_text("5.1,3.5,1.4,0.2\n")
    (tmp_path / "out.csv").write_text("earlier predictions\n")
    monkeypatch.setattr(os, "replace", lambda s, d: failing(s, Path(d).parent / "checkpoint"))
    status, _, err = run_cli(["predict", str(run), "--input", str(tmp_path / "ok.csv"),
                              "--output", str(tmp_path / "out.csv")], capsys)  # fmt: skip
    assert status == 1 and name in one_line(err)
    assert (tmp_path / "out.csv").read_text() == "earlier predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.csv", "out.csv", "r"]


def test_debug_shows_the_traceback(tmp_path):
    argv = [sys.executable, "-m", "backprop", "evaluate", str(tmp_path / "none")]
    r = subprocess.run(argv, env=ENV, capture_output=True, text=True)
    assert r.returncode == 2 and one_line(r.stderr).endswith("no such run directory")
    r = subprocess.run(argv, env={**ENV, "BACKPROP_DEBUG": "1"}, capture_output=True, text=True)
    assert "Traceback" in r.stderr and "RunError" in r.stderr


# --- a saved run's metadata, fuzzed ---------------------------------------------------------------
META_VALUES = st.none() | st.booleans() | st.integers(-5, 10**13) | st.floats() | st.text(
    max_size=6
) | st.lists(st.integers(-2, 10**12), max_size=3) | st.just({})  # fmt: skip


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_fuzzed_run_metadata_raises_only_run_errors(iris_run, tmp_path_factory, data):
    """One entry of a run's metadata (architecture, config, dataset, history...) replaced by an
    arbitrary value or deleted: load_run and predict give a result or a RunError."""
    import shutil

    from backprop.checkpoint import load_checkpoint

    run = tmp_path_factory.mktemp("fuzz") / "r"
    shutil.copytree(iris_run, run, ignore=shutil.ignore_patterns("best"))
    model, opt, meta = load_checkpoint(run / "checkpoint")
    node = meta
    while True:
        key = data.draw(st.sampled_from(sorted(node)))
        if isinstance(node[key], dict) and node[key] and data.draw(st.booleans()):
            node = node[key]
            continue
        if data.draw(st.booleans()):
            del node[key]
        else:
            node[key] = data.draw(META_VALUES)
        break
    save_checkpoint(run / "checkpoint", model, opt, meta)
    (run / "x.csv").write_text("5.1,3.5,1.4,0.2\n")
    for use in (load_run, lambda r: predict_run(r, r / "x.csv"), _resume_one_epoch):
        try:
            use(run)
        except RunError:
            pass


def _resume_one_epoch(run: Path) -> None:
    train_run(TrainConfig(epochs=4, progress=False, plots=False), resume=run)


def test_a_manifest_asking_for_a_huge_model_is_refused(iris_run, tmp_path):
    import shutil

    from backprop.checkpoint import load_checkpoint

    run = tmp_path / "r"
    shutil.copytree(iris_run, run, ignore=shutil.ignore_patterns("best"))
    model, opt, meta = load_checkpoint(run / "checkpoint")
    meta["architecture"]["hidden"] = [10**12]
    save_checkpoint(run / "checkpoint", model, opt, meta)
    for use in (load_run, _resume_one_epoch):
        with pytest.raises(RunError, match=r"4 -> 1000000000000 -> 3 needs about .* TiB"):
            use(run)


def test_progress_bar_keeps_the_metrics_at_80_columns():
    from tqdm import tqdm

    from backprop.train import BAR_FORMAT, History, _postfix

    h = History(epoch=[30], train_loss=[0.0016], train_accuracy=[1.0], val_loss=[0.0922],
                val_accuracy=[0.97], lr=[0.05], seconds=[1.0])  # fmt: skip
    line = tqdm.format_meter(1200, 1200, 1.4, ncols=80, bar_format=BAR_FORMAT,
                             prefix=_postfix(h, 166_034))  # fmt: skip
    assert len(line) <= 80 and line.endswith("| epoch 30 loss 0.0016 acc 1.000 val_loss 0.0922 "
                                             "val_acc 0.970 166k/s")  # fmt: skip
    assert "|" in line and line.index("|") < line.rindex("|") - 4  # the bar still shows


def test_a_run_whose_first_save_failed_can_be_trained_again(tmp_path, monkeypatch, capsys):
    run = tmp_path / "r"
    real = os.replace

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(os, "replace", full)
    code, _, err = run_cli(["train", *IRIS, "--out", str(run)], capsys)
    assert code == 1 and "no space left on the device" in one_line(err)
    assert "--resume" not in err  # there is nothing to resume
    monkeypatch.setattr(os, "replace", real)
    code, _, err = run_cli(["evaluate", str(run)], capsys)
    assert code == 2 and "no complete checkpoint" in one_line(err) and f"--out {run}" in err
    assert run_cli(["train", *IRIS, "--out", str(run)], capsys)[0] == 0


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m, s: m["architecture"].update(activation="swish"), "unknown activation 'swish'"),
        (lambda m, s: s.pop("2.bias"), "do not match the architecture (missing 2.bias)"),
        (lambda m, s: s.update(extra=np.ones(1)), "(unexpected extra)"),
        (lambda m, s: s.update({"0.weight": np.ones((3, 3))}), "0.weight has shape (3, 3)"),
        (lambda m, s: m.update(architecture="mlp"), "a bad (str) 'architecture'"),
        (lambda m, s: m["history"].update(train_loss="x"), "train_loss is not a list of numbers"),
    ],
    ids=["activation", "missing", "extra", "shape", "architecture", "history"],
)
def test_a_damaged_run_is_named(iris_run, tmp_path, capsys, edit, message):
    import shutil

    from backprop.checkpoint import load_checkpoint

    run = tmp_path / "r"
    shutil.copytree(iris_run, run, ignore=shutil.ignore_patterns("best"))
    state, opt, meta = load_checkpoint(run / "checkpoint")
    edit(meta, state)
    save_checkpoint(run / "checkpoint", state, opt, meta)
    for argv in (["evaluate", str(run)], ["train", "--resume", str(run), "--epochs", "9"]):
        code, _, err = run_cli(argv, capsys)
        assert code == 2 and message in one_line(err), argv


def test_example_out_on_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("mine")
    code, _, err = run_cli(["example", "linear-000", "--out", str(tmp_path / "f")], capsys)
    assert code == 2 and "is a file; give a folder" in one_line(err)
    assert (tmp_path / "f").read_text() == "mine"
