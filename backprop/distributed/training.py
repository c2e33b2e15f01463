"""What ``bp.train.fit`` and ``evaluate`` do differently under data-parallel training.

Every rank iterates over the same global batches (the same shuffle: the same seed, the same
generator draws on every rank) and keeps the rows ``[lo, hi)`` of each that are its share;
shares differ by at most one row. A rank's loss is the mean over its share, so before the
all-reduce (which averages over ranks) its gradient is weighted by ``N * share / batch``:
the result is the gradient of the mean over the whole global batch, one process's gradient,
also for a last batch that does not divide evenly. Dropout draws its mask for the whole
global batch on every rank and keeps its share's rows (``bp.random.batch_random``), so the
masks, and every later draw, are one process's too.
"""

from __future__ import annotations

import numpy as np

from .. import random as _random
from ..tensor import Tensor
from . import group


def shard_bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    """Rows ``[lo, hi)`` of an ``n``-row batch that ``rank`` of ``size`` computes.

    >>> [shard_bounds(7, r, 2) for r in range(2)]
    [(0, 4), (4, 7)]
    """
    q, r = divmod(n, size)
    lo = rank * q + min(rank, r)
    return lo, lo + q + (rank < r)


def my_rows(n: int) -> tuple[int, int]:
    """This process's rows of an ``n``-row batch (all of them without a process group)."""
    return shard_bounds(n, group.get_rank(), group.get_world_size())


def _rows(t, lo: int, hi: int):
    if isinstance(t, Tensor):
        return Tensor._wrap(t._data[lo:hi])
    return t[lo:hi]


class DataParallel:
    """The trainer's side of data parallelism: a ``DistributedDataParallel`` around the
    model, each batch's share, the weighted backward, the sums of the epoch's totals."""

    def __init__(self, model) -> None:
        from ..nn.parallel import DistributedDataParallel

        self.rank, self.size = group.get_rank(), group.get_world_size()
        self.ddp = DistributedDataParallel(model)
        self.batch = self.share = 0

    @staticmethod
    def active() -> bool:
        return group.is_initialized() and group.get_world_size() > 1

    def shard(self, x, y):
        """This rank's rows of the global batch ``(x, y)``."""
        lo, hi = shard_bounds(len(x), self.rank, self.size)
        self.batch, self.share = len(x), hi - lo
        _random._batch_shard = (len(x), lo, hi)
        return _rows(x, lo, hi), _rows(y, lo, hi)

    def backward(self, loss) -> None:
        """``loss.backward()`` weighted so that the averaged gradient is the global batch's."""
        self.ddp.reducer.prepare()
        weight = self.size * self.share / self.batch
        loss.backward(None if weight == 1.0 else np.asarray(weight, dtype=loss._data.dtype))

    def backward_without_data(self) -> None:
        """An empty share (fewer rows than ranks): join the all-reduce with zeros."""
        self.ddp.sync_gradients()

    def close(self) -> None:
        _random._batch_shard = None
        self.ddp.reducer.remove()


def sum_over_ranks(*values: float) -> list[float]:
    return group.sum_values(*values)
