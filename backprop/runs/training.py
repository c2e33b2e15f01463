"""Training a run (new or resumed) into its directory, and evaluating a saved one."""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import distributed as dist
from .. import nn
from .. import random as _random
from ..backend import blas_threads
from ..checkpoint import save_checkpoint
from ..tensor import Tensor
from ..train import History, evaluate, fit, layer_names
from .build import (
    architecture,
    build_mlp,
    check_memory,
    finite_state,
    load_splits,
    loss_fn,
    make_optimizer,
    make_scheduler,
)
from .config import RunError, TrainConfig, check_setting, settings
from .store import (
    CHECKPOINT_DIR,
    RunLock,
    best_weights,
    check_new_run_dir,
    check_state,
    load_run,
    read_run,
    save_best,
    write_outputs,
)


@dataclass
class RunResult:
    """What ``train_run`` produced: the directory, its files, the final metrics. ``model`` is
    None when the run diverged before any usable epoch (``metrics["model_epoch"]`` is then
    None too)."""

    run_dir: Path
    metrics: dict[str, Any]
    history: History
    files: dict[str, Path] = field(default_factory=dict)
    model: nn.Module | None = None


def _default_run_dir(dataset: str) -> Path:
    stem = Path(dataset).stem if Path(dataset).exists() else dataset
    return Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def _check_dataset(cfg: TrainConfig) -> None:
    from ..data import available_datasets

    if cfg.dataset not in available_datasets() and not Path(cfg.dataset).exists():
        raise RunError(
            f"unknown dataset {cfg.dataset!r}: choose one of "
            f"{', '.join(available_datasets())}, or give a CSV file or an MNIST directory"
        )


def train_run(
    cfg: TrainConfig,
    resume: str | os.PathLike | None = None,
    changes: dict[str, Any] | None = None,
) -> RunResult:
    """Train as ``cfg`` says and write the run directory; with ``resume`` (a run directory),
    continue that run from its last checkpoint instead, with its saved settings, up to
    ``cfg.epochs``. ``changes`` (resume only) are settings to change from the next epoch
    (lr, momentum, weight_decay, batch_size, epochs, patience, target_loss): they are
    recorded in the history's ``changes``; architecture and data settings cannot change.
    ``cfg.threads`` applies to this call only (new or resumed run alike)."""
    check_setting("threads", cfg.threads)
    # Under `mpiexec -n N` (N > 1) every rank runs this with the same settings and trains
    # its share of each batch (bp.distributed); only rank 0, the leader, writes the run.
    # --threads is a choice: it is applied before the group divides the node's cores.
    with blas_threads(cfg.threads):
        dist.init_from_launcher()
        if resume is not None:
            return _resume(Path(resume), cfg, changes or {})
        return _new_run(cfg)


def _new_run(cfg: TrainConfig) -> RunResult:
    cfg.validate()
    _check_dataset(cfg)
    run_dir = Path(cfg.out) if cfg.out else _default_run_dir(cfg.dataset)
    if dist.get_world_size() > 1:  # every rank needs the leader's name (its clock)
        run_dir = Path(_leaders(str(run_dir)))
    leader = dist.is_leader()
    if leader:
        check_new_run_dir(run_dir)
    if cfg.hidden:  # before the data: a model that cannot fit is refused at once
        widths = {"in_features": 1, "hidden": list(cfg.hidden), "out_features": 1}
        check_memory(widths, 1, cfg.optimizer)  # the data decide the batch
    _random.manual_seed(cfg.seed)
    splits = load_splits(cfg)
    arch = architecture(cfg, splits)
    if leader:
        run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_dir) if leader else None
    try:
        if leader:  # another writer may have finished in between
            check_new_run_dir(run_dir, holding_lock=True)
        model = build_mlp(arch)
        opt = make_optimizer(cfg, model.parameters())
        sched = make_scheduler(cfg, opt)
        return _train(cfg, run_dir, splits, arch, model, opt, sched, History())
    finally:
        if lock is not None:
            lock.release()


def _resume(run_dir: Path, overrides: TrainConfig, changes: dict[str, Any]) -> RunResult:
    if not run_dir.is_dir():
        read_run(run_dir)  # says what is wrong with it
    lock = RunLock(run_dir, "train --resume") if dist.is_leader() else None
    try:
        model_state, optim_state, meta = read_run(run_dir)
        cfg = TrainConfig.from_dict(meta["config"])
        fixed = [k for k in changes if settings()[k][1].resume == "fixed"]
        if fixed:
            flags = ", ".join(f"--{k.replace('_', '-')}" for k in fixed)
            raise RunError(
                f"{flags} cannot change when resuming {run_dir} (the saved run's architecture "
                "and data are kept); train a new run with --out to change them"
            )
        for k, v in changes.items():
            setattr(cfg, k, v)
        cfg.progress, cfg.plots, cfg.out = overrides.progress, overrides.plots, str(run_dir)
        cfg.threads = overrides.threads
        if "epochs" not in changes and overrides.epochs != TrainConfig().epochs:
            cfg.epochs = overrides.epochs  # train_run(cfg, resume=...) from Python
        cfg.validate()
        if meta["epoch"] > cfg.epochs:
            raise RunError(
                f"{run_dir} has already trained {meta['epoch']} epochs; give --epochs "
                f"above {meta['epoch']} to continue it"
            )
        best_state, _ = best_weights(run_dir, model_state, meta, cfg.keep)
        dist.barrier_if_initialized()  # every rank has read the run before the leader writes
        if (
            best_state is model_state and dist.is_leader()
        ):  # best/ lags checkpoint/ (a crash between their saves)
            save_best(
                run_dir,
                best_state,
                meta["history"]["best_epoch"],
                meta["history"]["best_val_loss"],
                meta["architecture"],
            )
        splits = load_splits(cfg, meta["dataset"])
        _check_fit(splits, meta["architecture"], cfg, run_dir)
        check_memory(meta["architecture"], min(cfg.batch_size, len(splits.X_train)), cfg.optimizer)
        model = build_mlp(meta["architecture"])
        check_state(model, model_state, run_dir / CHECKPOINT_DIR)
        model.load_state_dict(model_state)
        opt = make_optimizer(cfg, model.parameters())
        sched = make_scheduler(cfg, opt)
        where = run_dir / CHECKPOINT_DIR
        with _damaged(where, "optimizer state"):
            if optim_state is not None:
                opt.load_state_dict(optim_state)
        for group in opt.param_groups:  # the changed settings apply from now on
            for k in ("lr", "momentum", "weight_decay"):
                if k in changes and k in group:
                    group[k] = changes[k]
        if sched is not None and meta.get("scheduler"):
            with _damaged(where, "learning-rate schedule"):
                sched.load_state_dict(meta["scheduler"])
            if "lr" in changes:
                sched.base_lrs = [changes["lr"] for _ in sched.base_lrs]
        with _damaged(where, "random generator state"):
            _random.default_generator().bit_generator.state = meta["rng_state"]
        with _damaged(where, "history"):
            hist = History.from_dict(meta["history"])
        layers = {name for name, _ in layer_names(model)}
        if hist.epoch and set(hist.grad_norms) != layers:
            raise RunError(f"{where}: the saved history's layers {sorted(hist.grad_norms)} are "
                           f"not the model's {sorted(layers)}: the history is damaged")  # fmt: skip
        if hist.stopped == "epochs" and hist.epoch and hist.epoch[-1] < cfg.epochs:
            hist.stopped = ""
        if changes:
            old = TrainConfig.from_dict(meta["config"])
            hist.changes.append(
                {
                    "epoch": meta["epoch"] + 1,
                    **{k: [getattr(old, k), v] for k, v in changes.items()},
                }  # fmt: skip
            )
            if (
                hist.stopped
                and hist.stopped != "epochs"
                and changes.keys() & {"patience", "target_loss", "epochs"}
            ):
                hist.stopped = ""  # new stopping rules: train on
        return _train(
            cfg, run_dir, splits, meta["architecture"], model, opt, sched, hist, best_state or {}
        )
    finally:
        if lock is not None:
            lock.release()


def _check_fit(splits, arch: dict, cfg: TrainConfig, run_dir) -> None:
    """The saved model takes the dataset's features and gives its outputs (the dataset or the
    saved configuration may have changed since)."""
    for what, have, need in (
        ("features", splits.num_features, arch["in_features"]),
        ("outputs", splits.num_outputs, arch["out_features"]),
    ):
        if have != need:
            raise RunError(
                f"the dataset {cfg.dataset} has {have} {what} but the model of {run_dir} has "
                f"{need}: the data or the run's saved configuration changed"
            )


@contextmanager
def _damaged(where: Path, what: str):
    """A saved part that cannot be restored is a RunError naming it, not a traceback."""
    try:
        yield
    except RunError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RuntimeError,
            OverflowError) as e:  # fmt: skip
        raise RunError(f"{where}: the saved {what} is damaged ({e})") from None


def _leaders(text: str) -> str:
    """Rank 0's ``text`` on every rank (the default run directory's name has its time)."""
    data = np.frombuffer(text.encode().ljust(4096, b"\0")[:4096], np.uint8).copy()
    dist.broadcast(data, src=0)
    return data.tobytes().rstrip(b"\0").decode()


def _diverged(hist: History) -> bool:
    return hist.stopped.startswith("diverged")


def _train(cfg, run_dir, splits, arch, model, opt, sched, hist, best=None) -> RunResult:
    loss = loss_fn(cfg.loss, splits.task)
    if not len(splits.X_val):
        cfg.keep = "last"  # no validation loss to choose by
    config = {**cfg.to_dict(), "out": str(run_dir)}
    keep_best = cfg.keep == "best"
    best = best if best is not None else {}
    saved: list[int] = []  # the epochs whose state checkpoint/ holds

    def save(epoch: int, h: History) -> None:
        if _diverged(h):  # a non-finite model is never saved: checkpoint/ keeps the last good
            return
        if not dist.is_leader():  # every rank holds the same state: the leader saves it
            return
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
                if isinstance(v, list) and k not in ("epoch", "seconds", "changes") and v
            },
            "scheduler": sched.state_dict() if sched is not None else None,
            "rng_state": _random.default_generator().bit_generator.state,
        }
        save_checkpoint(run_dir / CHECKPOINT_DIR, model.state_dict(), opt.state_dict(), meta)
        saved.append(epoch)
        # After checkpoint/: a crash between the two saves leaves best/ older than the
        # history's best_epoch, which is then checkpoint/'s own epoch (see best_weights).
        if keep_best and h.best_epoch == epoch and best:
            save_best(run_dir, best, epoch, h.best_val_loss, arch)

    t0 = time.perf_counter()
    hist = fit(
        model,
        loss,
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
        target_standardizer=splits.target_standardizer,
        restore_best=keep_best,
        best_state=best,
    )
    seconds = time.perf_counter() - t0
    dist.barrier_if_initialized()  # the leader's last checkpoint is on disk
    model_epoch: int | None = hist.best_epoch if keep_best and best else hist.epoch[-1]
    if _diverged(hist) and not (keep_best and best):
        # the last epoch's model is not finite: fall back to the last one checkpoint/ holds
        model_epoch = None
        if (run_dir / CHECKPOINT_DIR / "checkpoint.json").exists():
            state, _, meta = read_run(run_dir)
            if finite_state(state):
                model.load_state_dict(state)
                model_epoch = meta["epoch"]
    if model_epoch is not None:
        metrics = _final_metrics(model, loss, splits, hist)
    else:
        metrics = {"dataset": splits.name, "task": splits.task, **_stop_info(hist)}
    metrics.update(model_epoch=model_epoch, keep=cfg.keep, seconds=seconds)
    files = write_outputs(run_dir, cfg, hist, metrics) if dist.is_leader() else {}
    return RunResult(run_dir, metrics, hist, files, model if model_epoch is not None else None)


def _stop_info(hist: History) -> dict[str, Any]:
    return {
        "epochs_run": hist.epoch[-1] if hist.epoch else 0,
        "best_epoch": hist.best_epoch,
        "stopped": hist.stopped,
    }


def _final_metrics(model, loss, splits, hist: History) -> dict[str, Any]:
    """Loss per split (in the targets' original units) and accuracy, or R^2 for regression."""
    metrics: dict[str, Any] = {"dataset": splits.name, "task": splits.task}
    for split in ("train", "val", "test"):
        X, y = getattr(splits, f"X_{split}"), getattr(splits, f"y_{split}")
        r = (
            evaluate(
                model,
                loss,
                (X, y),
                target_standardizer=splits.target_standardizer,
                distributed=True,  # under mpiexec: each rank its share, then the sums
            )
            if len(X)
            else {"loss": math.nan, "accuracy": math.nan}
        )
        metrics[f"{split}_loss"] = r["loss"]
        if splits.task == "classification":
            metrics[f"{split}_accuracy"] = r["accuracy"]
        else:
            metrics[f"{split}_r2"] = _r2(model, X, y) if len(X) > 1 else math.nan
    metrics.update(_stop_info(hist))
    return metrics


def _r2(model, X: np.ndarray, y: np.ndarray) -> float:
    """1 - SSE/SST averaged over outputs: 0 for predicting the split's mean, 1 for perfect.
    (Unchanged by standardising the targets, so computed on them directly.)

    Under data-parallel training each rank predicts its share of the rows and the sums are
    all-reduced, two passes as one process computes them: n, the sums of y and of the squared
    residuals, then the squared deviations from the mean over every rank's rows (float64)."""
    from ..autograd import no_grad
    from ..distributed.training import DataParallel, my_rows, sum_over_ranks

    if DataParallel.active():
        lo, hi = my_rows(len(X))
        X, y = X[lo:hi], y[lo:hi]
    y = np.asarray(y, np.float64)
    if y.ndim == 1:
        y = y[:, None]
    sse = np.zeros(y.shape[1])
    if len(X):
        was_training = model.training
        model.eval()
        try:
            with no_grad():
                out = model(Tensor(X))._data.astype(np.float64)
        finally:
            model.train(was_training)
        sse = ((y - out.reshape(y.shape)) ** 2).sum(0)
    k = y.shape[1]
    sums = np.array(sum_over_ranks(len(y), *y.sum(0), *sse))
    mean, sse = sums[1 : 1 + k] / sums[0], sums[1 + k :]  # sums[0] is n
    sst = np.array(sum_over_ranks(*((y - mean) ** 2).sum(0)))
    return float(np.mean(1 - sse / np.where(sst > 0, sst, np.nan)))


def evaluate_run(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Loss and accuracy (R^2 for regression) of a saved run's model on its dataset's train,
    val and test splits (the same splits: they are determined by the dataset and the seed);
    the same metrics as ``train_run``'s, losses in the targets' original units."""
    model, meta = load_run(run_dir)
    cfg = TrainConfig.from_dict(meta["config"])
    splits = load_splits(cfg, meta["dataset"])
    _check_fit(splits, meta["architecture"], cfg, run_dir)
    hist = History.from_dict(meta["history"])
    metrics = _final_metrics(model, loss_fn(cfg.loss, splits.task), splits, hist)
    keep = meta["config"].get("keep", "last")
    metrics.update(checkpoint_epoch=meta["epoch"], model_epoch=meta["model_epoch"], keep=keep)
    if meta.get("model_note"):
        metrics.update(keep="last", note=meta["model_note"])
    return metrics
