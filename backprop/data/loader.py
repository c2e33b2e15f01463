"""Datasets and the DataLoader that batches them, as in ``torch.utils.data`` (also importable
as ``backprop.utils.data``).

>>> import numpy as np
>>> loader = DataLoader(TensorDataset(np.zeros((5, 2)), np.arange(5)), batch_size=2)
>>> [y.tolist() for _, y in loader]
[[0, 1], [2, 3], [4]]

Batches are Tensors: a ``TensorDataset`` is batched with one fancy-index per tensor per batch;
any other dataset's samples are combined by ``collate_fn`` (``default_collate``: arrays and
tensors stacked, numbers to tensors, tuples, lists and dicts collated field by field).
``num_workers`` is accepted and ignored: loading runs in the calling process.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .. import random as _random
from ..tensor import Tensor
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = [
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "get_worker_info",
    "random_split",
]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``).
    ``a + b`` concatenates two datasets."""

    def __getitem__(self, index) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define ``__iter__`` (no indexing, no
    shuffling; the DataLoader batches what it yields)."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} does not define __iter__")


class TensorDataset(Dataset):
    """Tensors (or arrays) sharing their first dimension; sample ``i`` is
    ``(a[i], b[i], ...)``. ``tensors`` holds them as Tensors (sharing memory with arrays).

    >>> import numpy as np
    >>> ds = TensorDataset(np.zeros((4, 2)), np.arange(4))
    >>> len(ds), ds[1][1].item()
    (4, 1)
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(
            t if isinstance(t, Tensor) else Tensor._wrap(np.asarray(t)) for t in tensors
        )
        if any(t.ndim == 0 for t in self.tensors) or len({t.shape[0] for t in self.tensors}) > 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
            raise ValueError(f"Size mismatch between tensors: first dimensions differ ({shapes})")

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """The underlying arrays (what the DataLoader fancy-indexes)."""
        return tuple(t._data for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index) -> tuple[Tensor, ...]:
        return tuple(Tensor._wrap(np.asarray(t._data[index])) for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Datasets one after another: index ``i`` runs through the first, then the second..."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        if any(isinstance(d, IterableDataset) for d in self.datasets):
            raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        if idx < 0:
            if -idx > len(self):
                raise IndexError("absolute value of index should not exceed dataset length")
            idx += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def random_split(dataset: Dataset, lengths: Sequence[int | float], generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given ``lengths``, or of
    the given fractions of its length (remainders go one each to the first subsets, as in
    PyTorch). ``generator`` (a ``bp.Generator``) makes the split reproducible.

    >>> import backprop as bp
    >>> train, val = random_split(range(10), [0.8, 0.2], generator=bp.Generator().manual_seed(0))
    >>> len(train), len(val), sorted(list(train) + list(val)) == list(range(10))
    (8, 2, True)
    """
    n = len(dataset)
    lengths = list(lengths)
    if (
        math.isclose(sum(lengths), 1)
        and sum(lengths) <= 1
        and any(isinstance(x, float) for x in lengths)
    ):
        if any(not 0 <= f <= 1 for f in lengths):
            raise ValueError(f"random_split: fractions must be between 0 and 1, got {lengths}")
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(
            "Sum of input lengths does not equal the length of the input dataset! "
            f"({sum(lengths)} vs {n})"
        )
    order = _random.numpy_generator(generator).permutation(n).tolist()
    out, offset = [], 0
    for k in lengths:
        out.append(Subset(dataset, order[offset : offset + k]))
        offset += k
    return out


def get_worker_info() -> None:
    """None: data loading always runs in the calling process."""
    return None


# ---------------------------------------------------------------------------------------------
# Collation: a list of samples to one batch
# ---------------------------------------------------------------------------------------------
def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, as PyTorch's ``default_collate``: Tensors and
    arrays stacked along a new first dim, floats to a float64 tensor and ints to int64 (as
    PyTorch), strings kept as a list, and tuples, lists and dicts collated field by field."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor._wrap(np.stack([s._data for s in batch]))
    if isinstance(elem, (np.ndarray, np.generic)):
        return Tensor._wrap(np.stack([np.asarray(s) for s in batch]))
    if isinstance(elem, bool):
        return Tensor._wrap(np.asarray(batch, dtype=bool))
    if isinstance(elem, float):
        return Tensor._wrap(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):
        return Tensor._wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        if len({len(s) for s in batch}) != 1:
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    if hasattr(elem, "__array__"):  # a torch tensor, a CuPy array...
        return Tensor._wrap(np.stack([np.asarray(s) for s in batch]))
    raise TypeError(
        f"default_collate: batch must contain tensors, arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


def default_convert(data: Any) -> Any:
    """A sample as it is yielded when ``batch_size=None``: arrays become Tensors."""
    if isinstance(data, np.ndarray):
        return Tensor._wrap(data)
    if isinstance(data, Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return [default_convert(d) for d in data]
    return data


# ---------------------------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------------------------
def _tensor_base(dataset) -> tuple[TensorDataset | None, np.ndarray | None]:
    """A TensorDataset under (possibly nested) Subsets, and the index map into it: such a
    dataset (what ``random_split`` returns) is batched with one fancy-index per tensor too."""
    mapping = None
    while isinstance(dataset, Subset):
        idx = np.asarray(dataset.indices, dtype=np.int64)
        mapping = idx if mapping is None else idx[mapping]
        dataset = dataset.dataset
    if not isinstance(dataset, TensorDataset):
        return None, None
    return dataset, mapping


class DataLoader:
    """Batches of a dataset as Tensors, with PyTorch's arguments: ``batch_size``, ``shuffle``
    (a new order every epoch), ``sampler`` or ``batch_sampler`` (which indices, in which
    groups), ``drop_last``, ``collate_fn`` and ``generator``.

    Shuffling draws from ``generator`` (a ``bp.Generator``), else from a generator seeded
    with ``seed`` (backprop's shortcut), else from the global one (``bp.manual_seed``).

    >>> import numpy as np
    >>> loader = DataLoader(TensorDataset(np.arange(10.0), np.arange(10)), batch_size=4)
    >>> len(loader), [x.shape for x, y in loader]
    (3, [(4,), (4,), (2,)])
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: int | None = None,
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer value, got {batch_size}")
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative")
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.seed = seed
        if generator is None and seed is not None:
            generator = np.random.default_rng(seed)
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise ValueError(
                "DataLoader with IterableDataset: expected unspecified shuffle, sampler and "
                "batch_sampler options"
            )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
            self.batch_size, self.drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive "
                "with drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else (SequentialSampler(dataset))
            )
        if batch_sampler is None and batch_size is not None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.shuffle = bool(shuffle)
        self._auto_collation = batch_sampler is not None or (
            self._iterable and batch_size is not None
        )
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._default_collate = collate_fn is default_collate

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError if the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            yield from self._iter_stream()
            return
        if self.batch_sampler is None:  # batch_size=None: one sample at a time
            for i in self.sampler:
                yield self.collate_fn(self.dataset[i])
            return
        base, mapping = _tensor_base(self.dataset) if self._default_collate else (None, None)
        for indices in self.batch_sampler:
            if base is not None:
                # Fancy indexing copies, so a batch never aliases the dataset's arrays.
                index = np.asarray(indices, dtype=np.int64)
                if mapping is not None:
                    index = mapping[index]
                yield [Tensor._wrap(a[index]) for a in base.arrays]
            else:
                yield self.collate_fn([self.dataset[i] for i in indices])

    def _iter_stream(self) -> Iterator[Any]:
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)
