"""The ``backprop`` command: each subcommand parses flags and calls a library function.

backprop train                                   an MLP on digits with the defaults
backprop train --dataset iris --hidden 16,16 --activation tanh --optimizer adam --lr 0.01
backprop train --resume runs/digits-20260101-120000 --epochs 60
backprop evaluate runs/latest
backprop predict runs/latest --input samples.csv
backprop datasets
backprop example --list

A mistake (a bad flag, an unusable file or run) is one line on stderr naming the input and
what to do, with exit status 2; a failure of the environment (a full disk, a read-only file
system, no memory) is one line with exit status 1; Ctrl-C is ``backprop <cmd>: interrupted``
with 130. ``BACKPROP_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import sys
from pathlib import Path

from . import __version__, _interrupt, distributed
from .runs.config import RunError, TrainConfig, settings

DEFAULTS = TrainConfig()


class _Parser(argparse.ArgumentParser):
    """Bad flags get one line naming the problem, not the whole usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _flag_type(name: str, parse):
    """An argparse type that parses with the setting's own parser and checks its range."""
    from .runs.config import check_setting

    def convert(text: str):
        try:
            return check_setting(name, parse(text) if parse else text)
        except RunError as e:
            text = str(e)
            raise argparse.ArgumentTypeError(
                text[len(name) + 1 :] if text.startswith(f"{name} must") else text
            ) from None

    convert.__name__ = getattr(parse, "__name__", "str")
    return convert


def _shown(default, s) -> str:
    if s.shown_default is not None:
        return s.shown_default
    if isinstance(default, tuple):
        return ",".join(map(str, default)) or "none"
    return str(default)


def add_train_parser(sub) -> argparse.ArgumentParser:
    """``backprop train``: one flag per setting of :class:`TrainConfig`, built from its
    declaration (help, type, range, choices, default), plus ``--resume``."""
    p = sub.add_parser(
        "train",
        help="train an MLP on a dataset and write metrics, plots and a checkpoint",
        description="Train a multilayer perceptron with mini-batch SGD (or Adam, AdamW, "
        "RMSprop) and write a run directory: metrics.json, history.csv, curves.png, "
        "gradients.png and checkpoint/. With no flags: digits, one hidden layer of 64 ReLU "
        "units, SGD with momentum.",
    )
    for name, (default, s) in settings().items():
        if s.flag == "":
            continue
        flag = s.flag or ("--no-" if s.negate else "--") + name.replace("_", "-")
        kw: dict = {"dest": name, "default": argparse.SUPPRESS}
        if isinstance(default, bool):  # a switch: --no-plots sets False
            p.add_argument(flag, help=s.help, action="store_const", const=not s.negate, **kw)
            continue
        help_text = f"{s.help} (default: {_shown(default, s)})"
        if s.choices is not None:
            kw["choices"] = list(s.choices)
        else:
            kw["type"] = _flag_type(name, s.parse)
        p.add_argument(flag, help=help_text.replace("%", "%%"), metavar=s.metavar, **kw)
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint with its saved settings; "
        "--lr, --momentum, --weight-decay, --batch-size, --epochs, --patience and "
        "--target-loss may change (recorded in its history), the architecture and data may not",
    )
    p.set_defaults(func=cmd_train)
    return p


def cmd_train(args) -> int:
    from .runs import train_run

    given = {k: v for k, v in vars(args).items() if k in settings()}
    if args.resume:
        if "out" in given:
            raise RunError("--out cannot be given with --resume (the run stays where it is)")
        # this invocation's own settings (progress bar, plots, threads) vs the run's changes
        session = {k: v for k, v in given.items() if settings()[k][1].resume == "session"}
        changes = {k: v for k, v in given.items() if k not in session}
        result = train_run(TrainConfig(**session), resume=args.resume, changes=changes)
    else:
        cfg = TrainConfig(**given).validate()
        result = train_run(cfg)
    m = result.metrics
    if distributed.is_leader():  # under mpiexec rank 0 reports for every rank
        print()
        print(_summary(m))
        _link_latest(result.run_dir)
        print(f"run directory: {result.run_dir}")
        for name, path in result.files.items():
            print(f"  {name + ':':<11} {path}")
    if m.get("model_epoch") is None:
        raise RunError(
            f"the run diverged at epoch {m['epochs_run']} {_stopped(m['stopped'])[9:]} and has "
            f"no usable model; train again with a lower --lr (it was {result.history.lr[-1]:g})"
        )
    return 0


def _stopped(stopped: str) -> str:
    """'diverged: the training loss is not finite (lower the lr)' -> 'diverged (the ...)'."""
    head, _, rest = stopped.partition(": ")
    rest = rest.replace(" (lower the lr)", "")
    return f"{head} ({rest})" if rest else head


def _summary(m: dict) -> str:
    n = m["epochs_run"]
    head = f"{m['dataset']}: {n} epoch{'' if n == 1 else 's'}"
    if "seconds" in m:
        head += f" in {m['seconds']:.1f} s"
    if m.get("stopped") and m["stopped"] != "epochs":
        head += f" ({m['stopped']})"
    if m.get("model_epoch") is None:
        return head + "\n  no usable model: every epoch's weights are not finite"
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
    if m.get("keep") == "best":
        head += f"; model of epoch {m['model_epoch']} (best validation loss)"
    elif m.get("model_epoch") != m["epochs_run"] or m.get("note"):
        head += f"; model of epoch {m['model_epoch']}"
    if m.get("note"):
        head += f"\n  note: {m['note']}"
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
    from .runs.store import json_safe

    m = evaluate_run(args.run_dir)
    if args.json:
        print(json.dumps(json_safe(m), indent=2))
    else:
        print(_summary(m))
    return 0


def add_predict_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "predict",
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
    from .runs.store import write_atomically

    out = Path(args.output) if args.output else None
    if out is not None:
        if out.is_dir():
            raise RunError(f"--output {out} is a directory; give a file name")
        if not out.parent.is_dir():
            raise RunError(f"--output {out}: the folder {out.parent} does not exist")
    text = predict_run(args.run_dir, args.input)
    if out is not None:
        write_atomically(out, text)  # a full disk leaves any earlier file as it was
        print(f"predictions: {out}")
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
    parser.add_argument("--version", action="version", version=f"backprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    add_train_parser(sub)
    add_evaluate_parser(sub)
    add_predict_parser(sub)
    add_datasets_parser(sub)
    from .explain.cli import add_parser as add_example

    add_example(sub)
    return parser


# OS errors: what they mean for the user, and whether they are the user's to fix (2) or the
# machine's (1).
_OS_ERRORS = {
    errno.ENOSPC: (1, "no space left on the device; free some space"),
    errno.EROFS: (1, "read-only file system; choose a writable place"),
    errno.EACCES: (1, "permission denied"),
    errno.EPERM: (1, "operation not permitted"),
    errno.EIO: (1, "input/output error (a failing disk?)"),
    errno.ENOENT: (2, "no such file or directory"),
    errno.EEXIST: (2, "already exists"),
    errno.ENOTDIR: (2, "a part of the path is a file, not a folder"),
    errno.EISDIR: (2, "is a directory; give a file"),
    errno.ELOOP: (2, "too many levels of symbolic links"),
    errno.ENAMETOOLONG: (2, "the name is too long"),
}
if hasattr(errno, "EDQUOT"):
    _OS_ERRORS[errno.EDQUOT] = (1, "disk quota exceeded; free some space")


def describe_os_error(e: OSError, command: str) -> tuple[int, str]:
    """``(exit status, one line)`` for an OS error: the path, what happened, what to do."""
    status, what = _OS_ERRORS.get(e.errno, (1, e.strerror or str(e)))
    path = e.filename if e.filename is not None else ""
    text = f"{path}: {what}" if path else what
    if e.filename2:
        text = f"{path} -> {e.filename2}: {what}"
    if command == "train" and status == 1 and _run_with_checkpoint(path):
        text += " (the last complete checkpoint is kept: --resume continues from it)"
    return status, text


def _run_with_checkpoint(path) -> bool:
    """Whether ``path`` lies in a run directory that holds a complete checkpoint."""
    if not path:
        return False
    for parent in list(Path(os.fspath(path)).parents)[:3]:
        if (parent / "checkpoint" / "checkpoint.json").is_file():
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    label = _interrupt.label(args_list)
    _interrupt.raising(True)
    try:
        status = _main(args_list, label)
    except KeyboardInterrupt:
        print(f"\n{label}: interrupted", file=sys.stderr)
        status = 130
    finally:
        _interrupt.raising(False)
    if status and distributed.is_initialized():  # under mpiexec: never leave ranks waiting
        distributed.abort(status)
    return status


def _main(argv: list[str], label: str) -> int:
    from .checkpoint import CheckpointError
    from .data import DataError

    debug = os.environ.get("BACKPROP_DEBUG", "") not in ("", "0")
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        import numpy as np

        # Overflow and NaN in a diverging run are reported once, as such, not as NumPy's
        # RuntimeWarnings on every step.
        with np.errstate(all="ignore"):
            return args.func(args) or 0
    except (RunError, DataError, CheckpointError, FileNotFoundError) as e:
        if debug:
            raise
        if isinstance(e, FileNotFoundError) and e.errno is not None:
            status, text = describe_os_error(e, label.partition(" ")[2])
        else:
            status, text = 2, str(e)
        print(f"{label}: error: {text}", file=sys.stderr)
        return status
    except BrokenPipeError:  # e.g. `backprop predict ... | head`
        try:
            sys.stdout = open(os.devnull, "w")  # nothing more to flush at exit
        except OSError:  # pragma: no cover
            pass
        return 0
    except OSError as e:
        if debug:
            raise
        status, text = describe_os_error(e, label.partition(" ")[2])
        print(f"{label}: error: {text}", file=sys.stderr)
        return status
    except MemoryError:
        if debug:
            raise
        print(f"{label}: error: out of memory; use a smaller model or dataset", file=sys.stderr)
        return 1
    except Exception as e:  # a bug of ours: still one line, with the way to see more
        if debug:
            raise
        print(
            f"{label}: internal error: {type(e).__name__}: {e} (this is a bug in backprop; "
            "BACKPROP_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
