"""DistributedSampler: each rank's share of a dataset, a new shuffle every epoch.

>>> s = DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False)
>>> list(s), len(s)
([1, 4, 7, 0], 4)
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ..data.sampler import Sampler
from . import group


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads (PyTorch's
    ``torch.utils.data.distributed.DistributedSampler``): the whole index list, shuffled with
    ``seed + epoch`` (the same order on every rank), padded by repeating its start so it
    divides evenly (or cut, with ``drop_last``), then every ``num_replicas``-th index from
    ``rank``. Pass it to ``DataLoader(dataset, batch_size=..., sampler=sampler)`` and call
    ``set_epoch(epoch)`` before each epoch, else every epoch has the same order.

    With ``batch_size`` b per rank, batch i of the N ranks together holds exactly the
    samples of batch i of one process with batch size N*b in the same order, so data
    parallel training sees the same global batches as one process.
    """

    def __init__(
        self,
        dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        self.num_replicas = group.get_world_size() if num_replicas is None else int(num_replicas)
        self.rank = group.get_rank() if rank is None else int(rank)
        if self.num_replicas < 1 or not 0 <= self.rank < self.num_replicas:
            raise ValueError(
                f"Invalid rank {self.rank}, rank should be in the interval "
                f"[0, {self.num_replicas - 1}]"
            )
        self.dataset, self.shuffle, self.seed, self.drop_last = dataset, shuffle, seed, drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            indices = np.arange(n)
        if self.total_size > n:  # pad with the first indices, repeated if need be
            indices = np.resize(indices, self.total_size)
        indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``__iter__`` use the order of ``epoch`` (the same on every rank)."""
        self.epoch = int(epoch)
