"""``nn.utils.rnn``: padding variable-length sequences into one batch, and PyTorch's
``PackedSequence`` (kept here as the padded batch and its lengths; the recurrent layers take
it and give one back, the padded steps not touching the final states).

>>> import backprop as bp
>>> from backprop.nn.utils.rnn import pad_sequence
>>> pad_sequence([bp.ones(2), bp.ones(3)], batch_first=True).tolist()
[[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import ops
from ...tensor import Tensor


def pad_sequence(
    sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"
) -> Tensor:
    """Stack tensors of shapes ``(L_i, *)`` into ``(max L, B, *)`` (or ``(B, max L, *)``),
    filling with ``padding_value`` on the ``padding_side``."""
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in seqs)
    rows = []
    for s in seqs:
        n = longest - s.shape[0]
        if n:
            tail = Tensor._wrap(np.full((n,) + tuple(s.shape[1:]), padding_value, s._data.dtype))
            s = ops.cat([s, tail] if padding_side == "right" else [tail, s], dim=0)
        rows.append(s)
    return ops.stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    if not batch_first:
        padded_sequences = ops.transpose(padded_sequences, 0, 1)
    lens = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths).tolist()
    return [padded_sequences[i, : int(n)] for i, n in enumerate(lens)]


class PackedSequence(NamedTuple):
    """A batch of sequences of different lengths, as PyTorch's: ``data`` holds the steps
    time-major (all sequences' step 0, then step 1, ...), sorted by length descending;
    ``batch_sizes`` how many sequences are still running at each step."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def _lengths(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        lengths = lengths._data
    elif hasattr(lengths, "detach"):
        lengths = lengths.detach().cpu().numpy()
    return np.asarray(lengths, dtype=np.int64).reshape(-1)


def pack_padded_sequence(
    input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (or ``(B, T, *)``) whose sequence ``b`` has
    ``lengths[b]`` steps."""
    lens = _lengths(lengths)
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        order = np.arange(len(lens))
        sorted_idx = unsorted_idx = None
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_idx = Tensor._wrap(order.astype(np.int64))
        unsorted_idx = Tensor._wrap(np.argsort(order).astype(np.int64))
    if batch_first:
        input = ops.transpose(input, 0, 1)
    lens_sorted = lens[order]
    if lens_sorted.size and lens_sorted[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' "
            "that is <= 0"
        )
    input = input[:, order] if sorted_idx is not None else input
    steps = int(lens_sorted[0]) if lens_sorted.size else 0
    batch_sizes = np.array([(lens_sorted > t).sum() for t in range(steps)], dtype=np.int64)
    data = ops.cat([input[t, : int(b)] for t, b in enumerate(batch_sizes)], dim=0)
    return PackedSequence(data, Tensor._wrap(batch_sizes), sorted_idx, unsorted_idx)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
):
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)``."""
    data, bs = sequence.data, sequence.batch_sizes._data
    steps = len(bs)
    if total_length is not None and total_length < steps:
        raise ValueError(
            "Expected total_length to be at least the length of the longest sequence in input, "
            f"but got total_length={total_length} and max sequence length being {steps}"
        )
    total = steps if total_length is None else total_length
    batch = int(bs[0]) if steps else 0
    feat = tuple(data.shape[1:])
    rows, start = [], 0
    for b in bs:
        b = int(b)
        chunk = data[start : start + b]
        start += b
        if b < batch:
            fill = Tensor._wrap(np.full((batch - b,) + feat, padding_value, data._data.dtype))
            chunk = ops.cat([chunk, fill], dim=0)
        rows.append(chunk)
    for _ in range(total - steps):
        rows.append(Tensor._wrap(np.full((batch,) + feat, padding_value, data._data.dtype)))
    out = ops.stack(rows, 0)
    lengths = np.array([(bs > i).sum() for i in range(batch)], dtype=np.int64)
    if sequence.unsorted_indices is not None:
        idx = sequence.unsorted_indices._data
        out = out[:, idx]
        lengths = lengths[idx]
    if batch_first:
        out = ops.transpose(out, 0, 1)
    return out, Tensor._wrap(lengths)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]
