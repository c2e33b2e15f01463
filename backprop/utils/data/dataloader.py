"""``torch.utils.data.dataloader``'s names."""

from ...data.loader import DataLoader, default_collate, default_convert, get_worker_info  # noqa: F401
