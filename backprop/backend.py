"""The array-library seam: the only module that knows about an array library other than NumPy.

Everything above this file computes with NumPy's functions and ufuncs. CuPy arrays implement
NumPy's dispatch protocols (``__array_ufunc__`` and ``__array_function__``), so ``np.exp(x)`` or
``np.matmul(a, b)`` on CuPy arrays runs on the GPU and returns CuPy arrays. The few things that
do not dispatch -- creating arrays, ``erf``, scatter-add, moving data between devices -- go
through the functions below, which pick the library from the array they are given.

>>> import numpy as np
>>> get_array_module(np.zeros(3)).__name__
'numpy'
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any

import numpy as np

try:  # CuPy is optional: present only on machines with a CUDA GPU.
    import cupy as _cp  # type: ignore[import-not-found]
    import cupyx.scipy.special as _cp_special  # type: ignore[import-not-found]
except Exception:  # pragma: no cover - depends on the machine
    _cp = None
    _cp_special = None

ndarray = np.ndarray


def cupy_available() -> bool:
    """Whether CuPy imported and can see a GPU."""
    if _cp is None:
        return False
    try:
        return _cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover - depends on the machine
        return False


def get_array_module(a: Any):
    """NumPy, or CuPy when ``a`` is a CuPy array."""
    if _cp is not None and isinstance(a, _cp.ndarray):
        return _cp
    return np


def is_array(a: Any) -> bool:
    """Whether ``a`` is an array of a supported library (NumPy or CuPy)."""
    return isinstance(a, np.ndarray) or (_cp is not None and isinstance(a, _cp.ndarray))


def device_of(a: Any) -> str:
    """``"cpu"`` for NumPy arrays, ``"cuda"`` for CuPy arrays."""
    return "cuda" if get_array_module(a) is not np else "cpu"


def to_device(a: Any, device: str):
    """Move an array to ``"cpu"`` (NumPy) or ``"cuda"`` (CuPy)."""
    if device == "cpu":
        return a.get() if get_array_module(a) is not np else a
    if device in ("cuda", "gpu"):
        if _cp is None:
            raise RuntimeError("device 'cuda' needs CuPy, which is not installed here")
        return _cp.asarray(a)
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def to_numpy(a: Any) -> np.ndarray:
    """A NumPy array with the same values (copies from the GPU when needed)."""
    return a.get() if get_array_module(a) is not np else np.asarray(a)


def _scipy_special():
    # Imported on first use: SciPy costs memory and start-up time that most runs never need.
    import scipy.special

    return scipy.special


def erf(x):
    """The error function, elementwise, on the array's own device."""
    if get_array_module(x) is not np:
        return _cp_special.erf(x)
    return _scipy_special().erf(x)


def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x)), without overflow warnings for large |x|."""
    if get_array_module(x) is not np:
        return _cp_special.expit(x)
    return _scipy_special().expit(x)


_zero_rows: dict = {}


def zero_row(a):
    """A cached zero array that broadcasts against ``a``'s last axis.

    ``np.maximum(a, zero_row(a))`` takes NumPy's vectorised array-array loop, about 3x faster
    than ``np.maximum(a, 0)``, whose scalar operand NumPy does not vectorise.
    """
    if type(a) is not np.ndarray:
        return get_array_module(a).zeros((), a.dtype)
    key = (a.dtype, a.shape[-1] if a.ndim else 0)
    row = _zero_rows.get(key)
    if row is None:
        row = _zero_rows[key] = np.zeros(key[1] if a.ndim else (), a.dtype)
        row.flags.writeable = False
    return row


def scatter_add(target, index, values) -> None:
    """``target[index] += values`` with repeated indices accumulating (unbuffered)."""
    xp = get_array_module(target)
    if xp is np:
        np.add.at(target, index, values)
    else:  # pragma: no cover - GPU only
        import cupyx

        cupyx.scatter_add(target, index, values)


def available_memory() -> int | None:
    """Bytes of memory available to this process (MemAvailable, capped by a cgroup limit),
    or None where it cannot be told."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
            return None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                limit = f.read().strip()
            if limit.isdigit() and int(limit) < 2**60:
                avail = min(avail, int(limit)) if avail is not None else int(limit)
            break
        except OSError:
            continue
    return avail


# ------------------------------------------------------------------------------- threads
# NumPy's BLAS (OpenBLAS in the wheels, or MKL) runs the matmuls with a pool of threads, one
# per core by default. threadpoolctl changes that pool's size at run time, whatever the library.


# Variables that choose the BLAS's threads before it starts; when one is set (or the program
# called set_num_threads) the user has chosen, and nothing changes the count by itself.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_chosen = False  # whether set_num_threads (or --threads) chose the count


def _blas_pools():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def threads_chosen() -> bool:
    """Whether the user chose the BLAS's threads: one of ``THREAD_VARIABLES`` in the
    environment, or a ``set_num_threads`` call (``--threads``). Data-parallel training
    (``bp.distributed``) divides the cores among a node's ranks only when they did not."""
    return _chosen or any(os.environ.get(v, "").strip() for v in THREAD_VARIABLES)


def usable_cores() -> set[int]:
    """The cores this process may run on (its affinity; all of them where that is unknown)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def share_cores(cores: int, ranks_here: int, mine: int | None = None) -> int | None:
    """Limit the BLAS to ``max(1, cores // ranks_here)`` threads (at most ``mine``, the
    cores this process may use), unless the user chose (:func:`threads_chosen`); the count
    set, or None when it was left alone. Not a choice itself: a later ``set_num_threads``
    still wins."""
    if threads_chosen():
        return None
    n = max(1, int(cores) // max(1, int(ranks_here)))
    if mine is not None:
        n = max(1, min(n, int(mine)))
    _blas_pools().limit(limits=n)
    return n


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for the BLAS that runs the matrix products (PyTorch's name).

    Applied with threadpoolctl to every BLAS library loaded in the process (NumPy's, and
    SciPy's when loaded), for the rest of the process. The default is what NumPy would use:
    its BLAS's own choice (one thread per core, or ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS``
    when set).

    >>> import backprop as bp
    >>> before = bp.get_num_threads()
    >>> bp.set_num_threads(1)
    >>> bp.get_num_threads()
    1
    >>> bp.set_num_threads(before)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive whole number of threads, got {n!r}")
    global _chosen
    _chosen = True
    _blas_pools().limit(limits=int(n))


@contextmanager
def blas_threads(n: int | None):
    """``set_num_threads(n)`` for a ``with`` block, the previous count (and whether it was
    the user's choice) restored after it; ``None`` leaves the count as it is."""
    global _chosen
    if n is None:
        yield
        return
    before, was_chosen = get_num_threads(), _chosen
    set_num_threads(n)
    try:
        yield
    finally:
        _blas_pools().limit(limits=before)
        _chosen = was_chosen


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses for matrix products (PyTorch's name)."""
    pools = _blas_pools().lib_controllers
    if not pools:  # a NumPy without a threaded BLAS
        return 1
    mine = [p for p in pools if "numpy" in p.filepath] or pools
    return int(mine[0].num_threads)
