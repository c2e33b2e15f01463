"""The process group: which process am I, how many are we, and the collectives, on MPI.

One group, MPI's ``COMM_WORLD`` (duplicated, so the user's own MPI traffic never mixes with
ours). Collectives work in place on a tensor's array (or a NumPy array), as PyTorch's do:
``all_reduce(t)`` leaves the sum over ranks in ``t`` on every rank.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np

from ..tensor import Tensor

# What launchers set in each process they start: MPICH's and Intel MPI's hydra and Slurm's
# srun --mpi=pmi2 (PMI_*), Open MPI's mpirun (OMPI_*), MVAPICH2, Slurm with PMIx (PMIX_*).
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE")

_group = None  # the initialised group, or None


class ReduceOp:
    """How ``all_reduce`` combines the ranks' values (PyTorch's ``dist.ReduceOp``)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class _Group:
    def __init__(self, comm) -> None:
        from mpi4py import MPI

        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.ops = {
            ReduceOp.SUM: MPI.SUM,
            ReduceOp.AVG: MPI.SUM,
            ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN,
            ReduceOp.MAX: MPI.MAX,
        }


def launched_world_size() -> int:
    """How many processes the launcher (``mpiexec``, ``srun``) started, read from the
    environment it sets, without importing MPI; 1 when this process was started alone.

    >>> launched_world_size() >= 1
    True
    """
    for var in SIZE_VARIABLES:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return 1


def is_available() -> bool:
    """Whether mpi4py is installed (``pip install backprop[mpi]`` brings it and MPICH)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    """Whether :func:`init_process_group` has run (and no ``destroy_process_group`` since)."""
    return _group is not None


def _get():
    if _group is None:
        raise RuntimeError(
            "Default process group has not been initialized, please make sure to call "
            "bp.distributed.init_process_group()"
        )
    return _group


def init_process_group(
    backend: str | None = "mpi",
    init_method: str | None = None,
    timeout=None,
    world_size: int = -1,
    rank: int = -1,
    abort_on_error: bool = True,
) -> None:
    """Join the group of processes the MPI launcher started (``mpiexec -n N python ...``).

    Only the ``"mpi"`` backend exists; the rank and world size come from MPI (``world_size``
    and ``rank``, if given, are checked against it). With ``abort_on_error`` (the default) an
    exception that nothing catches on any rank prints its traceback and ends every rank with
    ``MPI_Abort``, instead of leaving the others waiting forever in a collective.
    """
    global _group
    if _group is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if backend not in (None, "mpi"):
        raise ValueError(
            f"init_process_group: backend {backend!r} is not available; backprop "
            "communicates with MPI only (backend='mpi')"
        )
    if not is_available():
        raise RuntimeError(
            "init_process_group: mpi4py is not installed; `pip install backprop[mpi]` "
            "installs it with MPICH (its mpiexec starts the processes)"
        )
    from mpi4py import MPI

    group = _Group(MPI.COMM_WORLD.Dup())
    for name, want, got in (("world_size", world_size, group.size), ("rank", rank, group.rank)):
        if want not in (-1, None) and want != got:
            raise ValueError(
                f"init_process_group: {name}={want} but MPI started this process with "
                f"{name} {got} (mpiexec -n sets them)"
            )
    _group = group
    if abort_on_error:
        from . import failure

        failure.install()
    _share_cores(group)


def _share_cores(group: _Group) -> None:
    """Divide the node's cores among its ranks' BLAS thread pools, as ``torchrun`` sets
    ``OMP_NUM_THREADS=1``: N ranks on one node each running OpenBLAS with a thread per core
    oversubscribe it, and its spinning threads make training many times slower (14x with 2
    ranks on 2 cores, docs/distributed.md). Each rank gets ``max(1, cores // ranks)``
    threads, cores being the union of the node's ranks' affinities (all the node's cores
    unless the launcher bound the ranks), and never more than its own affinity. Only when
    the user has not chosen (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``,
    ``MKL_NUM_THREADS``, ``--threads``, ``bp.set_num_threads``); rank 0 says so once."""
    from ..backend import share_cores, usable_cores

    if group.size <= 1:
        return
    MPI = group.MPI
    mine = usable_cores()
    # collectives: every rank of the node takes part, whatever it decides afterwards
    node = group.comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        ranks_here = node.Get_size()
        width = np.array([max(mine) + 1], np.int64)
        node.Allreduce(MPI.IN_PLACE, width, op=MPI.MAX)
        mask = np.zeros(int(width[0]), np.uint8)
        mask[sorted(mine)] = 1
        node.Allreduce(MPI.IN_PLACE, mask, op=MPI.MAX)
    finally:
        node.Free()
    cores = int(mask.sum())
    n = share_cores(cores, ranks_here, len(mine))
    if n is not None and group.rank == 0:
        print(
            f"backprop: {ranks_here} ranks on {cores} cores of this node: {n} BLAS thread"
            f"{'s' if n != 1 else ''} per rank (set OPENBLAS_NUM_THREADS, or --threads, "
            "to choose)",
            file=sys.stderr,
            flush=True,
        )


def init_from_launcher() -> bool:
    """Initialise the group if a launcher started this process among several (``mpiexec -n
    N`` with N > 1) and it is not initialised yet; whether a group of several exists now.
    ``backprop train`` calls it: run under ``mpiexec`` it trains data-parallel by itself."""
    if _group is None and launched_world_size() > 1:
        init_process_group()
    return _group is not None and _group.size > 1


def is_leader() -> bool:
    """Whether this process writes the files and prints the reports: rank 0 (or alone)."""
    return _group is None or _group.rank == 0


def barrier_if_initialized() -> None:
    """``barrier()`` in a group of several processes; nothing in a process alone."""
    if _group is not None and _group.size > 1:
        _group.comm.Barrier()


def destroy_process_group(group=None) -> None:
    """Leave the group: collectives are refused afterwards (MPI itself ends at exit)."""
    global _group
    if _group is None:
        return
    from . import failure

    failure.uninstall()
    g, _group = _group, None
    g.comm.Free()


def get_rank(group=None) -> int:
    """This process's number, 0 to world size - 1 (0 in a process that has no group)."""
    return _group.rank if _group is not None else 0


def get_world_size(group=None) -> int:
    """How many processes train together (1 in a process that has no group)."""
    return _group.size if _group is not None else 1


class Work:
    """What an ``async_op=True`` collective returns: ``wait()`` blocks until it is done."""

    def __init__(self, request, finish=None) -> None:
        self._request, self._finish = request, finish

    def is_completed(self) -> bool:
        return self._request is None or bool(self._request.Test())

    def wait(self, timeout=None) -> bool:
        if self._request is not None:
            self._request.Wait()
            self._request = None
            if self._finish is not None:
                self._finish()
        return True


def _buffer(tensor):
    """The contiguous array a collective reads and writes, and how to copy it back."""
    arr = tensor._data if isinstance(tensor, Tensor) else tensor
    if not isinstance(arr, np.ndarray):
        raise TypeError(
            f"collectives take a bp.Tensor or a NumPy array, got {type(tensor).__name__}"
        )
    if arr.flags.c_contiguous and arr.flags.writeable:
        return arr, None
    work = np.ascontiguousarray(arr)
    return work, lambda: np.copyto(arr, work)


def all_reduce(tensor, op: str = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` over every rank, in place: afterwards each rank holds the sum (or
    the mean, product, min, max) of all the ranks' values."""
    g = _get()
    if op not in g.ops:
        raise ValueError(f"all_reduce: unknown op {op!r}; use a bp.distributed.ReduceOp")
    buf, copy_back = _buffer(tensor)
    if op == ReduceOp.AVG and buf.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating dtype, got {buf.dtype}")

    def finish():
        if op == ReduceOp.AVG:
            buf[...] /= g.size
        if copy_back is not None:
            copy_back()

    if async_op:
        return Work(g.comm.Iallreduce(g.MPI.IN_PLACE, buf, op=g.ops[op]), finish)
    g.comm.Allreduce(g.MPI.IN_PLACE, buf, op=g.ops[op])
    finish()
    return None


def broadcast(tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place."""
    g = _get()
    if not 0 <= src < g.size:
        raise ValueError(f"broadcast: src {src} is not a rank of a group of {g.size}")
    buf, copy_back = _buffer(tensor)
    if async_op:
        return Work(g.comm.Ibcast(buf, root=src), copy_back)
    g.comm.Bcast(buf, root=src)
    if copy_back is not None:
        copy_back()
    return None


def all_gather(tensor_list: list, tensor, group=None, async_op: bool = False):
    """Every rank's ``tensor``, in rank order, copied into ``tensor_list`` on every rank."""
    g = _get()
    if len(tensor_list) != g.size:
        raise ValueError(
            f"all_gather: tensor_list has {len(tensor_list)} entries for {g.size} ranks"
        )
    send = np.ascontiguousarray(tensor._data if isinstance(tensor, Tensor) else tensor)
    recv = np.empty((g.size, *send.shape), send.dtype)
    g.comm.Allgather(send, recv)
    for out, part in zip(tensor_list, recv):
        np.copyto(out._data if isinstance(out, Tensor) else out, part)
    return Work(None) if async_op else None


def barrier(group=None, async_op: bool = False):
    """Wait until every rank has reached this call."""
    g = _get()
    if async_op:
        return Work(g.comm.Ibarrier())
    g.comm.Barrier()
    return None


def sum_values(*values: float) -> list[float]:
    """The sums over ranks of a few numbers, in one float64 all-reduce (the trainer's
    epoch totals); the numbers themselves in a process that has no group."""
    if _group is None or _group.size == 1:
        return list(values)
    buf = np.array(values, dtype=np.float64)
    _group.comm.Allreduce(_group.MPI.IN_PLACE, buf, op=_group.MPI.SUM)
    return buf.tolist()


def abort(exit_code: int = 1) -> None:
    """End every rank of the job now with ``exit_code`` (``MPI_Abort``); in a process that
    has no group, just this one."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if _group is not None:
        _group.comm.Abort(int(exit_code) or 1)
    os._exit(int(exit_code))
