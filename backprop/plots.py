"""Pictures of a training run: loss and accuracy curves, and per-layer gradient norms.

Matplotlib with the Agg backend, so no display is needed.

>>> import tempfile, os
>>> from backprop.train import History
>>> h = History(epoch=[1, 2], train_loss=[1.0, 0.5], train_accuracy=[0.5, 0.8],
...             val_loss=[1.1, 0.7], val_accuracy=[0.4, 0.7], lr=[0.1, 0.1], seconds=[1, 1],
...             grad_norms={"0": [0.3, 0.2]})
>>> d = tempfile.mkdtemp()
>>> plot_curves(h, os.path.join(d, "curves.png")).endswith("curves.png")
True
"""

from __future__ import annotations

import math
import os

from .train import History


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _has(values) -> bool:
    return any(not math.isnan(v) for v in values)


def plot_curves(hist: History, path: str | os.PathLike, title: str = "") -> str:
    """Loss (left) and, for classification, accuracy (right) per epoch, train and validation."""
    plt = _pyplot()
    show_acc = _has(hist.train_accuracy)
    fig, axes = plt.subplots(1, 2 if show_acc else 1, figsize=(11 if show_acc else 6, 4))
    axes = list(axes) if show_acc else [axes]
    ax = axes[0]
    ax.plot(hist.epoch, hist.train_loss, "o-", ms=3, label="train")
    if _has(hist.val_loss):
        ax.plot(hist.epoch, hist.val_loss, "s-", ms=3, label="validation")
        ax.axvline(hist.best_epoch, color="grey", ls=":", lw=1, label="best validation")
    ax.set(xlabel="epoch", ylabel="loss", title="loss")
    if min(hist.train_loss) > 0:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    if show_acc:
        ax = axes[1]
        ax.plot(hist.epoch, hist.train_accuracy, "o-", ms=3, label="train")
        if _has(hist.val_accuracy):
            ax.plot(hist.epoch, hist.val_accuracy, "s-", ms=3, label="validation")
        ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return os.fspath(path)


def plot_gradients(
    hist: History, path: str | os.PathLike, labels: dict | None = None, title: str = ""
) -> str:
    """The mean L2 norm of each layer's gradient per epoch, on a log scale: layers near the
    input with much smaller norms than those near the output are vanishing gradients (003)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, values) in enumerate(hist.grad_norms.items()):
        label = (labels or {}).get(name, f"layer {i + 1} ({name})")
        ax.plot(hist.epoch[: len(values)], values, "o-", ms=3, label=label)
    ax.set(
        xlabel="epoch",
        ylabel="gradient norm ||dL/dW||",
        title=title or "per-layer gradient norm (mean over the epoch's steps)",
    )
    if all(v > 0 for vs in hist.grad_norms.values() for v in vs):
        ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return os.fspath(path)
