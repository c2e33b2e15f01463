"""Predicting with a saved run: read a CSV of features as training read its data, refuse
what it cannot use (naming the line and column), and write the predictions as CSV."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from ..data import DataError, Standardizer
from ..data.files import cell_value, read_rows
from ..nn import functional as F
from ..tensor import Tensor
from .config import RunError
from .store import load_run


def read_features(path: Path, meta: dict) -> np.ndarray:
    """The feature matrix of a CSV file, in training order and standardised as in training.

    The first row is a header when it names the training features, or when none of its cells
    is a number; otherwise every row is data, with the features in training order.
    """
    names = meta["dataset"]["feature_names"]
    try:
        rows, _ = read_rows(path)
    except DataError as e:
        raise RunError(str(e)) from None
    if not rows:
        raise RunError(f"{path} has no rows")
    _, header = rows[0]
    named = any(c in names for c in header) if names else False
    if named or not any(_is_number(c) for c in header):
        rows = rows[1:]
        if not rows:
            raise RunError(f"{path} has a header but no data rows")
        missing = [n for n in names if n not in header]
        if missing and len(header) != len(names):
            raise RunError(f"{path} lacks the columns {missing[:5]} the model was trained on")
        cols = [header.index(n) for n in names] if not missing else list(range(len(header)))
        label = {j: f"column {header[j]!r}" for j in range(len(header))}
    else:
        cols = list(range(len(header)))
        label = {j: f"column {j}" for j in cols}
    if len(cols) != len(names):
        raise RunError(
            f"{path} has {len(cols)} columns but the model takes {len(names)} "
            "features (give the features only, or a header naming them)"
        )
    width = max(cols) + 1
    for line, row in rows:
        if len(row) < width:
            raise RunError(
                f"{path} line {line} has {len(row)} fields, but the features need {width}"
            )
    try:
        X = np.array(
            [[cell_value(path, line, label[j], row[j]) for j in cols] for line, row in rows],
            dtype=np.float64,
        )
    except DataError as e:
        raise RunError(str(e)) from None
    st = meta["dataset"].get("standardizer")
    if st is not None and len(st["mean"]) != len(names):
        raise RunError("the run's standardizer does not match its features: it is damaged")
    return (Standardizer.from_dict(st)(X) if st else X).astype(np.float32)


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def predict_run(run_dir: str | os.PathLike, input_csv: str | os.PathLike) -> str:
    """Predictions of a saved run's model for the rows of a CSV file of features, as CSV text:
    for classification the class and its probability (and each class's), for regression the
    predicted value, in the targets' original units. Features are standardised as in
    training."""
    model, meta = load_run(run_dir)
    path = Path(input_csv)
    if path.is_dir():
        raise RunError(f"--input {path} is a directory; give a CSV file of features")
    if not path.exists():
        raise RunError(f"--input {path}: no such file")
    X = read_features(path, meta)
    from ..autograd import no_grad

    with no_grad():
        out = model(Tensor(X))._data
    buf = io.StringIO()
    w = csv.writer(buf)
    info = meta["dataset"]
    if info.get("target_standardizer"):  # the model answers in standardised units
        out = Standardizer.from_dict(info["target_standardizer"]).inverse_transform(out)
    if info["task"] == "classification":
        probs = F.softmax(Tensor._wrap(out), dim=1)._data
        classes = info.get("class_names") or [str(i) for i in range(out.shape[1])]
        if len(classes) != out.shape[1]:
            raise RunError(f"{run_dir}: the run names {len(classes)} classes for "
                           f"{out.shape[1]} outputs: it is damaged")  # fmt: skip
        w.writerow(["prediction", "probability", *[f"p_{c}" for c in classes]])
        for p in probs:
            k = int(p.argmax())
            w.writerow([classes[k], f"{p[k]:.6f}", *[f"{v:.6f}" for v in p]])
    else:
        target = info.get("target_name", "target")
        w.writerow(
            [f"predicted_{target}"]
            if out.shape[1] == 1
            else [f"predicted_{i}" for i in range(out.shape[1])]
        )
        for row in out:
            w.writerow([f"{v:.6g}" for v in row])
    return buf.getvalue()
