"""``backprop.utils``: where PyTorch programs look for ``utils.data``."""

from . import data

__all__ = ["data"]
