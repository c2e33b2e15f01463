"""The training loop: 003's SGD and mini-batch SGD, with the bookkeeping a learner wants.

``fit`` runs, for each epoch: shuffle, then for each mini-batch forward, loss, backward and an
optimizer step; then it evaluates on the validation set and records the epoch in ``History``
(loss, accuracy for classification, learning rate, seconds, and the gradient norm of every
layer: the vanishing-gradient signal of 003). It stops after ``epochs``, when the training
loss reaches ``target_loss``, or when the validation loss has not improved for ``patience``
epochs (early stopping), whichever comes first.

With ``restore_best=True`` (and a validation set) ``fit`` keeps a copy of the parameters of
the epoch with the lowest validation loss -- an in-memory copy of each array, made only when the
loss improves, no extra forward pass -- and loads them back into the model when training ends,
so the model returned is the best-validation one rather than the last (often overfit) one,
nanoGPT's habit of keeping the best checkpoint. The history still records every epoch.

Regression targets standardised for training (``Splits.target_standardizer``) can be passed
as ``target_standardizer``: the model still learns the standardised targets, but every loss
``fit`` and ``evaluate`` report is in the targets' original units (outputs and targets mapped
back before the loss), so ``History``, ``target_loss`` and the metrics mean what they say.

``batch_size=1`` is 003's stochastic gradient descent (one shuffled sample per step);
``batch_size=B`` its mini-batch SGD (the gradient averaged over B samples); a batch as large
as the dataset is plain gradient descent.

>>> import numpy as np, backprop as bp
>>> _ = bp.manual_seed(0)
>>> X = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
>>> y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
>>> model = bp.nn.Sequential(bp.nn.Linear(2, 16), bp.nn.Tanh(), bp.nn.Linear(16, 2))
>>> hist = bp.train.fit(model, bp.nn.CrossEntropyLoss(), bp.optim.SGD(model.parameters(), lr=0.5),
...                     (X, y), epochs=30, batch_size=16, progress=False)
>>> hist.train_loss[-1] < hist.train_loss[0]
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .autograd import no_grad
from .data import DataLoader, Dataset, Standardizer, TensorDataset
from .distributed.training import DataParallel, my_rows, sum_over_ranks
from .nn.module import Module
from .optim import LRScheduler, Optimizer
from .tensor import Tensor

__all__ = ["History", "fit", "evaluate", "layer_names"]


@dataclass
class History:
    """What ``fit`` recorded, one entry per epoch (lists of equal length).

    ``grad_norms[layer][e]`` is the mean over epoch ``e``'s steps of the L2 norm of that
    layer's gradient (weights and bias together). ``stopped`` says why training ended.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)
    best_val_loss: float = math.inf
    best_epoch: int = 0
    stopped: str = ""
    # settings changed on resume: [{"epoch": first epoch with them, "lr": [old, new], ...}]
    changes: list[dict[str, Any]] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per epoch (the CSV's rows)."""
        out = []
        for i, e in enumerate(self.epoch):
            row = {
                "epoch": e,
                "train_loss": self.train_loss[i],
                "train_accuracy": self.train_accuracy[i],
                "val_loss": self.val_loss[i],
                "val_accuracy": self.val_accuracy[i],
                "lr": self.lr[i],
                "seconds": self.seconds[i],
            }
            row.update({f"grad_norm/{k}": v[i] for k, v in self.grad_norms.items()})
            out.append(row)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def layer_names(model: Module) -> list[tuple[str, list]]:
    """``[(name, parameters)]`` for each module that owns parameters (the "layers").

    >>> import backprop as bp
    >>> net = bp.nn.Sequential(bp.nn.Linear(2, 3), bp.nn.ReLU(), bp.nn.Linear(3, 1))
    >>> [n for n, _ in layer_names(net)]
    ['0', '2']
    """
    out = []
    for name, m in model.named_modules():
        params = [p for p in m._parameters.values() if p is not None]
        if params:
            out.append((name or type(m).__name__, params))
    return out


def _as_loader(data, batch_size: int, shuffle: bool) -> DataLoader | Iterable:
    if data is None or isinstance(data, DataLoader):
        return data
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
    if isinstance(data, tuple) and len(data) == 2:
        return DataLoader(TensorDataset(*data), batch_size=batch_size, shuffle=shuffle)
    return data  # any iterable of (inputs, targets) batches


def _n_correct(out: np.ndarray, y: np.ndarray) -> int | None:
    """Correct predictions in a batch, or None when the task is not classification."""
    if y.dtype.kind not in "iu" or out.ndim != 2:
        return None
    return int((out.argmax(axis=1) == y).sum())


def _original_units(loss_fn: Callable, st: Standardizer | None) -> Callable:
    """``loss_fn`` on outputs and targets mapped back from standardised to original units."""
    if st is None:
        return loss_fn

    def loss(out: Tensor, y) -> Tensor:
        y = y._data if isinstance(y, Tensor) else np.asarray(y)
        return loss_fn(Tensor(st.inverse_transform(out._data)), Tensor(st.inverse_transform(y)))

    return loss


def evaluate(
    model: Module,
    loss_fn: Callable,
    data,
    batch_size: int = 1024,
    target_standardizer: Standardizer | None = None,
    distributed: bool = False,
) -> dict[str, float]:
    """Loss (mean per sample) and, for class-index targets, accuracy of ``model`` on ``data``.

    Runs in ``eval()`` mode without recording a graph, then restores the model's mode. With
    ``target_standardizer`` the loss is in the targets' original units (see the module doc).
    With ``distributed`` (and a ``bp.distributed`` process group) each rank evaluates its
    share of every batch and the sums are all-reduced: every rank returns the whole data's
    metrics, and every rank must call it.

    >>> import numpy as np, backprop as bp
    >>> m = bp.nn.Linear(2, 2)
    >>> r = evaluate(m, bp.nn.CrossEntropyLoss(), (np.zeros((4, 2), np.float32), np.zeros(4, int)))
    >>> sorted(r)
    ['accuracy', 'loss']
    """
    loader = _as_loader(data, batch_size, shuffle=False)
    loss_fn = _original_units(loss_fn, target_standardizer)
    was_training = model.training
    model.eval()
    total, n, correct = 0.0, 0, 0
    classify = True
    shard = distributed and DataParallel.active()
    try:
        with no_grad():
            for x, y in loader:
                if shard:
                    lo, hi = my_rows(len(x))
                    if hi == lo:
                        continue
                    x, y = x[lo:hi], y[lo:hi]
                out = model(x)
                b = len(x)
                total += float(loss_fn(out, y).item()) * b
                n += b
                c = _n_correct(out._data, y._data if isinstance(y, Tensor) else np.asarray(y))
                classify = classify and c is not None
                correct += c or 0
    finally:
        model.train(was_training)
    if shard:
        total, n, correct, classify = sum_over_ranks(total, n, correct, not classify)
        classify = not classify
    if n == 0:
        raise ValueError("evaluate: the dataset is empty")
    return {"loss": total / n, "accuracy": correct / n if classify else math.nan}


def fit(
    model: Module,
    loss_fn: Callable,
    optimizer: Optimizer,
    train_data,
    *,
    val_data=None,
    epochs: int = 10,
    batch_size: int = 32,
    shuffle: bool = True,
    target_loss: float | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    scheduler: LRScheduler | None = None,
    history: History | None = None,
    on_epoch_end: Callable[[int, History], None] | None = None,
    progress: bool = True,
    target_standardizer: Standardizer | None = None,
    restore_best: bool = False,
    best_state: dict[str, Any] | None = None,
) -> History:
    """Train ``model`` on ``train_data`` and return its :class:`History`.

    ``train_data`` and ``val_data`` are ``(X, y)`` arrays, a ``Dataset`` or a ``DataLoader``
    (shuffling draws from ``bp.random.default_generator()``, so ``bp.manual_seed`` makes a run
    reproducible). ``epochs`` is the last epoch number to run: pass the ``history`` of an
    interrupted run and ``fit`` continues after its last epoch. ``on_epoch_end(epoch,
    history)`` runs after each epoch (the CLI saves a checkpoint there). ``progress`` shows a
    tqdm bar with the loss and speed. ``target_standardizer``: the losses
    recorded (and compared with ``target_loss``) are in the targets' original units.

    ``restore_best``: at the end, load the weights of ``history.best_epoch`` (the lowest
    validation loss) back into the model; without ``val_data`` it does nothing (the best
    training loss says nothing about overfitting). ``best_state`` is the dict that holds those
    weights: ``fit`` refills it, with copies, whenever the validation loss improves, so
    ``on_epoch_end`` can save it when ``history.best_epoch == epoch``; pass the saved weights
    back in with the ``history`` of an interrupted run so the best so far survives the resume.

    >>> import numpy as np, backprop as bp
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 3)).astype(np.float32)
    >>> y = (X.sum(1, keepdims=True) + rng.normal(size=(64, 1))).astype(np.float32)
    >>> model, best = bp.nn.Linear(3, 1), {}
    >>> hist = bp.train.fit(model, bp.nn.MSELoss(), bp.optim.SGD(model.parameters(), lr=0.1),
    ...                     (X[:48], y[:48]), val_data=(X[48:], y[48:]), epochs=20,
    ...                     restore_best=True, best_state=best, progress=False)
    >>> all(np.array_equal(v, best[k]) for k, v in model.state_dict().items())
    True
    """
    loader = _as_loader(train_data, batch_size, shuffle)
    val_loader = _as_loader(val_data, 1024, shuffle=False)
    # data parallel under mpiexec (bp.distributed): each rank computes its share of each batch
    par = DataParallel(model) if DataParallel.active() else None
    hist = history if history is not None else History()
    layers = layer_names(model)
    for name, _ in layers:
        hist.grad_norms.setdefault(name, [])
    start = hist.epoch[-1] + 1 if hist.epoch else 1
    best = best_state if best_state is not None else {}
    restore_best = restore_best and val_loader is not None
    if hist.stopped and hist.stopped != "epochs":
        # a finished run (target reached or stopped early) stays finished
        return _restore_best(model, best, hist) if restore_best else hist
    steps = len(loader) if hasattr(loader, "__len__") else None
    progress = progress and (par is None or par.rank == 0)
    bar = _progress_bar(progress, (epochs - start + 1) * steps if steps else None)
    stale = _epochs_since_best(hist)
    reported_loss = _original_units(loss_fn, target_standardizer)
    try:
        for epoch in range(start, epochs + 1):
            t0 = time.perf_counter()
            model.train()
            total, n, correct, classify = 0.0, 0, 0, True
            norms = np.zeros(len(layers))
            n_steps = 0
            for x, y in loader:
                if par is not None:  # this rank's share of the global batch
                    x, y = par.shard(x, y)
                b = len(x)
                if b:
                    out = model(x)  # forward: (batch, outputs)
                    loss = loss_fn(out, y)
                    optimizer.zero_grad()
                    if par is None:
                        loss.backward()  # backward: every parameter's .grad
                    else:  # ... and the mean over the ranks of it
                        par.backward(loss)
                else:  # an empty share (fewer rows than ranks): only the all-reduce
                    with no_grad():
                        model(x)  # draws what the other ranks draw (dropout)
                    optimizer.zero_grad()
                    par.backward_without_data()
                for i, (_, params) in enumerate(layers):
                    norms[i] += math.sqrt(
                        sum(float(np.vdot(p._grad, p._grad)) for p in params if p._grad is not None)
                    )
                optimizer.step()  # update: w <- w - lr * dL/dw (for SGD)
                n_steps += 1
                if bar is not None:
                    bar.update(1)
                if not b:
                    continue
                if target_standardizer is None:
                    total += loss.item() * b
                else:  # the same batch's loss in original units
                    with no_grad():
                        total += reported_loss(out, y).item() * b
                n += b
                c = _n_correct(out._data, y._data)
                classify = classify and c is not None
                correct += c or 0
            if par is not None:  # the whole epoch's sums, over the ranks
                total, n, correct = sum_over_ranks(total, n, correct)
            if n == 0:
                raise ValueError("fit: the training data is empty")
            hist.epoch.append(epoch)
            hist.train_loss.append(total / n)
            hist.train_accuracy.append(correct / n if classify else math.nan)
            hist.lr.append(float(optimizer.param_groups[0]["lr"]))
            for i, (name, _) in enumerate(layers):
                hist.grad_norms[name].append(float(norms[i]) / max(n_steps, 1))
            if val_loader is not None:
                v = evaluate(
                    model,
                    loss_fn,
                    val_loader,
                    target_standardizer=target_standardizer,
                    distributed=par is not None,
                )
                hist.val_loss.append(v["loss"])
                hist.val_accuracy.append(v["accuracy"])
            else:
                hist.val_loss.append(math.nan)
                hist.val_accuracy.append(math.nan)
            if scheduler is not None:
                scheduler.step()
            hist.seconds.append(time.perf_counter() - t0)

            watched = hist.val_loss[-1] if val_loader is not None else hist.train_loss[-1]
            if watched < hist.best_val_loss - min_delta:
                hist.best_val_loss, hist.best_epoch, stale = watched, epoch, 0
                if restore_best:  # copies: state_dict() shares the parameters' memory
                    best.clear()
                    best.update({k: v.clone() for k, v in model.state_dict().items()})
            else:
                stale += 1
            if not math.isfinite(hist.train_loss[-1]):
                hist.stopped = "diverged: the training loss is not finite (lower the lr)"
            elif not _finite(model):
                hist.stopped = "diverged: the weights are not finite (lower the lr)"
            elif target_loss is not None and hist.train_loss[-1] <= target_loss:
                hist.stopped = f"target loss {target_loss} reached"
            elif patience is not None and stale >= patience:
                hist.stopped = f"early stopping: no improvement for {patience} epochs"
            elif epoch == epochs:
                hist.stopped = "epochs"
            if bar is not None:
                bar.set_description_str(_postfix(hist, n / hist.seconds[-1]), refresh=False)
            if on_epoch_end is not None:
                on_epoch_end(epoch, hist)
            if hist.stopped:
                break
    finally:
        if bar is not None:
            bar.close()
        if par is not None:
            par.close()
    return _restore_best(model, best, hist) if restore_best else hist


def _restore_best(model: Module, best: dict[str, Any], hist: History) -> History:
    # Empty when the best epoch predates what is known (an old run resumed): keep the last.
    if best:
        model.load_state_dict(best)
    return hist


def _finite(model: Module) -> bool:
    return all(bool(np.isfinite(p._data).all()) for p in model.parameters())


def _epochs_since_best(hist: History) -> int:
    return hist.epoch[-1] - hist.best_epoch if hist.epoch else 0


def _postfix(hist: History, samples_per_s: float) -> str:
    """The metrics after the bar, short enough that an 80-column terminal shows them whole
    (the speed, last, is what a narrower one cuts)."""
    parts = [f"epoch {hist.epoch[-1]}", f"loss {hist.train_loss[-1]:.4f}"]
    if not math.isnan(hist.train_accuracy[-1]):
        parts.append(f"acc {hist.train_accuracy[-1]:.3f}")
    if not math.isnan(hist.val_loss[-1]):
        parts.append(f"val_loss {hist.val_loss[-1]:.4f}")
    if not math.isnan(hist.val_accuracy[-1]):
        parts.append(f"val_acc {hist.val_accuracy[-1]:.3f}")
    speed = f"{samples_per_s / 1000:.0f}k" if samples_per_s >= 10_000 else f"{samples_per_s:.0f}"
    parts.append(f"{speed}/s")
    return " ".join(parts)


# The bar takes what the metrics leave (at least 8 columns); no elapsed/remaining times, which
# would crowd the metrics out of an 80-column line.
BAR_FORMAT = "{percentage:3.0f}%|{bar}| {desc}"


def _progress_bar(enabled: bool, total: int | None):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="step", dynamic_ncols=True, leave=True, bar_format=BAR_FORMAT)
