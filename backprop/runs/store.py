"""The run directory on disk: who may write it (an OS lock), what may be written where (never
over a user's own files), atomic writes, and reading a run back with every part checked.

Only one process writes a run directory: ``train`` and ``--resume`` take an exclusive
``fcntl.flock`` on ``RUN_DIR/.lock`` (released by the OS when the process ends, however it
ends) and record their pid, host and start time in it, so a second writer fails at once naming
the first. Readers (``evaluate``, ``predict``) take no lock: every file is replaced atomically
(written beside, then ``os.replace``), so they always read a complete checkpoint.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .build import build_mlp, check_architecture, check_memory, finite_state
from .config import RunError

try:  # POSIX; on Windows runs are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

CHECKPOINT_DIR = "checkpoint"
BEST_DIR = "best"
LOCK = ".lock"
# What `backprop train` writes into a run directory: a folder holding only these is a run.
RUN_FILES = {LOCK, CHECKPOINT_DIR, BEST_DIR, "metrics.json", "history.csv", "curves.png",
             "gradients.png"}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Writing: the target folder, the lock, atomic files
# ---------------------------------------------------------------------------------------------
def check_new_run_dir(run_dir: Path, holding_lock: bool = False) -> None:
    """Refuse an ``--out`` that is a file, lies under a file, already holds a run, or is a
    non-empty folder that is not a run (the user's own files are never overwritten)."""
    for parent in [run_dir, *run_dir.parents]:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                what = "is a file" if parent == run_dir else f"lies under {parent}, a file"
                raise RunError(f"--out {run_dir} {what}: choose a folder for the run")
            break
    if not run_dir.is_dir():
        return
    if not holding_lock and is_locked(run_dir):
        raise RunError(
            f"{run_dir} is being written by another process ({holder(run_dir)}); wait for it "
            "to finish or choose another --out"
        )
    if (run_dir / CHECKPOINT_DIR / "checkpoint.json").exists():
        raise RunError(
            f"{run_dir} already holds a run; pass --resume {run_dir} to continue it "
            "or choose another --out"
        )
    present = sorted(p.name for p in run_dir.iterdir())
    # A folder a run was started in holds its lock file; anything else there is the user's.
    ours = LOCK in present
    foreign = [n for n in present if n not in RUN_FILES or not ours]
    if foreign:
        raise RunError(
            f"--out {run_dir} is a folder with other files in it ({', '.join(foreign[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}), not a run: choose a new or empty folder"
        )


class RunLock:
    """An exclusive lock on a run directory for one writer, held until :meth:`release` or
    the process's end. ``RunLock(run_dir)`` raises :class:`RunError` naming the holder when
    another process holds it."""

    def __init__(self, run_dir: Path, command: str = "train") -> None:
        self.path = run_dir / LOCK
        self._fd: int | None = None
        if fcntl is None:  # pragma: no cover
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise RunError(
                f"{run_dir} is being written by another process ({holder(run_dir)}); wait "
                "for it to finish or choose another --out"
            ) from None
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": f"backprop {command}",
        }
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(record) + "\n").encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(run_dir: Path) -> bool:
    """Whether a process holds the run directory's lock now."""
    if fcntl is None or not (run_dir / LOCK).is_file():  # pragma: no cover - Windows
        return False
    try:
        fd = os.open(run_dir / LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the shared lock, if it was granted


def holder(run_dir: Path) -> str:
    """Who holds a run directory's lock, as its lock file says."""
    try:
        rec = json.loads((run_dir / LOCK).read_text()[:4096])
        return f"{rec['command']}, pid {rec['pid']} on {rec['host']}, started {rec['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its lock file names no holder"


def write_atomically(path: Path, data: bytes | str) -> Path:
    """Write ``path`` so that a reader sees the old file or the new one, never a mixture."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    return x


def write_outputs(run_dir: Path, cfg, hist, metrics: dict) -> dict[str, Path]:
    """metrics.json, history.csv and (with ``cfg.plots``) the two pictures, each atomically."""
    files = {
        "metrics": run_dir / "metrics.json",
        "history": run_dir / "history.csv",
        "checkpoint": run_dir / CHECKPOINT_DIR,
    }
    if (
        metrics.get("model_epoch") is None
        or not (run_dir / CHECKPOINT_DIR / "checkpoint.json").exists()
    ):
        files.pop("checkpoint")
    if cfg.keep == "best" and (run_dir / BEST_DIR).exists():
        files["best"] = run_dir / BEST_DIR
    write_atomically(files["metrics"], json.dumps(json_safe(metrics), indent=2) + "\n")
    rows = hist.rows()
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["epoch"])
    w.writeheader()
    w.writerows(rows)
    write_atomically(files["history"], buf.getvalue())
    if cfg.plots and rows:
        from ..plots import plot_curves, plot_gradients

        title = f"{metrics['dataset']}: MLP {list(cfg.hidden)} {cfg.activation}, {cfg.optimizer}"
        for name, plot, args in (
            ("curves", plot_curves, (title,)),
            ("gradients", plot_gradients, ()),
        ):
            path = run_dir / f"{name}.png"
            tmp = path.with_name(f".{name}.{os.getpid()}.tmp.png")
            try:
                plot(hist, tmp, *args)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
            files[name] = path
    return files


def save_best(run_dir: Path, state: dict, epoch: int, val_loss: float, arch: dict) -> None:
    save_checkpoint(
        run_dir / BEST_DIR,
        state,
        None,
        {"epoch": epoch, "val_loss": val_loss, "architecture": arch},
    )


# ---------------------------------------------------------------------------------------------
# Reading a run back
# ---------------------------------------------------------------------------------------------
def _metrics_note(run_dir: Path) -> str:
    """How a run that has no usable model diverged, as its metrics.json says, or ""."""
    try:
        m = json.loads((run_dir / "metrics.json").read_text()[:1_000_000])
        stopped = m.get("stopped", "") if isinstance(m, dict) else ""
    except (OSError, ValueError):
        return ""
    if not isinstance(stopped, str) or not stopped.startswith("diverged"):
        return ""
    why = stopped.partition(": ")[2].replace(" (lower the lr)", "")
    return f"diverged at epoch {m.get('epochs_run')}" + (f" ({why})" if why else "")


def _load(ckpt: Path) -> tuple:
    try:
        return load_checkpoint(ckpt)
    except CheckpointError as e:
        raise RunError(str(e)) from None
    except FileNotFoundError:
        raise RunError(f"{ckpt} is missing") from None


def read_run(run_dir: Path):
    """The last checkpoint of a run directory, its metadata checked: ``(model_state,
    optim_state, meta)``."""
    ckpt = run_dir / CHECKPOINT_DIR
    if not run_dir.exists():
        raise RunError(f"{run_dir}: no such run directory")
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} is a file, not a run directory")
    if not ckpt.exists():
        diverged = _metrics_note(run_dir)
        if diverged:
            raise RunError(
                f"{run_dir} has no usable model: the run {diverged}; train again with a lower --lr"
            )
        raise RunError(f"{run_dir} has no {CHECKPOINT_DIR}/: not a backprop run directory")
    if not (ckpt / "checkpoint.json").exists() and (run_dir / LOCK).exists():
        if is_locked(run_dir):
            raise RunError(
                f"{run_dir} is being written by another process ({holder(run_dir)}) and has "
                "no complete checkpoint yet; try again after its first epoch"
            )
        raise RunError(
            f"{run_dir} has no complete checkpoint (its run stopped before its first save "
            f"ended); train it again with --out {run_dir}"
        )
    model_state, optim_state, meta = _load(ckpt)
    check_meta(meta, ckpt)
    return model_state, optim_state, meta


def check_meta(meta: Any, where: Path) -> dict:
    """The run's metadata against its schema: every part used later, with its type."""
    what = f"{where / 'checkpoint.json'} was not written by `backprop train`"
    if not isinstance(meta, dict):
        raise RunError(f"{what} (its metadata is not a JSON object)")
    kinds = {"architecture": dict, "config": dict, "dataset": dict, "history": dict,
             "rng_state": dict, "epoch": int}  # fmt: skip
    for key, kind in kinds.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            problem = "no" if key not in meta else f"a bad ({type(meta[key]).__name__})"
            raise RunError(f"{what} ({problem} {key!r} in its metadata)")
    check_architecture(meta["architecture"], f"{where}: the architecture")
    ds = meta["dataset"]
    if ds.get("task") not in ("classification", "regression"):
        raise RunError(f"{where}: the dataset's task {ds.get('task')!r} is unknown")
    names = ds.get("feature_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RunError(f"{where}: the dataset's feature_names must be a list of names")
    classes = ds.get("class_names")
    if classes is not None and (
        not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)
    ):
        raise RunError(f"{where}: the dataset's class_names must be a list of names")
    for key in ("standardizer", "target_standardizer"):
        st = ds.get(key)
        if st is not None and not (
            isinstance(st, dict)
            and all(
                isinstance(st.get(k), list)
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in st[k])
                for k in ("mean", "std")
            )
        ):
            raise RunError(f"{where}: the dataset's {key} is damaged")
    check_history(meta["history"], where)
    return meta


def check_history(hist: dict, where: Path) -> None:
    """The saved history's fields, each of its type: lists of numbers, one entry per epoch
    (grad_norms: one such list per layer), best_epoch, best_val_loss, stopped."""

    def number(x) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    epochs = hist.get("epoch")
    if not isinstance(epochs, list) or not all(isinstance(e, int) for e in epochs):
        raise RunError(f"{where}: the history is damaged (epoch is not a list of integers)")
    problem = ""
    lists = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds")
    norms = hist.get("grad_norms")
    if not isinstance(norms, dict):
        problem = "grad_norms is not a table of lists"
    else:
        columns = {f: hist.get(f) for f in lists} | {f"grad_norms/{k}": v for k, v in norms.items()}
        for f, values in columns.items():
            if not isinstance(values, list) or not all(number(x) for x in values):
                problem = f"{f} is not a list of numbers"
            elif len(values) != len(epochs):
                problem = f"{f} has {len(values)} entries for {len(epochs)} epochs"
    for f, kind in (("best_epoch", int), ("stopped", str), ("changes", list)):
        if f in hist and (not isinstance(hist[f], kind) or isinstance(hist[f], bool)):
            problem = f"{f} is not a {kind.__name__}"
    if not number(hist.get("best_val_loss")):
        problem = "best_val_loss is not a number"
    if problem:
        raise RunError(f"{where}: the history is damaged ({problem})")


def check_state(model, state: dict, where: Path) -> None:
    """Refuse a state dict that does not fit the model: extra, missing or misshapen tensors,
    or weights that are not finite (a diverged run)."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        parts = [f"missing {', '.join(missing[:4])}" if missing else "",
                 f"unexpected {', '.join(extra[:4])}" if extra else ""]  # fmt: skip
        raise RunError(
            f"{where}: the tensors do not match the architecture "
            f"({'; '.join(p for p in parts if p)})"
        )
    for k, shape in expected.items():
        if tuple(state[k].shape) != shape:
            raise RunError(
                f"{where}: tensor {k} has shape {tuple(state[k].shape)}, the architecture "
                f"needs {shape}"
            )
    if not finite_state(state):
        raise RunError(
            f"{where} holds weights that are not finite (NaN or inf): the run diverged and "
            "has no usable model; train again with a lower --lr"
        )


def best_weights(
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
    # best/ without its manifest is its first save under way (another process is training)
    if (run_dir / BEST_DIR / "checkpoint.json").exists():
        state, _, best_meta = _load(run_dir / BEST_DIR)
        if isinstance(best_meta, dict) and best_meta.get("epoch") == best_epoch:
            return state, best_epoch
    if best_epoch == epoch:
        return model_state, epoch
    return None, epoch


def load_run(run_dir: str | os.PathLike):
    """The kept model of a run directory (the best validation epoch's with ``keep="best"``,
    else the last epoch's) and its checkpoint metadata; ``meta["model_epoch"]`` is the epoch
    the model comes from, ``meta["model_note"]`` says why it is not the one asked for (best/
    missing), if so.

    >>> import tempfile
    >>> from backprop.runs import TrainConfig, train_run
    >>> d = tempfile.mkdtemp()
    >>> _ = train_run(TrainConfig(dataset="iris", hidden=(4,), epochs=1, out=d, progress=False,
    ...                           plots=False))
    >>> model, meta = load_run(d)
    >>> meta["epoch"], meta["architecture"]["hidden"]
    (1, [4])
    """
    run_dir = Path(run_dir)
    model_state, _, meta = read_run(run_dir)
    # a run saved before --keep existed kept its last epoch's model
    keep = meta["config"].get("keep", "last")
    best_state, meta["model_epoch"] = best_weights(run_dir, model_state, meta, keep)
    best_epoch = meta["history"].get("best_epoch", 0)
    if keep == "best" and best_state is None and best_epoch:
        meta["model_note"] = (
            f"{run_dir / BEST_DIR} (the model of epoch {best_epoch}, the best validation "
            f"loss) is missing; using the last epoch's model ({meta['epoch']}) instead"
        )
    check_memory(meta["architecture"], 1, "sgd")
    model = build_mlp(meta["architecture"])
    state = best_state if best_state is not None else model_state
    check_state(model, state, run_dir / (BEST_DIR if best_state is not None else CHECKPOINT_DIR))
    model.load_state_dict(state)
    return model.eval(), meta
