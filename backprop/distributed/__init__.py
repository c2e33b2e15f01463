"""``bp.distributed``: data-parallel training across processes and machines on MPI.

PyTorch's names (``torch.distributed``) over mpi4py: start N copies of a program with
``mpiexec -n N`` (or Slurm's ``srun``), call :func:`init_process_group` in each, wrap the model in
:class:`backprop.nn.parallel.DistributedDataParallel` and give each process its share of the
data with :class:`DistributedSampler`. ``backprop train`` does all of this by itself when it
finds itself started by ``mpiexec``. See docs/distributed.md.

Nothing here imports MPI until a process group is initialised, so a single process never
loads it; without ``mpi4py`` installed (``pip install backprop[mpi]``) ``is_available()`` is
False and ``init_process_group`` says how to install it.

>>> import backprop.distributed as dist
>>> dist.is_initialized(), dist.get_world_size(), dist.get_rank()
(False, 1, 0)
"""

from .group import (
    ReduceOp,
    abort,
    all_gather,
    all_reduce,
    barrier,
    barrier_if_initialized,
    broadcast,
    destroy_process_group,
    get_rank,
    get_world_size,
    init_from_launcher,
    init_process_group,
    is_available,
    is_initialized,
    is_leader,
    launched_world_size,
)
from .sampler import DistributedSampler

__all__ = [
    "DistributedSampler",
    "ReduceOp",
    "abort",
    "all_gather",
    "all_reduce",
    "barrier",
    "barrier_if_initialized",
    "broadcast",
    "destroy_process_group",
    "get_rank",
    "get_world_size",
    "init_from_launcher",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_leader",
    "launched_world_size",
]
