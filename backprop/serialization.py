"""``bp.save`` and ``bp.load``: PyTorch's names, a safe format.

``torch.save`` pickles, and unpickling a file from someone else can run any code they put in
it. ``bp.save`` writes a safetensors file instead: the arrays as raw bytes, and the structure
around them (nested dicts, lists, tuples, numbers, strings) as JSON in the file's metadata. So
``bp.load`` only ever parses bytes and JSON. A state dict (names to tensors) is stored under
its own names, so the file is an ordinary safetensors file that other tools read too; and an
ordinary safetensors file loads as a dict of tensors.

>>> import os, tempfile
>>> import backprop as bp
>>> model = bp.nn.Linear(3, 2)
>>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
>>> bp.save(model.state_dict(), path)
>>> _ = model.load_state_dict(bp.load(path))
>>> opt = bp.optim.Adam(model.parameters())
>>> bp.save({"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict()}, path)
>>> ckpt = bp.load(path)
>>> ckpt["epoch"], sorted(ckpt["model"])
(3, ['bias', 'weight'])

A ``.pt`` file written by ``torch.save`` is refused with the reason and a way to convert it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import OrderedDict
from typing import Any

import numpy as np
import safetensors.numpy

from .backend import to_numpy
from .tensor import Tensor

__all__ = ["SerializationError", "load", "save"]

FORMAT = "backprop.save"
VERSION = 1
_TAGS = ("__tensor__", "__parameter__", "__ndarray__", "__scalar__", "__tuple__", "__items__")


class SerializationError(ValueError, RuntimeError):
    """A file ``bp.load`` will not read: a pickle, damaged, or from a newer version."""


# ---------------------------------------------------------------------------------------------
# The object <-> (arrays, JSON structure)
# ---------------------------------------------------------------------------------------------
def _is_torch_tensor(obj: Any) -> bool:
    return type(obj).__module__.startswith("torch") and hasattr(obj, "detach")


def _store(path: str, array: np.ndarray, arrays: dict[str, np.ndarray]) -> str:
    key, n = path or "tensor", 1
    while key in arrays:
        key, n = f"{path or 'tensor'}#{n}", n + 1
    if array.dtype == object:
        raise TypeError(f"bp.save: the array at {path!r} holds Python objects; cannot store it")
    arrays[key] = array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d
    return key


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _pack(obj: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    from .nn.module import Parameter

    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Tensor):
        tag = "__parameter__" if isinstance(obj, Parameter) else "__tensor__"
        entry = {tag: _store(path, to_numpy(obj._data), arrays)}
        if obj.requires_grad:
            entry["requires_grad"] = True
        return entry
    if _is_torch_tensor(obj):  # bp.save(torch.load(...)) is the way to convert a .pt file
        arr = obj.detach().cpu()
        arr = (arr.float() if str(arr.dtype) == "torch.bfloat16" else arr).numpy()
        return {"__tensor__": _store(path, arr, arrays)}
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": _store(path, obj, arrays)}
    if isinstance(obj, np.generic):
        return {"__scalar__": _store(path, np.asarray(obj), arrays)}
    if isinstance(obj, tuple):
        return {"__tuple__": [_pack(v, _join(path, i), arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_pack(v, _join(path, i), arrays) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and k not in _TAGS for k in obj):
            return {k: _pack(v, _join(path, k), arrays) for k, v in obj.items()}
        return {
            "__items__": [
                [_pack_key(k, path), _pack(v, _join(path, k), arrays)] for k, v in obj.items()
            ]
        }
    raise TypeError(
        f"bp.save cannot store a {type(obj).__name__} (at {path or 'the top level'!r}): it "
        "stores tensors, arrays, numbers, strings, None, and lists, tuples and dicts of them "
        "(never pickles). Save a module's or optimizer's state_dict(), not the object."
    )


def _pack_key(key: Any, path: str) -> Any:
    if isinstance(key, np.generic):
        key = key.item()
    if isinstance(key, tuple):
        return {"__tuple__": [_pack_key(k, path) for k in key]}
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    raise TypeError(f"bp.save cannot store a dict key of type {type(key).__name__} at {path!r}")


def _unpack(obj: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if isinstance(obj, list):
        return [_unpack(v, arrays, where) for v in obj]
    if not isinstance(obj, dict):
        return obj
    tag = next((k for k in obj if k in _TAGS), None)
    if tag is None:
        return OrderedDict((k, _unpack(v, arrays, where)) for k, v in obj.items())
    value = obj[tag]
    if tag == "__tuple__":
        return tuple(_unpack(v, arrays, where) for v in value)
    if tag == "__items__":
        return {_unpack(k, arrays, where): _unpack(v, arrays, where) for k, v in value}
    if value not in arrays:
        raise SerializationError(f"{where}: the structure refers to a missing array {value!r}")
    arr = arrays[value]
    if tag == "__ndarray__":
        return arr
    if tag == "__scalar__":
        return arr[()]
    if tag == "__parameter__":
        from .nn.module import Parameter

        return Parameter(arr, requires_grad=bool(obj.get("requires_grad", False)))
    return Tensor(arr, requires_grad=bool(obj.get("requires_grad", False)))


# ---------------------------------------------------------------------------------------------
# save / load
# ---------------------------------------------------------------------------------------------
def save(obj: Any, f, pickle_module=None, pickle_protocol=None, **kwargs) -> None:
    """Save tensors, a ``state_dict()``, an optimizer's ``state_dict()`` or a nested dict of
    them (numbers, strings and lists too) to ``f``, a path or a binary file object, as
    safetensors with the structure in its metadata. Written to a temporary file and renamed,
    so an interrupted save never leaves a half-written file. Torch tensors are accepted
    (converted), so ``bp.save(torch.load("model.pt"), "model.safetensors")`` converts a
    PyTorch file."""
    if pickle_module is not None:
        raise ValueError("bp.save never pickles: pickle_module is not supported")
    arrays: dict[str, np.ndarray] = {}
    structure = _pack(obj, "", arrays)
    meta = {"format": FORMAT, "version": str(VERSION), "structure": json.dumps(structure)}
    data = safetensors.numpy.save(arrays, metadata=meta)
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".bp-save-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _refuse_pickle(where: str, data: bytes) -> None:
    zipped = data[:4] == b"PK\x03\x04"
    pickled = data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")
    if zipped or pickled:
        kind = "a zip archive of pickles (what torch.save writes)" if zipped else "a pickle"
        raise SerializationError(
            f"{where} is {kind}, not a safetensors file. bp.load never unpickles: loading a "
            "pickle can run any code its author put in it. Convert it once, where PyTorch is "
            "installed, from a source you trust: `import torch, backprop as bp; "
            f"bp.save(torch.load({where!r}, weights_only=True), 'converted.safetensors')` "
            "(or for a state dict, safetensors.torch.save_file(sd, 'model.safetensors')), "
            "then bp.load the new file."
        )


def load(f, map_location=None, pickle_module=None, *, weights_only: bool = True, mmap=None, **kw):
    """Load what :func:`save` wrote (tensors come back as Tensors, arrays as arrays), or any
    safetensors file (a dict of Tensors). ``map_location``, ``weights_only`` and ``mmap`` are
    accepted for PyTorch's signature; nothing here can run code, whatever they say."""
    if pickle_module is not None:
        raise ValueError("bp.load never unpickles: pickle_module is not supported")
    if hasattr(f, "read"):
        data, where = f.read(), getattr(f, "name", "<file object>")
    else:
        where = os.fspath(f)
        with open(where, "rb") as fh:
            data = fh.read()
    _refuse_pickle(str(where), data)
    try:
        arrays = safetensors.numpy.load(data)
        meta = _metadata(data)
    except SerializationError:
        raise
    except Exception as e:  # safetensors raises its own SafetensorError
        raise SerializationError(f"{where} is not a readable safetensors file: {e}") from None
    if meta.get("format") != FORMAT:  # a plain safetensors file: names to tensors
        return OrderedDict((k, Tensor(arrays[k])) for k in _ordered_keys(data, arrays))
    if int(meta.get("version", 0)) > VERSION:
        raise SerializationError(
            f"{where} was written by a newer backprop (format version {meta['version']}; this "
            f"one reads {VERSION}); upgrade backprop to read it"
        )
    try:
        structure = json.loads(meta["structure"])
    except (KeyError, ValueError) as e:
        raise SerializationError(f"{where}: its structure metadata is damaged ({e})") from None
    return _unpack(structure, arrays, str(where))


def _header(data: bytes) -> dict:
    if len(data) < 8:
        raise SerializationError("the file is too short to be safetensors")
    n = int.from_bytes(data[:8], "little")
    try:
        return json.loads(data[8 : 8 + n])
    except ValueError as e:
        raise SerializationError(f"its header is not JSON ({e})") from None


def _metadata(data: bytes) -> dict:
    return _header(data).get("__metadata__") or {}


def _ordered_keys(data: bytes, arrays: dict) -> list[str]:
    """The tensors in the order they are laid out in the file (their names' order otherwise
    depends on the writer)."""
    header = {k: v for k, v in _header(data).items() if k != "__metadata__"}
    return sorted(arrays, key=lambda k: header[k]["data_offsets"][0] if k in header else 0)
