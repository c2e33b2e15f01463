"""Building a run's pieces from its settings: the MLP, its loss, optimizer and schedule, the
dataset splits, and a check that the model fits in memory before anything is allocated.

>>> build_mlp({"in_features": 4, "hidden": [8], "out_features": 3, "activation": "tanh"})
Sequential(
  (0): Linear(in_features=4, out_features=8, bias=True)
  (1): Tanh()
  (2): Linear(in_features=8, out_features=3, bias=True)
)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn, optim
from ..backend import available_memory
from ..data import DataError, load_dataset
from ..nn import functional as F
from ..nn.activations import ACTIVATIONS
from ..nn.init import INITIALIZERS
from ..tensor import Tensor
from .config import RunError, TrainConfig

__all__ = ["build_mlp", "check_architecture", "model_memory"]


def build_mlp(architecture: dict[str, Any]) -> nn.Sequential:
    """An MLP from its description: Linear, activation (and Dropout) per hidden layer, then a
    Linear output layer. Layer names are PyTorch's (``0.weight``, ``2.weight``...)."""
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


def _is_int(x: Any, low: int = 1) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= low


def check_architecture(arch: Any, where: str = "the architecture") -> dict[str, Any]:
    """Raise :class:`RunError` unless ``arch`` describes an MLP :func:`build_mlp` can build:
    the types, ranges and names of every entry (a saved run's metadata is checked this way
    before anything is built from it)."""
    if not isinstance(arch, dict):
        raise RunError(f"{where} is not a JSON object")
    for key in ("in_features", "out_features"):
        if not _is_int(arch.get(key)):
            raise RunError(f"{where}: {key} must be a positive integer, got {arch.get(key)!r}")
    hidden = arch.get("hidden", [])
    if not isinstance(hidden, list) or not all(_is_int(h) for h in hidden):
        raise RunError(f"{where}: hidden must be a list of positive integers, got {hidden!r}")
    activation = arch.get("activation", "relu")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise RunError(
            f"{where}: unknown activation {arch.get('activation')!r} "
            f"(known: {', '.join(ACTIVATIONS)})"
        )
    init = arch.get("init", "default")
    if not isinstance(init, str) or init not in INITIALIZERS:
        raise RunError(f"{where}: unknown init {arch.get('init')!r}")
    dropout = arch.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise RunError(f"{where}: dropout must be a number in [0, 1), got {dropout!r}")
    return arch


# ---------------------------------------------------------------------------------------------
# Memory: refuse a model that cannot fit before allocating it
# ---------------------------------------------------------------------------------------------
def _gib(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n / 2**10:.1f} KiB"


def model_memory(arch: dict[str, Any], batch_size: int = 32, optimizer: str = "sgd") -> int:
    """Bytes a run of this MLP needs, roughly: float32 parameters, their gradients, the
    optimizer's buffers (one for SGD/RMSprop momentum, two for Adam) and the best-epoch copy,
    plus a batch's activations forward and backward.

    >>> model_memory({"in_features": 4, "hidden": [8], "out_features": 3}, batch_size=1)
    1252
    """
    widths = [arch["in_features"], *arch.get("hidden", []), arch["out_features"]]
    params = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    copies = 3 + (2 if optimizer in ("adam", "adamw") else 1)  # weights, grad, best, optimizer
    activations = 3 * batch_size * sum(widths)  # outputs, activations, their gradients
    return 4 * (copies * params + activations)


def check_memory(arch: dict[str, Any], batch_size: int, optimizer: str) -> None:
    """Raise :class:`RunError` when the model would not fit in the memory available."""
    need, have = model_memory(arch, batch_size, optimizer), available_memory()
    if have is not None and need > have:
        widths = [arch["in_features"], *arch.get("hidden", []), arch["out_features"]]
        shape = (
            " -> ".join(map(str, widths))
            if arch["in_features"] > 1
            else (f"with hidden layers {','.join(map(str, arch.get('hidden', [])))}")
        )
        raise RunError(
            f"an MLP {shape} needs about {_gib(need)} of memory "
            f"(parameters, gradients, optimizer state, a batch of {batch_size}) but only "
            f"{_gib(have)} is available: choose smaller --hidden sizes (or --batch-size)"
        )


# ---------------------------------------------------------------------------------------------
# Loss, optimizer, schedule, data
# ---------------------------------------------------------------------------------------------
class OneHotMSELoss(nn.Module):
    """Squared error between the outputs and one-hot class targets (the lectures' squared
    error applied to classification)."""

    def forward(self, input: Tensor, target) -> Tensor:
        t = target._data if isinstance(target, Tensor) else np.asarray(target)
        onehot = np.eye(input.shape[1], dtype=input._data.dtype)[t]
        return F.mse_loss(input, Tensor._wrap(onehot))


def loss_fn(name: str, task: str) -> nn.Module:
    if name == "auto":
        name = "cross_entropy" if task == "classification" else "mse"
    if task == "classification":
        if name == "l1":
            raise RunError("loss 'l1' needs a regression dataset; use cross_entropy or mse")
        return nn.CrossEntropyLoss() if name == "cross_entropy" else OneHotMSELoss()
    if name == "cross_entropy":
        raise RunError("loss 'cross_entropy' needs a classification dataset; use mse or l1")
    return nn.MSELoss() if name == "mse" else nn.L1Loss()


def make_optimizer(cfg: TrainConfig, params) -> optim.Optimizer:
    kwargs: dict[str, Any] = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
    if cfg.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = cfg.momentum
    return optim.OPTIMIZERS[cfg.optimizer](params, **kwargs)


def make_scheduler(cfg: TrainConfig, opt: optim.Optimizer):
    if cfg.schedule == "step":
        return optim.StepLR(opt, step_size=max(1, cfg.epochs // 3), gamma=0.1)
    if cfg.schedule == "exponential":
        return optim.ExponentialLR(opt, gamma=0.95)
    if cfg.schedule == "cosine":
        return optim.CosineAnnealingLR(opt, T_max=cfg.epochs)
    return None


def load_splits(cfg: TrainConfig, dataset_info: dict | None = None):
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
    except (DataError, FileNotFoundError, ValueError) as e:
        raise RunError(str(e)) from None


def architecture(cfg: TrainConfig, splits) -> dict[str, Any]:
    """The MLP a config asks for on a dataset, checked and sized before it is built."""
    arch = {
        "type": "mlp",
        "in_features": splits.num_features,
        "hidden": list(cfg.hidden),
        "out_features": splits.num_outputs,
        "activation": cfg.activation,
        "dropout": cfg.dropout,
        "init": cfg.init,
    }
    check_memory(check_architecture(arch), min(cfg.batch_size, len(splits.X_train)), cfg.optimizer)
    return arch


def finite_state(state: dict[str, Any]) -> bool:
    """Whether every floating-point array of a state dict is finite (no NaN, no inf)."""
    for v in state.values():
        a = np.asarray(v._data if isinstance(v, Tensor) else v)
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            return False
    return True
