"""The training configuration, declared once: each setting's default, type, range, choices,
help text and what ``--resume`` may do with it. ``TrainConfig``, the flags of
``backprop train`` (with their help) and the validation are all built from this declaration.

>>> TrainConfig(lr=0.1).lr
0.1
>>> check_setting("momentum", -1.0)
Traceback (most recent call last):
...
backprop.runs.config.RunError: momentum must be at least 0, got -1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from .. import optim
from ..nn.activations import ACTIVATIONS
from ..nn.init import INITIALIZERS

__all__ = ["RunError", "TrainConfig", "Setting", "settings", "check_setting", "LOSS_NAMES"]

LOSS_NAMES = ("cross_entropy", "mse", "l1")
KEEP = ("best", "last")


class RunError(ValueError):
    """A bad setting or a run directory that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Setting:
    """How one field of :class:`TrainConfig` is given, checked and shown.

    ``parse`` turns command-line text into a value; ``low``/``high`` bound numbers (``open``
    excludes the bound itself); ``choices`` lists the allowed names; ``resume`` says what
    ``--resume`` does with the flag: ``"fixed"`` (the saved run's architecture or data: giving
    it is an error), ``"change"`` (it applies from the next epoch and is recorded) or
    ``"session"`` (this invocation only: progress bar, plots). ``flag`` is the command-line
    spelling (``""`` for none); ``negate`` makes a boolean a ``--no-...`` switch.
    """

    help: str
    parse: Callable[[str], Any] | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    resume: str = "fixed"
    flag: str | None = None
    negate: bool = False
    metavar: str | None = None
    shown_default: str | None = None  # how --help shows the default, when not the value itself


def setting(default: Any, help: str, **kw: Any) -> Any:
    """A dataclass field carrying its :class:`Setting` as metadata."""
    return field(default=default, metadata={"setting": Setting(help, **kw)})


def _hidden(text: str) -> tuple[int, ...]:
    """``"64,32"`` (or ``"64 32"``) -> (64, 32); ``"none"`` or ``""`` -> no hidden layer."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(int(t) for t in text.replace(",", " ").split())
    except ValueError:
        raise RunError(
            f"hidden sizes must be positive integers separated by commas, like 64,32; got {text!r}"
        ) from None


def _number(kind: type) -> Callable[[str], Any]:
    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            raise RunError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None

    parse.__name__ = kind.__name__
    return parse


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def optional(text: str):
        return None if text.strip().lower() in ("none", "off", "") else parse(text)

    optional.__name__ = parse.__name__
    return optional


FLOAT, INT = _number(float), _number(int)


@dataclass
class TrainConfig:
    """Every setting of a training run (the flags of ``backprop train``)."""

    dataset: str = setting(
        "digits",
        "a bundled dataset (see `backprop datasets`), a CSV file (last column is the target) "
        "or a directory of MNIST IDX files",
    )
    hidden: tuple[int, ...] = setting(
        (64,),
        "hidden layer widths, comma-separated (e.g. 128,64); 'none' for none",
        parse=_hidden,
        low=1,
        metavar="SIZES",
        shown_default="64",
    )
    activation: str = setting(
        "relu", "activation after each hidden layer (003's table)", choices=tuple(ACTIVATIONS)
    )
    loss: str = setting(
        "auto",
        "auto: cross_entropy for classification, mse for regression; mse on a classification "
        "set compares outputs with one-hot targets",
        choices=("auto", *LOSS_NAMES),
    )
    optimizer: str = setting("sgd", "the update rule", choices=tuple(optim.OPTIMIZERS))
    lr: float = setting(
        0.05, "learning rate (eta)", parse=FLOAT, low=0, low_open=True, resume="change"
    )
    momentum: float = setting(
        0.9,
        "momentum for sgd and rmsprop (0 for 003's plain SGD)",
        parse=FLOAT,
        low=0,
        high=1,
        high_open=True,
        resume="change",
    )
    weight_decay: float = setting(
        0.0, "L2 penalty (decoupled for adamw)", parse=FLOAT, low=0, resume="change"
    )
    schedule: str = setting(
        "none",
        "learning-rate schedule: step (x0.1 every epochs/3), exponential (x0.95 per epoch), "
        "cosine (to 0 at the last epoch)",
        choices=("none", *optim.SCHEDULES),
    )
    batch_size: int = setting(
        32,
        "samples per step: 1 is 003's SGD, more is mini-batch SGD",
        parse=INT,
        low=1,
        resume="change",
    )
    epochs: int = setting(
        30,
        "the last epoch to train (with --resume, the saved run's unless given)",
        parse=INT,
        low=1,
        resume="change",
    )
    patience: int | None = setting(
        None,
        "stop early when the validation loss has not improved for this many epochs",
        parse=_optional(INT),
        low=1,
        resume="change",
        shown_default="off",
    )
    target_loss: float | None = setting(
        None,
        "stop once the training loss is at or below this",
        parse=_optional(FLOAT),
        low=0,
        resume="change",
        shown_default="off",
    )
    init: str = setting(
        "default",
        "weight initialisation: default is PyTorch's U(-1/sqrt(in), 1/sqrt(in)); small is "
        "003's small random numbers, N(0, 0.01^2)",
        choices=tuple(INITIALIZERS),
    )
    dropout: float = setting(
        0.0,
        "dropout probability after each hidden activation",
        parse=FLOAT,
        low=0,
        high=1,
        high_open=True,
    )
    seed: int = setting(
        0,
        "seeds weights, splits and shuffling: the same seed gives the same run",
        parse=INT,
        low=0,
        high=2**63 - 1,
    )
    val_fraction: float = setting(
        0.15,
        "share of the data held out for validation",
        parse=FLOAT,
        low=0,
        high=1,
        high_open=True,
    )
    test_fraction: float = setting(
        0.15,
        "share of the data held out for the final test",
        parse=FLOAT,
        low=0,
        high=1,
        high_open=True,
    )
    out: str | None = setting(
        None,
        "run directory: a new or empty folder",
        metavar="RUN_DIR",
        resume="session",
        shown_default="runs/<dataset>-<date>-<time>",
    )
    keep: str = setting(
        "best",
        "which epoch's model to report, evaluate and predict with: best (the lowest "
        "validation loss, saved in best/; last when there is no validation split) or last "
        "(checkpoint/ always holds the last, for --resume)",
        choices=KEEP,
    )
    progress: bool = setting(True, "hide the progress bar", negate=True, resume="session")
    threads: int | None = setting(
        None,
        "threads for the BLAS's matrix products (bp.set_num_threads); under mpiexec, "
        "unless OPENBLAS_NUM_THREADS/OMP_NUM_THREADS/MKL_NUM_THREADS is set, each rank uses "
        "cores // ranks on its node (at most its own cores)",
        parse=_optional(INT),
        low=1,
        resume="session",
        metavar="N",
        shown_default="what NumPy uses",
    )
    plots: bool = setting(True, "skip curves.png and gradients.png", negate=True, resume="session")

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)

    def validate(self) -> TrainConfig:
        """Check every setting and the combinations; raise :class:`RunError` naming the first
        problem. Returns the config, so ``TrainConfig(...).validate()`` chains."""
        for f in fields(self):
            check_setting(f.name, getattr(self, f.name))
        if self.val_fraction + self.test_fraction >= 1:
            raise RunError(
                f"val_fraction {self.val_fraction} + test_fraction {self.test_fraction} must "
                "be below 1, to leave something to train on"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> TrainConfig:
        """The config a run saved (settings a newer or older backprop does not know are
        dropped; missing ones take their defaults), checked."""
        known = {f.name for f in fields(cls)}
        if not isinstance(saved, dict):
            raise RunError("the saved configuration is not a JSON object")
        try:
            return cls(**{k: v for k, v in saved.items() if k in known}).validate()
        except TypeError as e:
            raise RunError(f"the saved configuration is damaged ({e})") from None


def settings() -> dict[str, tuple[Any, Setting]]:
    """``{name: (default, Setting)}`` for every field of :class:`TrainConfig`, in order."""
    out = {}
    for f in fields(TrainConfig):
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        out[f.name] = (default, f.metadata["setting"])
    return out


def _bound(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def check_setting(name: str, value: Any) -> Any:
    """Raise :class:`RunError` when ``value`` is not allowed for setting ``name``; return it."""
    default, s = settings()[name]
    label = f"{name} sizes" if isinstance(default, tuple) else name
    if s.choices is not None:
        if value not in s.choices:
            raise RunError(f"unknown {label} {value!r}: choose one of {', '.join(s.choices)}")
        return value
    if value is None and default is None:
        return value
    values = value if isinstance(default, tuple) else (value,)
    if isinstance(default, tuple) and not isinstance(value, (tuple, list)):
        raise RunError(f"{label} must be a list of integers, got {value!r}")
    for v in values:
        if isinstance(default, bool) or name in ("dataset", "out"):
            if not isinstance(v, (bool if isinstance(default, bool) else str)):
                raise RunError(f"{label} must be a {type(default).__name__}, got {v!r}")
            continue
        wants_int = s.parse in (INT,) or isinstance(default, tuple) or name == "patience"
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or (wants_int and not float(v).is_integer())
        ):
            kind = "an integer" if wants_int else "a number"
            raise RunError(f"{label} must be {kind}, got {v!r}")
        if not math.isfinite(v):
            raise RunError(f"{label} must be a finite number, got {v!r}")
        if s.low is not None and (v <= s.low if s.low_open else v < s.low):
            if (s.low == 0 and s.low_open) or (s.low == 1 and wants_int):
                raise RunError(f"{label} must be positive, got {v!r}")
            word = "greater than" if s.low_open else "at least"
            raise RunError(f"{label} must be {word} {_bound(s.low)}, got {v!r}")
        if s.high is not None and (v >= s.high if s.high_open else v > s.high):
            word = "below" if s.high_open else "at most"
            raise RunError(f"{label} must be {word} {_bound(s.high)}, got {v!r}")
    return value
