"""Checkpoints: model and optimizer state in safetensors files, everything else in JSON.

A checkpoint is a directory::

    run/ckpt/
      checkpoint.json                  the manifest: format, version, metadata, file names, hashes
      model-3f9c1a2b.safetensors       model_state, one tensor per key
      optimizer-3f9c1a2b.safetensors   the optimizer's arrays (momentum buffers, Adam moments)

Nothing is ever unpickled: safetensors files hold only arrays and JSON holds only data, so
loading a checkpoint from a stranger cannot run code.

Saving is atomic. The tensor files get fresh names, are written and fsynced first, and only then
is ``checkpoint.json`` replaced (write a temporary file, fsync, ``os.replace``) to point at them.
``os.replace`` is atomic, so a reader -- or a run restarted after a crash or a ``kill -9`` in the
middle of a save -- sees either the previous complete checkpoint or the new complete one, never
a mixture. Files no manifest refers to (the previous save's, or a crashed save's) are deleted
after the swap.

The module knows nothing of ``nn`` or ``optim``: it takes plain dicts of arrays and JSON values,
so the trainer, the CLI and users can all call it.

>>> import numpy as np, tempfile
>>> d = tempfile.mkdtemp()
>>> opt = {"state": {0: {"step": 3, "momentum_buffer": np.ones(2)}},
...        "param_groups": [{"lr": 0.1, "params": [0]}]}
>>> _ = save_checkpoint(d, {"fc.weight": np.eye(2)}, opt, {"epoch": 3})
>>> model, optim, meta = load_checkpoint(d)
>>> model["fc.weight"].shape, optim["state"][0]["step"], meta["epoch"]
((2, 2), 3, 3)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import stat
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import safetensors.numpy

from .backend import to_numpy

FORMAT = "backprop-checkpoint"
FORMAT_VERSION = 1
MANIFEST = "checkpoint.json"

__all__ = [
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "checkpoint_info",
    "load_checkpoint",
    "save_checkpoint",
]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: damaged, truncated, foreign, or from a newer version."""


class Checkpoint(NamedTuple):
    """What :func:`load_checkpoint` returns; unpacks as ``model, optim, meta``."""

    model_state: dict[str, np.ndarray]
    optim_state: dict | None
    meta: dict


# ---------------------------------------------------------------------------------------------
# Nested optimizer state <-> (flat arrays, JSON skeleton)
#
# JSON cannot say "this key is the integer 0", "this is a tuple" or "this is an array", and the
# optimizer's state_dict needs all three to round-trip exactly. The skeleton keeps plain dicts,
# lists and scalars as themselves and tags the rest with a one-key object:
#   {"__tensor__": "state.0.momentum_buffer"}   an array, stored under that safetensors key
#   {"__scalar__": "state.0.step"}              a NumPy scalar (np.int64(3)), stored as 0-d array
#   {"__tuple__": [...]}                        a tuple, e.g. Adam's betas
#   {"__items__": [[key, value], ...]}          a dict whose keys are not all strings
# ---------------------------------------------------------------------------------------------
_TAGS = ("__tensor__", "__scalar__", "__tuple__", "__items__")


def _flatten(obj: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, (bool, int, float, str)) or obj is None:
        return obj
    if isinstance(obj, np.generic):
        return {"__scalar__": _store(path, np.asarray(obj), arrays)}
    if isinstance(obj, tuple):
        return {"__tuple__": [_flatten(v, _join(path, i), arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_flatten(v, _join(path, i), arrays) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        plain = all(isinstance(k, str) for k in obj)
        if plain and not (len(obj) == 1 and next(iter(obj)) in _TAGS):
            return {k: _flatten(v, _join(path, k), arrays) for k, v in obj.items()}
        items = [
            [_flatten_key(k, path), _flatten(v, _join(path, k), arrays)] for k, v in obj.items()
        ]
        return {"__items__": items}
    if hasattr(obj, "__array__"):  # NumPy, CuPy, or a backprop Tensor
        return {"__tensor__": _store(path, np.asarray(to_numpy(obj), order="C"), arrays)}
    raise TypeError(
        f"cannot store {type(obj).__name__} at {path!r} in a checkpoint: "
        "use arrays, numbers, strings, lists, tuples and dicts"
    )


def _flatten_key(key: Any, path: str) -> Any:
    if isinstance(key, np.generic):
        key = key.item()
    if isinstance(key, tuple):
        return {"__tuple__": [_flatten_key(k, path) for k in key]}
    if isinstance(key, (bool, int, float, str)) or key is None:
        return key
    raise TypeError(f"cannot store a dict key of type {type(key).__name__} at {path!r}")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _store(key: str, array: np.ndarray, arrays: dict[str, np.ndarray]) -> str:
    # Keys containing dots could collide ("a.b" the key vs "a" then "b"); the skeleton records
    # the exact key it used, so any unique spelling will do.
    candidate, n = key, 1
    while candidate in arrays:
        candidate, n = f"{key}#{n}", n + 1
    arrays[candidate] = array
    return candidate


def _unflatten(obj: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if isinstance(obj, list):
        return [_unflatten(v, arrays, where) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1 and next(iter(obj)) in _TAGS:
        tag, value = next(iter(obj.items()))
        if tag in ("__tensor__", "__scalar__"):
            if value not in arrays:
                raise CheckpointError(
                    f"{where}: the optimizer state refers to array {value!r}, "
                    "which is missing from its tensor file"
                )
            return arrays[value] if tag == "__tensor__" else arrays[value][()]
        if tag == "__tuple__":
            return tuple(_unflatten(v, arrays, where) for v in value)
        return {_unflatten(k, arrays, where): _unflatten(v, arrays, where) for k, v in value}
    return {k: _unflatten(v, arrays, where) for k, v in obj.items()}


def _jsonable(obj: Any, path: str = "meta") -> Any:
    """Metadata as plain JSON: NumPy scalars and small arrays become numbers and lists."""
    if isinstance(obj, (bool, int, float, str)) or obj is None:
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, f"{path}.{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{path}.{i}") for i, v in enumerate(obj)]
    if hasattr(obj, "__array__"):
        return to_numpy(obj).tolist()
    raise TypeError(
        f"{path} is a {type(obj).__name__}, which JSON cannot hold: "
        "metadata must be numbers, strings, lists and dicts"
    )


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened this way on Windows.
    if os.name == "nt":  # pragma: no cover
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _library_version() -> str:
    try:  # imported late: the package's __init__ imports this module
        from . import __version__

        return __version__
    except ImportError:  # pragma: no cover - a partial source tree
        return "unknown"


def save_checkpoint(
    path: str | os.PathLike,
    model_state: dict[str, Any],
    optim_state: dict | None = None,
    meta: dict | None = None,
) -> Path:
    """Save a checkpoint into directory ``path`` atomically, replacing the one already there.

    ``model_state`` maps names to arrays (a model's ``state_dict()``); ``optim_state`` is a
    nested dict like an optimizer's ``state_dict()`` whose arrays go to a safetensors file and
    whose numbers, lists and integer keys are kept in JSON and restored exactly; ``meta`` is any
    JSON-able dict (architecture, hyperparameters, epoch, metrics, dataset, seed). Returns the
    manifest's path.

    >>> import numpy as np, tempfile
    >>> d = tempfile.mkdtemp()
    >>> save_checkpoint(d, {"w": np.zeros(3)}, meta={"epoch": 1}).name
    'checkpoint.json'
    """
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise CheckpointError(f"{directory} is a file; a checkpoint is a directory")
    directory.mkdir(parents=True, exist_ok=True)

    model_arrays: dict[str, np.ndarray] = {}
    for key, value in model_state.items():
        if not isinstance(key, str):
            raise TypeError(f"model_state keys must be strings, got {key!r}")
        # Not np.ascontiguousarray: it turns 0-d arrays (counters, scalars) into shape (1,).
        value = getattr(value, "_data", value)  # a state_dict() holds tensors
        model_arrays[key] = np.asarray(to_numpy(value), order="C")
    optim_arrays: dict[str, np.ndarray] = {}
    skeleton = None if optim_state is None else _flatten(optim_state, "", optim_arrays)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": _library_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "meta": _jsonable(meta or {}),
        "files": {},
        "optimizer": skeleton,
    }

    token = secrets.token_hex(4)
    parts = [("model", model_arrays)]
    if optim_state is not None:
        parts.append(("optimizer", optim_arrays))
    tmp = directory / f".{MANIFEST}.{token}.tmp"
    written = [tmp]
    try:
        for role, arrays in parts:
            blob = safetensors.numpy.save(arrays, metadata={"format": FORMAT, "role": role})
            name = f"{role}-{token}.safetensors"
            written.append(directory / name)
            _write_durably(directory / name, blob)
            manifest["files"][role] = {
                "name": name,
                "bytes": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(),
                "keys": list(arrays),  # safetensors sorts its keys; a state_dict's order matters
            }
        _write_durably(tmp, (json.dumps(manifest, indent=2) + "\n").encode())
        os.replace(tmp, directory / MANIFEST)  # the commit point
    except BaseException:
        # Not committed: the previous checkpoint stands. Give back the space this save took
        # (a full disk, a read-only file system, Ctrl-C); a kill -9 leaves them to the next save.
        for p in written:
            try:
                p.unlink(missing_ok=True)
            except OSError:
                pass
        raise
    _fsync_dir(directory)
    _remove_unreferenced(directory, {f["name"] for f in manifest["files"].values()})
    return directory / MANIFEST


def _remove_unreferenced(directory: Path, keep: set[str]) -> None:
    for p in directory.iterdir():
        # Only names this module makes: a user's own "model-best.safetensors" is left alone.
        ours = re.fullmatch(r"(model|optimizer)-[0-9a-f]{8}\.safetensors", p.name) is not None
        stale_tmp = p.name.startswith(f".{MANIFEST}.") and p.name.endswith(".tmp")
        if (ours or stale_tmp) and p.name not in keep:
            try:
                p.unlink()
            except OSError:  # pragma: no cover - e.g. removed by another process already
                pass


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------
def _read_manifest(directory: Path) -> dict:
    file = directory / MANIFEST
    if not directory.exists():
        raise FileNotFoundError(f"no checkpoint at {directory}: the directory does not exist")
    if not directory.is_dir():
        head = b""
        if directory.is_file():  # not a device, a FIFO...: only the magic bytes are read
            with open(directory, "rb") as f:
                head = f.read(8)
        what = (
            "a pickle or zip file (such as torch.save writes)"
            if _looks_pickled(head)
            else ("a file")
        )
        raise CheckpointError(
            f"{directory} is {what}, not a backprop checkpoint directory "
            f"(a directory holding {MANIFEST} and .safetensors files)"
        )
    if not file.exists() and not file.is_symlink():
        present = sorted(p.name for p in directory.iterdir())[:10]
        raise CheckpointError(
            f"{file} is missing, so {directory} is not a backprop checkpoint "
            f"(it contains: {', '.join(present) or 'nothing'})"
        )
    raw = _read_regular(file, MAX_MANIFEST_BYTES, "the manifest")
    if _looks_pickled(raw):
        raise CheckpointError(
            f"{file} is a pickle or zip file (such as torch.save writes), not "
            "backprop JSON; backprop never unpickles files"
        )
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{file} is not valid JSON ({e}); the file is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(
            f'{file} is JSON but not a backprop checkpoint manifest (expected "format": "{FORMAT}")'
        )
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise CheckpointError(f"{file} has no integer format_version")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{file} has format version {version}, newer than this backprop supports "
            f"({FORMAT_VERSION}; it was written by backprop {manifest.get('library_version')}); "
            "upgrade backprop to read it"
        )
    missing = [k for k in ("meta", "files", "optimizer") if k not in manifest]
    if not isinstance(manifest.get("files"), dict) or "model" not in manifest["files"]:
        missing.append("files.model")
    if missing:
        raise CheckpointError(f"{file} is missing required keys: {', '.join(missing)}")
    _check_schema(manifest, file)
    return manifest


_FILE_NAME = re.compile(r"(model|optimizer)-[0-9a-f]{8}\.safetensors")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_MANIFEST_BYTES = 256 * 2**20  # a long run's history is a few MB; more is not ours
MAX_TENSOR_BYTES = 2**40


def _check_schema(manifest: dict, file: Path) -> None:
    """Every part of the manifest used later, with its type and range, before any is used: a
    damaged or hostile manifest is a CheckpointError naming the entry, never a KeyError."""

    def bad(where: str, what: str) -> CheckpointError:
        return CheckpointError(f"{file}: {where} {what}; the manifest is damaged")

    if not isinstance(manifest["meta"], dict):
        raise bad("meta", f"must be an object, not {type(manifest['meta']).__name__}")
    if manifest["optimizer"] is not None and not isinstance(manifest["optimizer"], dict):
        raise bad("optimizer", "must be an object or null")
    files = manifest["files"]
    unknown = [k for k in files if k not in ("model", "optimizer")]
    if unknown:
        raise bad("files", f"has unknown entries {unknown[:3]}")
    if manifest["optimizer"] is not None and "optimizer" not in files:
        raise bad("files", "has no optimizer entry for the optimizer state")
    for role, entry in files.items():
        where = f"files.{role}"
        if not isinstance(entry, dict):
            raise bad(where, f"must be an object, not {type(entry).__name__}")
        name = entry.get("name")
        if not isinstance(name, str) or not _FILE_NAME.fullmatch(name) or not name.startswith(role):
            raise bad(f"{where}.name", f"is {name!r}, not a {role}-<hex>.safetensors file name")
        size = entry.get("bytes")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_TENSOR_BYTES:
            raise bad(f"{where}.bytes", f"is {size!r}, not a file size")
        digest = entry.get("sha256")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise bad(f"{where}.sha256", "is not a SHA-256 hex digest")
        keys = entry.get("keys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise bad(f"{where}.keys", "must be a list of names")
        if len(set(keys)) != len(keys):
            raise bad(f"{where}.keys", "lists a name twice")


def _read_regular(file: Path, limit: int, what: str) -> bytes:
    """The bytes of ``file``, which must be a regular file (not a directory, a device such as
    /dev/zero, a FIFO, or a symlink loop) of at most ``limit`` bytes; at most ``limit + 1``
    bytes are ever read. FileNotFoundError passes through (callers may retry)."""
    try:
        st = os.stat(file)
    except FileNotFoundError:
        raise
    except OSError as e:  # ELOOP, EACCES, ENAMETOOLONG...
        raise CheckpointError(f"{file}: {what} cannot be read ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise CheckpointError(f"{file}: {what} is {kind}")
    if st.st_size > limit:
        raise CheckpointError(
            f"{file}: {what} has {st.st_size} bytes, more than the {limit} expected"
        )
    try:
        with open(file, "rb") as f:
            data = f.read(min(limit, st.st_size) + 1)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise CheckpointError(f"{file}: {what} cannot be read ({e.strerror})") from None
    if len(data) > limit:
        raise CheckpointError(f"{file}: {what} is longer than the {limit} bytes expected")
    return data  # (a file that grew since the stat is one byte longer: the size check says so)


def _read_tensors(directory: Path, entry: dict, verify: bool) -> dict[str, np.ndarray]:
    file = directory / entry["name"]
    # FileNotFoundError is handled by the caller (it may retry). Reading at most the recorded
    # size (plus one byte, to tell a longer file) bounds the memory a replaced file can take.
    data = _read_regular(file, entry["bytes"] if verify else MAX_TENSOR_BYTES, "a tensor file")
    if verify and len(data) != entry["bytes"]:
        raise CheckpointError(
            f"{file} has {len(data)} bytes but the manifest recorded "
            f"{entry['bytes']}: the file is truncated or was replaced"
        )
    if verify and hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise CheckpointError(f"{file} does not match its SHA-256 in {MANIFEST}: it is damaged")
    try:
        arrays = safetensors.numpy.load(data)
    except Exception as e:  # safetensors raises its own SafetensorError
        if _looks_pickled(data):
            raise CheckpointError(
                f"{file} is a pickle or zip file (such as torch.save writes), "
                "not safetensors; backprop never unpickles files"
            ) from None
        raise CheckpointError(f"{file} is not a readable safetensors file: {e}") from None
    keys = entry.get("keys", sorted(arrays))
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise CheckpointError(f"{file} lacks arrays the manifest lists: {', '.join(missing[:5])}")
    extra = [k for k in arrays if k not in keys]
    if extra:
        raise CheckpointError(
            f"{file} holds arrays the manifest does not list: {', '.join(extra[:5])}"
        )
    return {k: arrays[k] for k in keys}


def _looks_pickled(data: bytes) -> bool:
    # Pickle protocols 2-5 start with PROTO (0x80) and the protocol number; torch.save writes
    # a zip archive. (Only consulted once a file has failed to parse as what it should be.)
    return (data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")) or (
        data[:4] == b"PK\x03\x04"
    )


def _resolve(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.parent if p.name == MANIFEST and p.is_file() else p


def checkpoint_info(path: str | os.PathLike) -> dict:
    """The manifest of a checkpoint (metadata, versions, file names) without loading arrays.

    >>> import numpy as np, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = save_checkpoint(d, {"w": np.zeros(3)}, meta={"epoch": 7})
    >>> info = checkpoint_info(d)
    >>> info["meta"]["epoch"], info["format_version"]
    (7, 1)
    """
    return _read_manifest(_resolve(path))


def load_checkpoint(path: str | os.PathLike, *, verify: bool = True) -> Checkpoint:
    """Load a checkpoint saved by :func:`save_checkpoint`: ``(model_state, optim_state, meta)``.

    ``optim_state`` is ``None`` when none was saved. With ``verify`` (the default) each tensor
    file's size and SHA-256 are checked against the manifest. A damaged or foreign checkpoint
    raises :class:`CheckpointError` naming the file and what is wrong.

    >>> import numpy as np, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = save_checkpoint(d, {"w": np.arange(3.0)})
    >>> load_checkpoint(d).model_state["w"]
    array([0., 1., 2.])
    """
    directory = _resolve(path)
    # A save running in another process deletes the files of the checkpoint it replaces; if
    # that happens between reading the manifest and reading the files, the new manifest is
    # complete by then, so read it again.
    for attempt in range(3):
        manifest = _read_manifest(directory)
        files = manifest["files"]
        try:
            model = _read_tensors(directory, files["model"], verify)
            optim_arrays = (
                _read_tensors(directory, files["optimizer"], verify) if "optimizer" in files else {}
            )
            break
        except FileNotFoundError as e:
            if attempt == 2:
                raise CheckpointError(
                    f"{e.filename} is missing: {directory / MANIFEST} refers "
                    "to it, so the checkpoint is incomplete"
                ) from None
    optim = manifest["optimizer"]
    if optim is not None:
        where = str(directory / files["optimizer"]["name"])
        try:
            optim = _unflatten(optim, optim_arrays, where)
        except (TypeError, ValueError, IndexError, RecursionError) as e:
            raise CheckpointError(
                f"{directory / MANIFEST}: the optimizer state's layout is damaged ({e})"
            ) from None
    return Checkpoint(model, optim, manifest["meta"])
