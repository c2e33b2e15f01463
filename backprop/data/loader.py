"""Dataset, TensorDataset and DataLoader, as in PyTorch: samples, and the batches of them.

>>> loader = DataLoader(TensorDataset(np.zeros((5, 2)), np.arange(5)), batch_size=2)
>>> [tuple(y._data.tolist()) for _, y in loader]
[(0, 1), (2, 3), (4,)]
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import random as _random
from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "DataLoader"]


# ---------------------------------------------------------------------------------------------
# Dataset and DataLoader
# ---------------------------------------------------------------------------------------------
class Dataset(ABC):
    """A sized collection of samples: subclasses define ``__len__`` and ``__getitem__``."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __getitem__(self, index: int) -> Any: ...


class TensorDataset(Dataset):
    """Arrays (or Tensors) sharing their first dimension; sample ``i`` is ``(a[i], b[i], ...)``.

    >>> ds = TensorDataset(np.zeros((4, 2)), np.arange(4))
    >>> len(ds), ds[1][1]
    (4, np.int64(1))
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(np.asarray(t) for t in tensors)
        if any(a.ndim == 0 for a in self.arrays) or len({len(a) for a in self.arrays}) > 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"TensorDataset arrays must share their first dimension; got {shapes}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        return tuple(a[index] for a in self.arrays)


class DataLoader:
    """Batches of a dataset as Tensors, optionally shuffled: a new order every epoch.

    With ``seed`` the sequence of epoch orders is reproducible; without, shuffling draws from
    backprop's global generator (``bp.manual_seed``). A :class:`TensorDataset` is batched with
    one fancy-index per array per batch; other datasets are stacked sample by sample.

    >>> loader = DataLoader(TensorDataset(np.arange(10.0), np.arange(10)), batch_size=4)
    >>> len(loader), [x.shape for x, y in loader]
    (3, [(4,), (4,), (2,)])
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.shuffle, self.drop_last, self.seed = shuffle, drop_last, seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        if self.shuffle:
            rng = self._rng if self._rng is not None else _random.default_generator()
            order = rng.permutation(n)
        else:
            order = np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            if isinstance(self.dataset, TensorDataset):
                # Fancy indexing copies, so a batch never aliases the dataset's arrays.
                yield tuple(Tensor(a[index]) for a in self.dataset.arrays)
            else:
                yield _collate([self.dataset[int(i)] for i in index])


def _collate(samples: list) -> Any:
    if isinstance(samples[0], (tuple, list)):
        return tuple(
            Tensor(np.stack([np.asarray(s[k]) for s in samples])) for k in range(len(samples[0]))
        )
    return Tensor(np.stack([np.asarray(s) for s in samples]))
