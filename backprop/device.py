"""Devices as PyTorch names them: ``bp.device("cpu")``, ``bp.cuda.is_available()``,
``bp.accelerator``, ``bp.set_default_device``. The CPU is NumPy; "cuda" is CuPy when it is
installed and sees a GPU (``backend.py`` is the only module that touches it).

>>> import backprop as bp
>>> bp.device("cpu"), str(bp.device("cpu")), bp.device("cpu") == "cpu"
(device(type='cpu'), 'cpu', True)
"""

from __future__ import annotations

import types

import numpy as np

from . import backend

_KINDS = {"cpu": "cpu", "cuda": "cuda", "gpu": "cuda"}


class device:  # noqa: N801 - PyTorch's name
    """A device: ``device("cpu")``, ``device("cuda")``, ``device("cuda:0")``, ``("cuda", 0)``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):  # noqa: A002 - PyTorch's name
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):  # a CUDA ordinal
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string or a device, got {type!r}")
        kind, _, idx = type.partition(":")
        if kind not in _KINDS:
            raise RuntimeError(
                f"device: expected one of cpu, cuda device type at start of device string: {type!r}"
            )
        if idx:
            index = int(idx)
        self.type = _KINDS[kind]
        self.index = index

    def __repr__(self) -> str:
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{extra})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, ValueError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (
            self.index == other.index or None in (self.index, other.index)
        )

    def __hash__(self) -> int:
        return hash(self.type)

    def __enter__(self):  # ``with bp.device("cpu"):`` sets the default device, as in PyTorch
        self._prev = _default[0]
        set_default_device(self)
        return self

    def __exit__(self, *exc):
        _default[0] = self._prev
        return False


def is_device(x) -> bool:
    """Whether ``x`` names a device (``"cpu"``, ``"cuda:0"``, a ``device``), not a dtype."""
    if isinstance(x, device):
        return True
    return isinstance(x, str) and x.partition(":")[0] in _KINDS


_default = [device("cpu")]


def set_default_device(dev) -> None:
    """The device factories (``zeros``, ``randn``, ...) make tensors on when not told."""
    d = device("cpu") if dev is None else device(dev)
    if d.type == "cuda" and not backend.cupy_available():
        raise RuntimeError(
            "set_default_device: device 'cuda' needs CuPy and a GPU, not present here"
        )
    _default[0] = d


def get_default_device() -> device:
    return _default[0]


def place(arr, dev=None):
    """``arr`` on device ``dev`` (the default device when None)."""
    d = _default[0] if dev is None else device(dev)
    if d.type == "cpu":
        return arr if backend.get_array_module(arr) is np else backend.to_numpy(arr)
    return backend.to_device(arr, "cuda")


def _count() -> int:
    if not backend.cupy_available():
        return 0
    return int(backend._cp.cuda.runtime.getDeviceCount())  # type: ignore[union-attr]


def _current_accelerator(check_available: bool = False):
    return device("cuda") if backend.cupy_available() else None


cuda = types.SimpleNamespace(
    is_available=backend.cupy_available,
    device_count=_count,
    current_device=lambda: 0,
    manual_seed=lambda seed: None,
    manual_seed_all=lambda seed: None,
    synchronize=lambda device=None: None,
    empty_cache=lambda: None,
)
cuda.__doc__ = "PyTorch's torch.cuda queries: a GPU is there when CuPy sees one."

accelerator = types.SimpleNamespace(
    is_available=backend.cupy_available,
    current_accelerator=_current_accelerator,
    device_count=_count,
)

mps = types.SimpleNamespace(is_available=lambda: False)
backends = types.SimpleNamespace(mps=mps, cuda=types.SimpleNamespace(is_built=lambda: False))
