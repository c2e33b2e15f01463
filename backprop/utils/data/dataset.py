"""``torch.utils.data.dataset``'s names."""

from ...data.loader import (  # noqa: F401
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
