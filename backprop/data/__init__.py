"""Data: datasets and the loader that batches them, bundled datasets, CSV and IDX (MNIST) files.

``Dataset``/``TensorDataset``/``DataLoader`` follow PyTorch. ``load_dataset(name)`` is the one
entry point for everything else: a bundled real dataset (through scikit-learn), a synthetic
2-D one, a CSV file or a directory of MNIST-format IDX files. It returns :class:`Splits`:
stratified train/val/test arrays, standardised with statistics from the training split only.
Regression targets are standardised too (``Splits.target_standardizer`` maps them back), so
one learning rate suits every dataset whatever the targets' units.

>>> import backprop as bp
>>> s = load_dataset("iris", seed=0)
>>> s.X_train.shape, s.num_classes, s.task
((106, 4), 3, 'classification')
>>> xb, yb = next(iter(DataLoader(s.train, batch_size=32, shuffle=True, seed=0)))
>>> xb.shape, yb.dtype
((32, 4), dtype('int64'))

No file is ever unpickled: CSV and IDX are parsed in ``files``, bundled data come from
scikit-learn. ``loader`` and ``sampler`` hold the PyTorch classes (also importable as
``backprop.utils.data``), ``datasets`` the splits and names.
"""

from .datasets import Splits, Standardizer, available_datasets, load_dataset, load_mnist
from .files import DataError, Table, load_csv, load_idx
from .loader import (
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataError",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "random_split",
    "TensorDataset",
    "DataLoader",
    "Standardizer",
    "Splits",
    "Table",
    "available_datasets",
    "load_dataset",
    "load_csv",
    "load_idx",
    "load_mnist",
]
