"""Run directories: what ``backprop train``, ``evaluate`` and ``predict`` do, as functions.

``train_run(TrainConfig(...))`` loads a dataset, builds an MLP, trains it with
:func:`backprop.train.fit` and writes a run directory::

    runs/digits-20260101-120000/
      metrics.json     train/val/test loss and accuracy of the kept model (keys train_loss,
                       test_accuracy..; for regression test_r2.. instead of accuracy), and
                       model_epoch, the epoch that model comes from
      history.csv      one row per epoch: losses, accuracies, lr, seconds, grad_norm/<layer>
      curves.png       loss and accuracy per epoch, train and validation
      gradients.png    per-layer gradient norm per epoch
      checkpoint/      the last epoch's model and optimizer state (safetensors) + JSON
                       metadata, saved each epoch: what ``resume`` continues from
      best/            the weights of the best validation epoch (with ``keep="best"``), saved
                       whenever the validation loss improves

``keep="best"`` (the default when there is a validation split) reports, evaluates and predicts
with the model of the epoch with the lowest validation loss: on small noisy data the last epoch
is often an overfit one. ``keep="last"`` uses the last epoch's model.

For regression the model is trained on standardised targets (fitted on the training split,
kept in the checkpoint as ``dataset.target_standardizer``), but every loss written above is in
the targets' original units, and ``predict`` answers in them too.

The checkpoint's metadata holds everything needed to rebuild and continue the run:
architecture, hyperparameters, dataset (with its standardiser), seed, epoch, metrics, the
history so far and the random generator's state, so ``resume`` gives the same parameters as a
run that was never interrupted.

>>> import tempfile
>>> r = train_run(TrainConfig(dataset="iris", hidden=(8,), epochs=3, out=tempfile.mkdtemp(),
...                           progress=False, plots=False))
>>> sorted(r.metrics)[:3]
['best_epoch', 'dataset', 'epochs_run']
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import nn, optim
from . import random as _random
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import DataError, Standardizer, available_datasets, load_dataset
from .nn import functional as F
from .nn.activations import ACTIVATIONS
from .nn.init import INITIALIZERS
from .tensor import Tensor
from .train import History, evaluate, fit

__all__ = [
    "TrainConfig",
    "RunResult",
    "build_mlp",
    "train_run",
    "evaluate_run",
    "predict_run",
    "RunError",
]

CHECKPOINT_DIR = "checkpoint"
BEST_DIR = "best"
KEEP = ("best", "last")


class RunError(ValueError):
    """A bad setting or a run directory that cannot be used; the message says what to do."""


@dataclass
class TrainConfig:
    """Every setting of a training run (the flags of ``backprop train``)."""

    dataset: str = "digits"
    hidden: tuple[int, ...] = (64,)
    activation: str = "relu"
    loss: str = "auto"  # cross_entropy for classification, mse for regression
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9  # SGD and RMSprop
    weight_decay: float = 0.0
    schedule: str = "none"  # none, step, exponential, cosine
    batch_size: int = 32
    epochs: int = 30
    patience: int | None = None
    target_loss: float | None = None
    init: str = "default"
    dropout: float = 0.0
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    out: str | None = None
    progress: bool = True
    compile: bool = False  # replay each training step with bp.compile
    plots: bool = True
    keep: str = "best"  # the best-validation epoch's model, or the last; last without val data

    def validate(self) -> None:
        if self.dataset not in available_datasets() and not Path(self.dataset).exists():
            raise RunError(
                f"unknown dataset {self.dataset!r}: choose one of "
                f"{', '.join(available_datasets())}, or give a CSV file or an "
                "MNIST directory"
            )
        if any(h < 1 for h in self.hidden):
            raise RunError(f"hidden layer sizes must be positive integers, got {self.hidden}")
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("optimizer", self.optimizer, optim.OPTIMIZERS)
        _choice("loss", self.loss, ("auto", *LOSS_NAMES))
        _choice("schedule", self.schedule, ("none", *optim.SCHEDULES))
        _choice("init", self.init, INITIALIZERS)
        _choice("keep", self.keep, KEEP)
        for name in ("lr", "batch_size", "epochs"):
            if getattr(self, name) <= 0:
                raise RunError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise RunError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.patience is not None and self.patience < 1:
            raise RunError(f"patience must be at least 1, got {self.patience}")


def _choice(what: str, value: str, options) -> None:
    if value not in options:
        raise RunError(f"unknown {what} {value!r}: choose one of {', '.join(options)}")


@dataclass
class RunResult:
    """What ``train_run`` produced: the directory, its files, the final metrics."""

    run_dir: Path
    metrics: dict[str, Any]
    history: History
    files: dict[str, Path] = field(default_factory=dict)
    model: nn.Module | None = None


# ---------------------------------------------------------------------------- building


def build_mlp(architecture: dict[str, Any]) -> nn.Sequential:
    """An MLP from its description: Linear, activation (and Dropout) per hidden layer, then a
    Linear output layer. Layer names are PyTorch's (``0.weight``, ``2.weight``...).

    >>> build_mlp({"in_features": 4, "hidden": [8], "out_features": 3, "activation": "tanh"})
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): Tanh()
      (2): Linear(in_features=8, out_features=3, bias=True)
    )
    """
    layers: list[nn.Module] = []
    width = int(architecture["in_features"])
    for h in architecture.get("hidden", []):
        layers += [nn.Linear(width, int(h)), ACTIVATIONS[architecture.get("activation", "relu")]()]
        if architecture.get("dropout", 0.0) > 0:
            layers.append(nn.Dropout(architecture["dropout"]))
        width = int(h)
    layers.append(nn.Linear(width, int(architecture["out_features"])))
    model = nn.Sequential(*layers)
    init = INITIALIZERS[architecture.get("init", "default")]
    if init is not None:
        gain = "relu" if architecture.get("activation") == "relu" else "leaky_relu"
        for m in model.modules():
            if isinstance(m, nn.Linear):
                if init.__name__.startswith("kaiming"):
                    init(m.weight, nonlinearity=gain)
                else:
                    init(m.weight)
                nn.init.zeros_(m.bias)
    return model


class OneHotMSELoss(nn.Module):
    """Squared error between the outputs and one-hot class targets (the lectures' squared
    error applied to classification)."""

    def forward(self, input: Tensor, target) -> Tensor:
        t = target._data if isinstance(target, Tensor) else np.asarray(target)
        onehot = np.eye(input.shape[1], dtype=input._data.dtype)[t]
        return F.mse_loss(input, Tensor._wrap(onehot))


LOSS_NAMES = ("cross_entropy", "mse", "l1")


def _loss_fn(name: str, task: str) -> nn.Module:
    if name == "auto":
        name = "cross_entropy" if task == "classification" else "mse"
    if task == "classification":
        if name == "l1":
            raise RunError("loss 'l1' needs a regression dataset; use cross_entropy or mse")
        return nn.CrossEntropyLoss() if name == "cross_entropy" else OneHotMSELoss()
    if name == "cross_entropy":
        raise RunError("loss 'cross_entropy' needs a classification dataset; use mse or l1")
    return nn.MSELoss() if name == "mse" else nn.L1Loss()


def _optimizer(cfg: TrainConfig, params) -> optim.Optimizer:
    kwargs: dict[str, Any] = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
    if cfg.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = cfg.momentum
    return optim.OPTIMIZERS[cfg.optimizer](params, **kwargs)


def _scheduler(cfg: TrainConfig, opt: optim.Optimizer):
    if cfg.schedule == "step":
        return optim.StepLR(opt, step_size=max(1, cfg.epochs // 3), gamma=0.1)
    if cfg.schedule == "exponential":
        return optim.ExponentialLR(opt, gamma=0.95)
    if cfg.schedule == "cosine":
        return optim.CosineAnnealingLR(opt, T_max=cfg.epochs)
    return None


def _load_splits(cfg: TrainConfig, dataset_info: dict | None = None):
    # A run saved before targets were standardised has no "target_standardizer": rebuild its
    # splits as it saw them.
    targets = dataset_info is None or dataset_info.get("target_standardizer") is not None
    try:
        return load_dataset(
            cfg.dataset,
            seed=cfg.seed,
            val_fraction=cfg.val_fraction,
            test_fraction=cfg.test_fraction,
            standardize_targets=targets,
        )
    except (DataError, FileNotFoundError) as e:
        raise RunError(str(e)) from None


# ---------------------------------------------------------------------------- training


def _default_run_dir(dataset: str) -> Path:
    stem = Path(dataset).stem if Path(dataset).exists() else dataset
    return Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def train_run(cfg: TrainConfig, resume: str | os.PathLike | None = None) -> RunResult:
    """Train as ``cfg`` says and write the run directory; with ``resume`` (a run directory),
    continue that run from its last checkpoint up to ``cfg.epochs`` instead."""
    if resume is not None:
        return _resume(Path(resume), cfg)
    cfg.validate()
    run_dir = Path(cfg.out) if cfg.out else _default_run_dir(cfg.dataset)
    if (run_dir / CHECKPOINT_DIR).exists():
        raise RunError(
            f"{run_dir} already holds a run; pass --resume {run_dir} to continue it "
            "or choose another --out"
        )
    _random.manual_seed(cfg.seed)
    splits = _load_splits(cfg)
    arch = {
        "type": "mlp",
        "in_features": splits.num_features,
        "hidden": list(cfg.hidden),
        "out_features": splits.num_outputs,
        "activation": cfg.activation,
        "dropout": cfg.dropout,
        "init": cfg.init,
    }
    model = build_mlp(arch)
    opt = _optimizer(cfg, model.parameters())
    return _train(cfg, run_dir, splits, arch, model, opt, _scheduler(cfg, opt), History())


def _resume(run_dir: Path, overrides: TrainConfig) -> RunResult:
    model_state, optim_state, meta = _load_run(run_dir)
    cfg = TrainConfig(**{**meta["config"], "hidden": tuple(meta["config"]["hidden"])})
    best_state, _ = _best_weights(run_dir, model_state, meta, cfg.keep)
    if best_state is model_state:  # best/ lags checkpoint/ (a crash between their saves)
        _save_best(
            run_dir,
            best_state,
            meta["history"]["best_epoch"],
            meta["history"]["best_val_loss"],
            meta["architecture"],
        )
    cfg.epochs, cfg.progress, cfg.plots = overrides.epochs, overrides.progress, overrides.plots
    cfg.out = str(run_dir)
    splits = _load_splits(cfg, meta["dataset"])
    model = build_mlp(meta["architecture"])
    model.load_state_dict(model_state)
    opt = _optimizer(cfg, model.parameters())
    if optim_state is not None:
        opt.load_state_dict(optim_state)
    sched = _scheduler(cfg, opt)
    if sched is not None and meta.get("scheduler"):
        sched.load_state_dict(meta["scheduler"])
    _random.default_generator().bit_generator.state = meta["rng_state"]
    hist = History.from_dict(meta["history"])
    if hist.stopped == "epochs" and hist.epoch and hist.epoch[-1] < cfg.epochs:
        hist.stopped = ""
    return _train(
        cfg, run_dir, splits, meta["architecture"], model, opt, sched, hist, best_state or {}
    )


def _train(cfg, run_dir, splits, arch, model, opt, sched, hist, best=None) -> RunResult:
    run_dir.mkdir(parents=True, exist_ok=True)
    loss_fn = _loss_fn(cfg.loss, splits.task)
    if not len(splits.X_val):
        cfg.keep = "last"  # no validation loss to choose by
    config = {**asdict(cfg), "hidden": list(cfg.hidden), "out": str(run_dir)}
    keep_best = cfg.keep == "best"
    best = best if best is not None else {}

    def save(epoch: int, h: History) -> None:
        meta = {
            "architecture": arch,
            "config": config,
            "epoch": epoch,
            "seed": cfg.seed,
            "dataset": splits.info(),
            "history": h.to_dict(),
            "metrics": {
                k: v[-1]
                for k, v in asdict(h).items()
                if isinstance(v, list) and k not in ("epoch", "seconds") and v
            },
            "scheduler": sched.state_dict() if sched is not None else None,
            "rng_state": _random.default_generator().bit_generator.state,
        }
        save_checkpoint(run_dir / CHECKPOINT_DIR, model.state_dict(), opt.state_dict(), meta)
        # After checkpoint/: a crash between the two saves leaves best/ older than the
        # history's best_epoch, which is then checkpoint/'s own epoch (see _best_weights).
        if keep_best and h.best_epoch == epoch and best:
            _save_best(run_dir, best, epoch, h.best_val_loss, arch)

    t0 = time.perf_counter()
    hist = fit(
        model,
        loss_fn,
        opt,
        (splits.X_train, splits.y_train),
        val_data=(splits.X_val, splits.y_val) if len(splits.X_val) else None,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        target_loss=cfg.target_loss,
        patience=cfg.patience,
        scheduler=sched,
        history=hist,
        on_epoch_end=save,
        progress=cfg.progress,
        compile=cfg.compile,
        target_standardizer=splits.target_standardizer,
        restore_best=keep_best,
        best_state=best,
    )
    seconds = time.perf_counter() - t0
    metrics = _final_metrics(model, loss_fn, splits, hist)
    # fit restored the best weights only when it had them (an old run resumed may not)
    metrics.update(
        model_epoch=hist.best_epoch if keep_best and best else metrics["epochs_run"],
        keep=cfg.keep,
        seconds=seconds,
    )
    return RunResult(run_dir, metrics, hist, _write_outputs(run_dir, cfg, hist, metrics), model)


def _save_best(run_dir: Path, state: dict, epoch: int, val_loss: float, arch: dict) -> None:
    save_checkpoint(
        run_dir / BEST_DIR,
        state,
        None,
        {"epoch": epoch, "val_loss": val_loss, "architecture": arch},
    )


def _final_metrics(model, loss_fn, splits, hist: History) -> dict[str, Any]:
    """Loss per split (in the targets' original units) and accuracy, or R^2 for regression."""
    metrics: dict[str, Any] = {"dataset": splits.name, "task": splits.task}
    for split in ("train", "val", "test"):
        X, y = getattr(splits, f"X_{split}"), getattr(splits, f"y_{split}")
        r = (
            evaluate(model, loss_fn, (X, y), target_standardizer=splits.target_standardizer)
            if len(X)
            else {"loss": math.nan, "accuracy": math.nan}
        )
        metrics[f"{split}_loss"] = r["loss"]
        if splits.task == "classification":
            metrics[f"{split}_accuracy"] = r["accuracy"]
        else:
            metrics[f"{split}_r2"] = _r2(model, X, y) if len(X) > 1 else math.nan
    metrics.update(
        epochs_run=hist.epoch[-1] if hist.epoch else 0,
        best_epoch=hist.best_epoch,
        stopped=hist.stopped,
    )
    return metrics


def _r2(model, X: np.ndarray, y: np.ndarray) -> float:
    """1 - SSE/SST averaged over outputs: 0 for predicting the split's mean, 1 for perfect.
    (Unchanged by standardising the targets, so computed on them directly.)"""
    from .autograd import no_grad

    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(Tensor(X))._data.astype(np.float64)
    finally:
        model.train(was_training)
    y = np.asarray(y, np.float64)
    sse, sst = ((y - out) ** 2).sum(0), ((y - y.mean(0)) ** 2).sum(0)
    return float(np.mean(1 - sse / np.where(sst > 0, sst, np.nan)))


def _json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    return x


def _write_outputs(run_dir: Path, cfg: TrainConfig, hist: History, metrics) -> dict[str, Path]:
    files = {
        "metrics": run_dir / "metrics.json",
        "history": run_dir / "history.csv",
        "checkpoint": run_dir / CHECKPOINT_DIR,
    }
    if cfg.keep == "best" and (run_dir / BEST_DIR).exists():
        files["best"] = run_dir / BEST_DIR
    files["metrics"].write_text(json.dumps(_json_safe(metrics), indent=2) + "\n")
    rows = hist.rows()
    with open(files["history"], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["epoch"])
        w.writeheader()
        w.writerows(rows)
    if cfg.plots and rows:
        from .plots import plot_curves, plot_gradients

        title = f"{metrics['dataset']}: MLP {list(cfg.hidden)} {cfg.activation}, {cfg.optimizer}"
        files["curves"] = Path(plot_curves(hist, run_dir / "curves.png", title))
        files["gradients"] = Path(plot_gradients(hist, run_dir / "gradients.png"))
    return files


# ---------------------------------------------------------------------------- using a run


def _load_run(run_dir: Path):
    ckpt = run_dir / CHECKPOINT_DIR
    if not run_dir.exists():
        raise RunError(f"{run_dir}: no such run directory")
    if not ckpt.exists():
        raise RunError(f"{run_dir} has no {CHECKPOINT_DIR}/: not a backprop run directory")
    try:
        model_state, optim_state, meta = load_checkpoint(ckpt)
    except CheckpointError as e:
        raise RunError(str(e)) from None
    for key in ("architecture", "config", "dataset", "history", "rng_state"):
        if key not in meta:
            raise RunError(
                f"{ckpt} was not written by `backprop train` (no {key!r} in its metadata)"
            )
    return model_state, optim_state, meta


def _best_weights(
    run_dir: Path, model_state: dict, meta: dict, keep: str
) -> tuple[dict | None, int]:
    """The best-validation weights of a run and their epoch, or ``(None, last epoch)`` for a
    run that kept the last epoch's model or has no record of its best epoch's weights.

    best/ is valid when it holds the history's best_epoch. It can lag one save behind (a crash
    between checkpoint/'s save and its own), but only when the best epoch is checkpoint/'s
    epoch, whose weights are then checkpoint/'s own.
    """
    epoch, best_epoch = meta["epoch"], meta["history"].get("best_epoch", 0)
    if keep != "best":
        return None, epoch
    if (run_dir / BEST_DIR).exists():
        try:
            state, _, best_meta = load_checkpoint(run_dir / BEST_DIR)
        except CheckpointError as e:
            raise RunError(str(e)) from None
        if best_meta.get("epoch") == best_epoch:
            return state, best_epoch
    if best_epoch == epoch:
        return model_state, epoch
    return None, epoch


def load_run(run_dir: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """The kept model of a run directory (the best validation epoch's with ``keep="best"``,
    else the last epoch's) and its checkpoint metadata; ``meta["model_epoch"]`` is the epoch
    the model comes from.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = train_run(TrainConfig(dataset="iris", hidden=(4,), epochs=1, out=d, progress=False,
    ...                           plots=False))
    >>> model, meta = load_run(d)
    >>> meta["epoch"], meta["architecture"]["hidden"]
    (1, [4])
    """
    model_state, _, meta = _load_run(Path(run_dir))
    # a run saved before --keep existed kept its last epoch's model
    best_state, meta["model_epoch"] = _best_weights(
        Path(run_dir), model_state, meta, meta["config"].get("keep", "last")
    )
    model = build_mlp(meta["architecture"])
    model.load_state_dict(best_state if best_state is not None else model_state)
    return model.eval(), meta


def evaluate_run(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Loss and accuracy (R^2 for regression) of a saved run's model on its dataset's train,
    val and test splits (the same splits: they are determined by the dataset and the seed);
    the same metrics as ``train_run``'s, losses in the targets' original units."""
    model, meta = load_run(run_dir)
    cfg = TrainConfig(**{**meta["config"], "hidden": tuple(meta["config"]["hidden"])})
    splits = _load_splits(cfg, meta["dataset"])
    metrics = _final_metrics(
        model, _loss_fn(cfg.loss, splits.task), splits, History.from_dict(meta["history"])
    )
    metrics.update(
        checkpoint_epoch=meta["epoch"],
        model_epoch=meta["model_epoch"],
        keep=meta["config"].get("keep", "last"),
    )
    return metrics


def _read_features(path: Path, meta: dict) -> np.ndarray:
    names = meta["dataset"]["feature_names"]
    if not path.is_file():
        raise RunError(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    if not rows:
        raise RunError(f"{path} has no rows")
    header = rows[0]
    if all(_is_number(c) for c in header):
        cols = list(range(len(header)))
    else:
        rows = rows[1:]
        missing = [n for n in names if n not in header]
        if missing and len(header) != len(names):
            raise RunError(f"{path} lacks the columns {missing[:5]} the model was trained on")
        cols = [header.index(n) for n in names] if not missing else list(range(len(header)))
    if len(cols) != len(names):
        raise RunError(
            f"{path} has {len(cols)} columns but the model takes {len(names)} "
            "features (give the features only, or a header naming them)"
        )
    try:
        X = np.array([[float(r[j]) for j in cols] for r in rows], dtype=np.float64)
    except (ValueError, IndexError) as e:
        raise RunError(f"{path}: every feature must be a number ({e})") from None
    st = meta["dataset"].get("standardizer")
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
    X = _read_features(Path(input_csv), meta)
    from .autograd import no_grad

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
