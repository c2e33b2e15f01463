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
      .lock            held (fcntl.flock) by the one process writing the run

``keep="best"`` (the default when there is a validation split) reports, evaluates and predicts
with the model of the epoch with the lowest validation loss: on small noisy data the last epoch
is often an overfit one. ``keep="last"`` uses the last epoch's model. A model that is not
finite (a diverged run) is never saved, kept or reported.

For regression the model is trained on standardised targets (fitted on the training split,
kept in the checkpoint as ``dataset.target_standardizer``), but every loss written above is in
the targets' original units, and ``predict`` answers in them too.

The checkpoint's metadata holds everything needed to rebuild and continue the run:
architecture, hyperparameters, dataset (with its standardiser), seed, epoch, metrics, the
history so far and the random generator's state, so ``resume`` gives the same parameters as a
run that was never interrupted.

The modules: ``config`` (the settings, declared once), ``build`` (model, loss, optimizer,
data, memory check), ``store`` (the directory: lock, atomic files, reading back),
``training`` (train, resume, evaluate), ``predict``.

>>> import tempfile
>>> r = train_run(TrainConfig(dataset="iris", hidden=(8,), epochs=3, out=tempfile.mkdtemp(),
...                           progress=False, plots=False))
>>> sorted(r.metrics)[:3]
['best_epoch', 'dataset', 'epochs_run']
"""

from .build import OneHotMSELoss, build_mlp, check_architecture, model_memory
from .config import LOSS_NAMES, RunError, Setting, TrainConfig, settings
from .predict import predict_run
from .store import BEST_DIR, CHECKPOINT_DIR, RunLock, load_run
from .training import RunResult, evaluate_run, train_run

__all__ = [
    "TrainConfig",
    "RunResult",
    "build_mlp",
    "train_run",
    "evaluate_run",
    "predict_run",
    "load_run",
    "RunError",
]
