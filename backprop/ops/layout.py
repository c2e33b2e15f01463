"""Rearranging elements: flip, roll, unfold, diagonals, padding (primitives) and the shape
helpers PyTorch programs use, composed from primitives (repeat, split, chunk, unbind, tril,
triu, meshgrid, movedim, narrow, ...), so they need no rule of their own.

>>> import backprop as bp
>>> x = bp.arange(6.0).reshape(2, 3)
>>> x.flip(1).tolist()
[[2.0, 1.0, 0.0], [5.0, 4.0, 3.0]]
>>> [t.shape for t in x.chunk(2, dim=1)]
[(2, 2), (2, 1)]
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ..autograd import Function, OpError
from ..tensor import Tensor
from .index import _dim, _index_array, index_select
from .unary import _t


class _PadModeError(ValueError, NotImplementedError):
    """An unknown pad mode: PyTorch raises NotImplementedError."""


# ---------------------------------------------------------------------------- primitives


class Flip(Function):
    name = "flip"
    formulas = ("d flip(s)/ds = 1 (the gradient is flipped back)",)

    def forward(self, a, dims):
        self.dims = dims
        return np.flip(a, dims).copy()

    def backward(self, g):
        return (np.flip(g, self.dims),)


class Roll(Function):
    name = "roll"
    formulas = ("d roll(s)/ds = 1 (the gradient is rolled back)",)

    def forward(self, a, shifts, dims):
        self.shifts, self.dims = shifts, dims
        return np.roll(a, shifts, dims)

    def backward(self, g):
        back = tuple(-s for s in self.shifts) if self.dims is not None else -self.shifts
        return (np.roll(g, back, self.dims),)


class Unfold(Function):
    """Windows of ``size`` every ``step`` along ``dim``; the window is a new last dim."""

    name = "unfold"
    formulas = ("d unfold(s)/ds_i = 1 for each window s_i is in (overlaps accumulate)",)

    def forward(self, a, dim, size, step):
        self.shape, self.dim, self.size, self.step = a.shape, dim, size, step
        windows = np.lib.stride_tricks.sliding_window_view(a, size, axis=dim)
        return np.ascontiguousarray(windows[(slice(None),) * dim + (slice(None, None, step),)])

    def backward(self, g):
        grad = np.zeros_like(g, shape=self.shape)
        n = g.shape[self.dim]
        lead = (slice(None),) * self.dim
        for k in range(self.size):  # the k-th element of every window
            grad[lead + (slice(k, k + self.step * (n - 1) + 1, self.step),)] += g[..., k]
        return (grad,)


class DiagEmbed(Function):
    """The last dim of ``s`` as the ``offset`` diagonal of new square last two dims."""

    name = "diag_embed"
    formulas = ("d diag_embed(s)/ds = 1 on the diagonal (the gradient is the diagonal)",)

    def forward(self, a, offset):
        n = a.shape[-1]
        m = n + builtins.abs(offset)
        self.rows = np.arange(n) + builtins.max(-offset, 0)
        self.cols = np.arange(n) + builtins.max(offset, 0)
        out = np.zeros_like(a, shape=a.shape[:-1] + (m, m))
        out[..., self.rows, self.cols] = a
        return out

    def backward(self, g):
        return (g[..., self.rows, self.cols],)


class Pad(Function):
    """Padding of the last dims (``pad`` in ``F.pad``'s order: last dim first); negative
    widths crop. Modes: constant, reflect, replicate, circular."""

    name = "pad"
    formulas = ("d pad(s)/ds_i = 1 for every place s_i is copied to (reflected copies accumulate)",)

    def forward(self, a, crop, widths, mode, value):
        self.shape, self.crop, self.widths = a.shape, crop, widths
        a = a[crop]
        self.inner = a.shape
        if mode == "constant":
            self.map = None
            return np.pad(a, widths, constant_values=value)
        # PyTorch's reading: output place j of a dim reads input place j - before of the
        # whole (uncropped) dim, reflected / clamped / wrapped into it; negative widths crop.
        self.inner = a.shape
        axes = []
        for n, (before, after) in zip(a.shape, widths):
            i = np.arange(-before, n + after)
            if mode == "reflect":
                i = np.abs(i)
                i = np.where(i > n - 1, 2 * (n - 1) - i, i)
            elif mode == "replicate":
                i = np.clip(i, 0, n - 1)
            else:  # circular wraps within what the negative widths leave
                lo, hi = builtins.max(-before, 0), n - builtins.max(-after, 0)
                i = lo + np.mod(i - lo, hi - lo) if hi > lo else i
            axes.append(i)
        strides = np.cumprod((a.shape[1:] + (1,))[::-1])[::-1] if a.ndim else ()
        self.map = (
            sum(
                (ax * st).reshape((-1,) + (1,) * (a.ndim - 1 - k))
                for k, (ax, st) in enumerate(zip(axes, strides))
            )
            if a.ndim
            else np.zeros((), dtype=np.intp)
        )
        return a.reshape(-1)[self.map]

    def backward(self, g):
        if self.map is None:
            inner = g[tuple(slice(w0, w0 + n) for (w0, _), n in zip(self.widths, self.inner))]
        else:
            flat = np.zeros_like(g, shape=(int(np.prod(self.inner)),))
            np.add.at(flat, self.map.reshape(-1), g.reshape(-1))
            inner = flat.reshape(self.inner)
        grad = np.zeros_like(g, shape=self.shape)
        grad[self.crop] = inner
        return (grad,)


# ---------------------------------------------------------------------------- primitives' API


def _dims_of(dims, ndim: int, op: str) -> tuple:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return tuple(_dim(d, ndim, op) for d in dims)


def flip(input, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (an int or a sequence of ints)."""
    input = _t(input)
    return Flip.apply((input,), _dims_of(dims, input._data.ndim, "flip"))


def fliplr(input) -> Tensor:
    return flip(input, 1)


def flipud(input) -> Tensor:
    return flip(input, 0)


def roll(input, shifts, dims=None) -> Tensor:
    """Shift elements cyclically by ``shifts`` along ``dims`` (the flat tensor if no dims)."""
    input = _t(input)
    if dims is None:
        if not isinstance(shifts, int):
            shifts = tuple(shifts)
            if len(shifts) != 1:
                raise OpError("roll: give dims when shifting by more than one amount")
            shifts = shifts[0]
        return Roll.apply((input,), int(shifts), None)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = _dims_of(dims, input._data.ndim, "roll")
    if len(shifts) != len(dims):
        raise OpError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    return Roll.apply((input,), shifts, dims)


def unfold(input, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: all windows of ``size`` elements, ``step`` apart, along
    ``dimension``, which becomes the number of windows; the window is a new last dim."""
    input = _t(input)
    if input._data.ndim == 0:  # PyTorch: the one element as a window of size 1
        _dim(dimension, 0, "unfold")
        if size > 1 or step <= 0:
            raise RuntimeError(f"unfold: size {size} does not fit a 0-d tensor")
        return input.reshape(1)
    dim = _dim(dimension, input._data.ndim, "unfold")
    n = input._data.shape[dim]
    if size > n or size < 0 or step <= 0:
        raise RuntimeError(
            f"unfold: size {size} and step {step} do not fit dimension {dim} of size {n} "
            f"(need 0 <= size <= {n} and step > 0)"
        )
    return Unfold.apply((input,), dim, size, step)


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose (``dim1``, ``dim2``) diagonals at ``offset`` are ``input``'s last dim."""
    input = _t(input)
    out = DiagEmbed.apply((input,), offset)
    ndim = out._data.ndim
    d1, d2 = _dim(dim1, ndim, "diag_embed"), _dim(dim2, ndim, "diag_embed")
    if (d1, d2) == (ndim - 2, ndim - 1):
        return out
    return movedim(out, (ndim - 2, ndim - 1), (d1, d2))


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset`` diagonal of the (``dim1``, ``dim2``) planes, as a new last dim."""
    input = _t(input)
    ndim = input._data.ndim
    d1, d2 = _dim(dim1, ndim, "diagonal"), _dim(dim2, ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 are the same dim ({d1})")
    x = movedim(input, (d1, d2), (ndim - 2, ndim - 1))
    n, m = x._data.shape[-2:]
    k = builtins.max(0, builtins.min(n + builtins.min(offset, 0), m - builtins.max(offset, 0)))
    rows = np.arange(k) + builtins.max(-offset, 0)
    return x[..., rows, rows + offset]


def diag(input, diagonal: int = 0) -> Tensor:  # noqa: A002 - PyTorch's names
    """A 1-D input as the ``diagonal`` of a square matrix; a matrix's diagonal as 1-D."""
    input = _t(input)
    if input._data.ndim == 1:
        return diag_embed(input, diagonal)
    if input._data.ndim == 2:
        return globals()["diagonal"](input, diagonal)
    raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got {input._data.ndim} dims")


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:
    """``F.pad``: ``pad`` = (left, right) of the last dim, then of the one before, ...;
    negative widths crop. ``mode``: constant (``value``, 0 by default), reflect,
    replicate or circular."""
    input = _t(input)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input._data.ndim:
        raise RuntimeError(
            f"pad: {len(pad)} widths do not make (before, after) pairs for at most "
            f"{input._data.ndim} dims"
        )
    if mode not in _PAD_MODES:
        raise _PadModeError(f"pad: mode must be one of {', '.join(_PAD_MODES)}, not {mode!r}")
    shape = input._data.shape
    crop = [slice(None)] * len(shape)
    widths = [(0, 0)] * len(shape)
    for i in range(len(pad) // 2):
        d = len(shape) - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        if mode == "constant":
            crop[d] = slice(builtins.max(-before, 0), shape[d] - builtins.max(-after, 0))
            widths[d] = (builtins.max(before, 0), builtins.max(after, 0))
            continue
        widths[d] = (before, after)  # signed: the modes read the whole dim (as PyTorch)
        n = shape[d]
        if n + before + after < 0:
            raise RuntimeError(f"pad: widths {(before, after)} leave a negative size of dim {d}")
        if mode == "reflect" and builtins.max(before, after) >= n:
            raise RuntimeError(
                f"pad: reflect padding ({before}, {after}) must be smaller than the dim's size "
                f"{n} (dim {d})"
            )
        if mode in ("replicate", "circular") and n <= 0 and builtins.max(before, after) > 0:
            raise RuntimeError(f"pad: {mode} padding of an empty dim {d}")
        if mode == "circular" and builtins.max(before, after) > n:
            raise RuntimeError(f"pad: circular padding {(before, after)} is larger than dim {d}")
    fill = 0 if value is None else value
    return Pad.apply((input,), tuple(crop), tuple(widths), mode, fill)


# ---------------------------------------------------------------------------- composites


def _sizes(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def repeat(input, *sizes) -> Tensor:
    """``Tensor.repeat``: tile ``input`` ``sizes[d]`` times along each dim (extra leading
    sizes add dims); composed of reshape, expand and reshape, so copies' gradients add up."""
    input = _t(input)
    sizes = _sizes(sizes)
    if len(sizes) < input._data.ndim:
        raise RuntimeError(
            f"repeat: {len(sizes)} repeat counts for a tensor of {input._data.ndim} dims "
            f"(need at least as many)"
        )
    shape = (1,) * (len(sizes) - input._data.ndim) + input._data.shape
    x = input.reshape(tuple(v for n in shape for v in (1, n)))
    x = x.expand(*[v for r, n in zip(sizes, shape) for v in (r, n)])
    return x.reshape(tuple(r * n for r, n in zip(sizes, shape)))


def tile(input, dims) -> Tensor:
    input = _t(input)
    dims = tuple(dims)
    return repeat(input, (1,) * (input._data.ndim - len(dims)) + dims)


def repeat_interleave(input, repeats, dim=None, *, output_size=None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element) along
    ``dim`` (the flat tensor if None)."""
    input = _t(input)
    if dim is None:
        input, dim = input.reshape(-1), 0
    dim = _dim(dim, input._data.ndim, "repeat_interleave")
    n = input._data.shape[dim]
    if isinstance(repeats, Tensor) and repeats._data.ndim == 0:
        repeats = int(repeats.item())
    if isinstance(repeats, int):
        shape = input._data.shape
        x = input.unsqueeze(dim + 1)
        x = x.expand(*shape[: dim + 1], repeats, *shape[dim + 1 :])
        return x.reshape(shape[:dim] + (n * repeats,) + shape[dim + 1 :])
    counts = _index_array(repeats, "repeat_interleave").reshape(-1)
    if counts.size not in (1, n):
        raise RuntimeError(f"repeat_interleave: {counts.size} repeat counts for {n} elements")
    return index_select(input, dim, np.repeat(np.arange(n), np.broadcast_to(counts, (n,))))


def split(input, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the
    given sizes."""
    input = _t(input)
    dim = _dim(dim, input._data.ndim, "split")
    n = input._data.shape[dim]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and n:
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        sizes = [builtins.min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split: sizes {sizes} do not add up to {n} (dim {dim})")
    lead = (slice(None),) * dim
    starts = np.cumsum([0] + sizes[:-1])
    return tuple(input[lead + (slice(int(s), int(s) + k),)] for s, k in zip(starts, sizes))


def tensor_split(input, indices_or_sections, dim: int = 0) -> tuple:
    input = _t(input)
    dim = _dim(dim, input._data.ndim, "tensor_split")
    n = input._data.shape[dim]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        bounds = [0] + [builtins.min(int(i), n) for i in indices_or_sections] + [n]
        sizes = [builtins.max(b - a, 0) for a, b in zip(bounds, bounds[1:])]
    return split(input, sizes, dim)


def chunk(input, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of equal size along ``dim`` (the last may be smaller)."""
    input = _t(input)
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
    n = input._data.shape[_dim(dim, input._data.ndim, "chunk")]
    return split(input, builtins.max(math.ceil(n / chunks), 1), dim)


def unbind(input, dim: int = 0) -> tuple:
    """The slices along ``dim``, each without that dim."""
    input = _t(input)
    dim = _dim(dim, input._data.ndim, "unbind")
    lead = (slice(None),) * dim
    return tuple(input[lead + (i,)] for i in range(input._data.shape[dim]))


def select(input, dim: int, index: int) -> Tensor:
    input = _t(input)
    dim = _dim(dim, input._data.ndim, "select")
    return input[(slice(None),) * dim + (index,)]


def narrow(input, dim: int, start: int, length: int) -> Tensor:
    """``length`` elements from ``start`` along ``dim`` (a view in PyTorch, a copy here)."""
    input = _t(input)
    dim = _dim(dim, input._data.ndim, "narrow")
    n = input._data.shape[dim]
    start = int(start) + (n if int(start) < 0 else 0)
    if not (0 <= start and length >= 0 and start + length <= n):
        raise IndexError(f"narrow: start {start} + length {length} exceeds dim {dim} of size {n}")
    return input[(slice(None),) * dim + (slice(start, start + length),)]


def unflatten(input, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1)."""
    input = _t(input)
    dim = _dim(dim, input._data.ndim, "unflatten")
    shape = input._data.shape
    return input.reshape(shape[:dim] + tuple(sizes) + shape[dim + 1 :])


def movedim(input, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination``; the others keep their order."""
    input = _t(input)
    ndim = input._data.ndim
    src = _dims_of(source, ndim, "movedim")
    dst = _dims_of(destination, ndim, "movedim")
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: {len(src)} source dims but {len(dst)} destinations")
    order = [d for d in range(ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return input.permute(*order)


def swapaxes(input, axis0: int, axis1: int) -> Tensor:
    return _t(input).transpose(axis0, axis1)


def _triangle(input, diagonal: int, lower: bool) -> Tensor:
    from .elementwise import Where

    input = _t(input)
    if input._data.ndim < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: expected at least 2 dims")
    n, m = input._data.shape[-2:]
    keep = np.tri(n, m, diagonal, dtype=bool)
    if not lower:
        keep = ~np.tri(n, m, diagonal - 1, dtype=bool)
    return Where.apply((input, input._data.dtype.type(0)), keep)


def tril(input, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below ``diagonal``); zeros above."""
    return _triangle(input, diagonal, True)


def triu(input, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above ``diagonal``); zeros below."""
    return _triangle(input, diagonal, False)


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors: ``indexing="ij"`` (matrix, PyTorch's default) or
    ``"xy"`` (Cartesian: the first two dims swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', not {indexing!r}")
    tensors = tuple(_t(t).reshape(-1) for t in tensors)
    place = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        place[0], place[1] = 1, 0
    shape = [0] * len(tensors)
    for t, p in zip(tensors, place):
        shape[p] = t._data.shape[0]
    out = []
    for t, p in zip(tensors, place):
        view = [1] * len(tensors)
        view[p] = shape[p]
        out.append(t.reshape(tuple(view)).expand(*shape))
    return tuple(out)


def view_as(input, other) -> Tensor:
    return _t(input).reshape(tuple(other.shape))


def expand_as(input, other) -> Tensor:
    return _t(input).expand(*other.shape)


def hstack(tensors) -> Tensor:
    from . import cat

    tensors = [_t(t) for t in tensors]
    return cat(tensors, dim=0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    from . import cat

    return cat([t if t._data.ndim > 1 else t.reshape(1, -1) for t in map(_t, tensors)], dim=0)


METHODS = {
    "flip": lambda self, *dims: flip(self, dims[0] if len(dims) == 1 else dims),
    "fliplr": fliplr,
    "flipud": flipud,
    "roll": roll,
    "unfold": unfold,
    "diag_embed": diag_embed,
    "diagonal": diagonal,
    "diag": diag,
    "repeat": repeat,
    "tile": tile,
    "repeat_interleave": repeat_interleave,
    "split": split,
    "tensor_split": tensor_split,
    "chunk": chunk,
    "unbind": unbind,
    "select": select,
    "narrow": narrow,
    "unflatten": unflatten,
    "movedim": movedim,
    "moveaxis": movedim,
    "swapaxes": swapaxes,
    "swapdims": swapaxes,
    "tril": tril,
    "triu": triu,
    "view_as": view_as,
    "reshape_as": view_as,
    "expand_as": expand_as,
}
