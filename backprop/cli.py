"""The ``backprop`` command: each subcommand parses flags and calls a library function.

backprop train                                   an MLP on digits with the defaults
backprop train --dataset iris --hidden 16,16 --activation tanh --optimizer adam --lr 0.01
backprop train --resume runs/digits-20260101-120000 --epochs 60
backprop evaluate runs/latest
backprop predict runs/latest --input samples.csv
backprop datasets
backprop example --list
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from . import optim
from .nn.activations import ACTIVATIONS
from .nn.init import INITIALIZERS
from .runs import LOSS_NAMES, TrainConfig

DEFAULTS = TrainConfig()


class _Parser(argparse.ArgumentParser):
    """Bad flags get one line naming the problem, not the whole usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _hidden(text: str) -> tuple[int, ...]:
    """``"64,32"`` (or ``"64 32"``) -> (64, 32); ``"none"`` or ``""`` -> no hidden layer."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        sizes = tuple(int(t) for t in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"hidden sizes must be positive integers separated by commas, like 64,32; got {text!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def _positive(kind):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return v

    parse.__name__ = kind.__name__
    return parse


def add_train_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        formatter_class=_Formatter,
        help="train an MLP on a dataset and write metrics, plots and a checkpoint",
        description="Train a multilayer perceptron with mini-batch SGD (or Adam, AdamW, "
        "RMSprop) and write a run directory: metrics.json, history.csv, curves.png, "
        "gradients.png and checkpoint/. With no flags: digits, one hidden layer of 64 ReLU "
        "units, SGD with momentum.",
    )
    d = DEFAULTS
    p.add_argument(
        "--dataset",
        default=d.dataset,
        help="a bundled dataset (see `backprop datasets`), a CSV file (last column "
        "is the target) or a directory of MNIST IDX files",
    )
    p.add_argument(
        "--hidden",
        type=_hidden,
        default=d.hidden,
        metavar="SIZES",
        help="hidden layer widths, comma-separated (e.g. 128,64); 'none' for none",
    )
    p.add_argument(
        "--activation",
        choices=list(ACTIVATIONS),
        default=d.activation,
        help="activation after each hidden layer (003's table)",
    )
    p.add_argument(
        "--loss",
        choices=["auto", *LOSS_NAMES],
        default=d.loss,
        help="auto: cross_entropy for classification, mse for regression; "
        "mse on a classification set compares outputs with one-hot targets",
    )
    p.add_argument(
        "--optimizer", choices=list(optim.OPTIMIZERS), default=d.optimizer, help="the update rule"
    )
    p.add_argument("--lr", type=_positive(float), default=d.lr, help="learning rate (eta)")
    p.add_argument(
        "--momentum",
        type=float,
        default=d.momentum,
        help="momentum for sgd and rmsprop (0 for 003's plain SGD)",
    )
    p.add_argument(
        "--weight-decay",
        type=float,
        default=d.weight_decay,
        help="L2 penalty (decoupled for adamw)",
    )
    p.add_argument(
        "--schedule",
        choices=["none", *optim.SCHEDULES],
        default=d.schedule,
        help="learning-rate schedule: step (x0.1 every epochs/3), exponential "
        "(x0.95 per epoch), cosine (to 0 at the last epoch)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive(int),
        default=d.batch_size,
        help="samples per step: 1 is 003's SGD, more is mini-batch SGD",
    )
    p.add_argument(
        "--epochs",
        type=_positive(int),
        default=None,
        help=f"the last epoch to train (default {d.epochs}; with --resume, the saved run's)",
    )
    p.add_argument(
        "--patience",
        type=_positive(int),
        default=d.patience,
        help="stop early when the validation loss has not improved for this many epochs",
    )
    p.add_argument(
        "--target-loss",
        type=float,
        default=d.target_loss,
        help="stop once the training loss is at or below this",
    )
    p.add_argument(
        "--init",
        choices=list(INITIALIZERS),
        default=d.init,
        help="weight initialisation (default: PyTorch's U(-1/sqrt(in), 1/sqrt(in)); "
        "small: 003's small random numbers, N(0, 0.01^2))",
    )
    p.add_argument(
        "--dropout",
        type=float,
        default=d.dropout,
        help="dropout probability after each hidden activation",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=d.seed,
        help="seeds weights, splits and shuffling: the same seed gives the same run",
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help="share of the data held out for validation",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=d.test_fraction,
        help="share of the data held out for the final test",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="RUN_DIR",
        help="run directory (default runs/<dataset>-<date>-<time>)",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint (its saved "
        "settings are used; only --epochs may change)",
    )
    p.add_argument(
        "--keep",
        choices=["best", "last"],
        default=d.keep,
        help="which epoch's model to report, evaluate and predict with: best (the "
        "lowest validation loss, saved in best/; last when there is no validation "
        "split) or last (checkpoint/ always holds the last, for --resume)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument(
        "--compile",
        action="store_true",
        help="trace the training step once and replay it (bp.compile); faster "
        "for small networks, same numbers",
    )
    p.add_argument("--no-plots", action="store_true", help="skip curves.png and gradients.png")
    p.set_defaults(func=cmd_train)
    return p


def cmd_train(args) -> int:
    from .runs import train_run

    cfg = TrainConfig(
        dataset=args.dataset,
        hidden=args.hidden,
        activation=args.activation,
        loss=args.loss,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        batch_size=args.batch_size,
        epochs=args.epochs or DEFAULTS.epochs,
        patience=args.patience,
        target_loss=args.target_loss,
        init=args.init,
        dropout=args.dropout,
        seed=args.seed,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        out=args.out,
        progress=not args.no_progress,
        plots=not args.no_plots,
        compile=args.compile,
        keep=args.keep,
    )
    if args.resume and args.epochs is None:
        from .runs import load_run

        cfg.epochs = load_run(args.resume)[1]["config"]["epochs"]
    result = train_run(cfg, resume=args.resume)
    m = result.metrics
    print()
    print(_summary(m))
    _link_latest(result.run_dir)
    print(f"run directory: {result.run_dir}")
    for name, path in result.files.items():
        print(f"  {name + ':':<11} {path}")
    return 0


def _summary(m: dict) -> str:
    parts = []
    for split in ("train", "val", "test"):
        acc = m.get(f"{split}_accuracy")
        s = f"{split} loss {m[f'{split}_loss']:.4f}"
        r2 = m.get(f"{split}_r2")
        if acc is not None and not math.isnan(acc):
            s += f", accuracy {100 * acc:.2f}%"
        elif r2 is not None and not math.isnan(r2):
            s += f", R^2 {r2:.3f}"
        parts.append(s)
    head = f"{m['dataset']}: {m['epochs_run']} epochs"
    if "seconds" in m:
        head += f" in {m['seconds']:.1f} s"
    if m.get("stopped") and m["stopped"] != "epochs":
        head += f" ({m['stopped']})"
    if m.get("keep") == "best":
        head += f"; model of epoch {m['model_epoch']} (best validation loss)"
    return head + "\n  " + "\n  ".join(parts)


def _link_latest(run_dir: Path) -> None:
    """Point runs/latest at the newest run when it lives under runs/ (best effort)."""
    latest = run_dir.parent / "latest"
    if run_dir.parent.name != "runs" or run_dir.name == "latest":
        return
    try:
        if latest.is_symlink():
            latest.unlink()
        if not latest.exists():
            latest.symlink_to(run_dir.name)
    except OSError:
        pass


def add_evaluate_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "evaluate",
        formatter_class=_Formatter,
        help="loss and accuracy of a saved run on its train, validation and test splits",
        description="Load RUN_DIR's checkpoint, rebuild its dataset splits (same dataset and "
        "seed) and print loss and accuracy on each.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by `backprop train`")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)
    return p


def cmd_evaluate(args) -> int:
    from .runs import evaluate_run

    m = evaluate_run(args.run_dir)
    if args.json:
        print(json.dumps(m, indent=2))
    else:
        print(_summary(m))
    return 0


def add_predict_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "predict",
        formatter_class=_Formatter,
        help="predict with a saved run for the rows of a CSV file",
        description="Read a CSV of features (with a header naming them, or just the feature "
        "columns in training order), standardise them as in training, and print a CSV of "
        "predictions: class and probabilities, or the predicted value.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by `backprop train`")
    p.add_argument("--input", required=True, metavar="FILE.csv", help="the features to predict")
    p.add_argument(
        "--output",
        default=None,
        metavar="FILE.csv",
        help="write the predictions here instead of printing them",
    )
    p.set_defaults(func=cmd_predict)
    return p


def cmd_predict(args) -> int:
    from .runs import predict_run

    text = predict_run(args.run_dir, args.input)
    if args.output:
        Path(args.output).write_text(text)
        print(f"predictions: {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def add_datasets_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("datasets", help="list the bundled datasets")
    p.set_defaults(func=cmd_datasets)
    return p


def cmd_datasets(args) -> int:
    from .data import available_datasets

    for name, text in available_datasets().items():
        print(f"{name:<14} {text}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="backprop",
        description="Train neural networks and show the work of backprop.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_train_parser(sub)
    add_evaluate_parser(sub)
    add_predict_parser(sub)
    add_datasets_parser(sub)
    from .explain.cli import add_parser as add_example

    add_example(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from .checkpoint import CheckpointError
    from .data import DataError
    from .runs import RunError

    try:
        return args.func(args) or 0
    except (RunError, DataError, CheckpointError, FileNotFoundError) as e:
        print(f"backprop {args.command}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `backprop predict ... | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"\nbackprop {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
