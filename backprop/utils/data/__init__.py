"""``backprop.utils.data``: PyTorch's ``torch.utils.data`` names, so
``from torch.utils.data import DataLoader`` ports as ``from backprop.utils.data import ...``.

The classes live in ``backprop.data`` (``loader.py`` and ``sampler.py``); this package only
re-exports them.

>>> import backprop as bp
>>> from backprop.utils.data import DataLoader, TensorDataset, random_split
>>> ds = TensorDataset(bp.randn(10, 3), bp.arange(10))
>>> train, val = random_split(ds, [8, 2], generator=bp.Generator().manual_seed(0))
>>> [tuple(x.shape) for x, _ in DataLoader(train, batch_size=4, shuffle=True)]
[(4, 3), (4, 3)]
"""

from ...data.loader import (
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)
from ...data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from ...distributed.sampler import DistributedSampler

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
