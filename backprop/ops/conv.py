"""Convolution and pooling: conv1d/2d/3d, conv_transpose, max and average pooling (plain and
adaptive), im2col (``F.unfold``) and col2im (``F.fold``), each a primitive with its rule.

A convolution reads its input through windows: ``_windows`` lays every window a kernel
visits side by side (a strided view of the padded input, no copy: im2col), and a
``tensordot`` with the weight is the whole forward pass. The rules are the same two moves the
other way round: the weight's gradient is the upstream gradient contracted with the windows,
and the input's gradient is the upstream gradient spread back over the windows it came from
(``_col2im``: one strided add per kernel offset, never a loop over pixels), which is a
transposed convolution. A transposed convolution's forward pass is that spreading and its
rule is a convolution.

Pooling gathers, for every output, the input positions of its window (``tables``, one index
table per spatial dim) and takes their maximum or their sum; the rule sends each output's
gradient back to the position that won (max) or to every position of the window (sum), with
one ``bincount``. Padding and ``ceil_mode`` windows that leave the input point at a slot just
past its end, filled with -inf (max) or 0 (sum), which never receives a gradient.

>>> import backprop as bp
>>> x = bp.ones(1, 1, 4, 4, requires_grad=True)
>>> w = bp.ones(1, 1, 3, 3, requires_grad=True)
>>> y = conv2d(x, w, padding=1)
>>> y[0, 0].tolist()[0]
[4.0, 6.0, 6.0, 4.0]
>>> y.sum().backward()
>>> x.grad[0, 0, 0].tolist()  # how many windows each input sits in
[4.0, 6.0, 6.0, 4.0]
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, OpError
from ..tensor import Tensor
from .unary import _t

# ---------------------------------------------------------------------------- helpers


def _tuple(v, n: int, what: str, op: str) -> tuple:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise OpError(f"{op}: {what} must be an int or a tuple of {n} ints, got {v}")
    return v


def _windows(xp: np.ndarray, kernel, stride, dilation, out) -> np.ndarray:
    """A view (N, C, *out, *kernel) of ``xp`` (N, C, *S): the window of every output position
    (im2col without the copy)."""
    nd = len(kernel)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    v = np.lib.stride_tricks.sliding_window_view(xp, span, axis=tuple(range(2, 2 + nd)))
    pick = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, stride))
    inside = tuple(slice(None, None, d) for d in dilation)
    return v[(slice(None), slice(None)) + pick + inside]


def _col2im(cols: np.ndarray, shape, kernel, stride, dilation) -> np.ndarray:
    """The adjoint of ``_windows``: an array of ``shape`` (N, C, *S) in which every entry of
    ``cols`` (N, C, *out, *kernel) is added at the input position its window read it from.
    One strided add per kernel offset."""
    nd = len(kernel)
    out = cols.shape[2 : 2 + nd]
    res = np.zeros(shape, cols.dtype)
    for pos in np.ndindex(*kernel):
        sl = tuple(
            slice(p * d, p * d + (o - 1) * s + 1, s)
            for p, d, o, s in zip(pos, dilation, out, stride)
        )
        res[(slice(None), slice(None)) + sl] += cols[(Ellipsis,) + pos]
    return res


def _pad_zero(x: np.ndarray, padding) -> np.ndarray:
    if not any(lo or hi for lo, hi in padding):
        return x
    return np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in padding])


def _crop(a: np.ndarray, padding, size) -> np.ndarray:
    sl = tuple(slice(lo, lo + n) for (lo, _), n in zip(padding, size))
    return a[(slice(None), slice(None)) + sl]


def _float_dtype(op: str, *arrays) -> np.dtype:
    arrays = [a for a in arrays if a is not None]
    for a in arrays:
        if a.dtype.kind not in "f":
            raise TypeError(f"{op}: expected floating-point tensors, got {a.dtype}")
    return np.result_type(*arrays)


def _renamed(base, old: str, new: str) -> tuple:
    """A subclass's formulas: the base's, under the subclass's own op name."""
    return tuple(f.replace(f"{old}(", f"{new}(") for f in base.formulas)


# ---------------------------------------------------------------------------- convolution


def _contract_windows(win, w, groups: int, nd: int):
    """Per group, the windows of (N, C, *out, *k) against the kernels of ``w`` (O, C/groups,
    *k): (N, *out, O), groups side by side (a convolution's forward pass)."""
    cw, ck = win.shape[1] // groups, w.shape[0] // groups
    axes = ([1] + list(range(2 + nd, 2 + 2 * nd)), [1] + list(range(2, 2 + nd)))
    parts = [
        np.tensordot(win[:, i * cw : (i + 1) * cw], w[i * ck : (i + 1) * ck], axes)
        for i in range(groups)
    ]
    return parts[0] if groups == 1 else np.concatenate(parts, axis=-1)


def _spread(a, w, groups: int, nd: int):
    """Per group, every value of ``a`` (N, C, *n) times its kernels ``w`` (C, ..., *k):
    (N, O, *n, *k), the columns ``_col2im`` adds into windows (a transposed convolution)."""
    c = a.shape[1] // groups
    cols = [
        np.moveaxis(
            np.tensordot(a[:, i * c : (i + 1) * c], w[i * c : (i + 1) * c], ([1], [0])), 1 + nd, 1
        )
        for i in range(groups)
    ]
    return cols[0] if groups == 1 else np.concatenate(cols, axis=1)


def _kernel_grad(a, win, groups: int, nd: int):
    """Per group, ``a`` (N, A, *n) against the windows (N, W, *n, *k) summed over samples and
    positions: the kernel's gradient, groups stacked along the first dim."""
    ca, cw = a.shape[1] // groups, win.shape[1] // groups
    sp = [0] + list(range(2, 2 + nd))
    return np.concatenate(
        [
            np.tensordot(a[:, i * ca : (i + 1) * ca], win[:, i * cw : (i + 1) * cw], (sp, sp))
            for i in range(groups)
        ],
        axis=0,
    )


class ConvNd(Function):
    """``y[n, o, i] = b[o] + sum over c, k of w[o, c, k] x[n, c, stride*i + dilation*k -
    padding]``, within each group of channels."""

    name = "conv"
    formulas = (
        "d conv(A,B,C)/dA: dL/dA = conv_transpose(dL/dY, B): each output's gradient spread "
        "back over the window it read",
        "d conv(A,B,C)/dB: dL/dB[o,c,k] = sum over n, i of dL/dY[n,o,i] "
        "A[n,c,stride*i+dilation*k-padding]",
        "d conv(A,B,C)/dC: dL/dC[o] = sum over n, i of dL/dY[n,o,i]",
    )
    saved_inputs = (0, 1)

    def forward(self, x, w, b, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        dt = _float_dtype(self.name, x, w, b)
        x, w = x.astype(dt, copy=False), w.astype(dt, copy=False)
        nd = x.ndim - 2
        kernel = w.shape[2:]
        xp = _pad_zero(x, padding)
        out = tuple(
            (n - d * (k - 1) - 1) // s + 1
            for n, k, s, d in zip(xp.shape[2:], kernel, stride, dilation)
        )
        win = _windows(xp, kernel, stride, dilation, out)
        self.saved = (x, w, win)
        y = _contract_windows(win, w, groups, nd)  # (N, *out, O)
        if b is not None:
            y += b.astype(dt, copy=False)
        return np.ascontiguousarray(np.moveaxis(y, -1, 1))

    def backward(self, g):
        x, w, win = self.saved
        groups, nd = self.groups, x.ndim - 2
        gx = gw = gb = None
        if self.needs_grad(0):
            cols = _spread(g, w, groups, nd)  # (N, Cg, *out, *kernel)
            shape = x.shape[:2] + tuple(
                n + lo + hi for n, (lo, hi) in zip(x.shape[2:], self.padding)
            )
            gxp = _col2im(cols, shape, w.shape[2:], self.stride, self.dilation)
            gx = np.ascontiguousarray(_crop(gxp, self.padding, x.shape[2:]))
        if self.needs_grad(1):
            gw = _kernel_grad(g, win, groups, nd)
        if self.needs_grad(2):
            gb = g.sum(axis=(0, *range(2, 2 + nd)))
        return gx, gw, gb


class Conv1d(ConvNd):
    name = "conv1d"
    formulas = _renamed(ConvNd, "conv", "conv1d")


class Conv2d(ConvNd):
    name = "conv2d"
    formulas = _renamed(ConvNd, "conv", "conv2d")


class Conv3d(ConvNd):
    name = "conv3d"
    formulas = _renamed(ConvNd, "conv", "conv3d")


class ConvTransposeNd(Function):
    """The adjoint of a convolution: every input value, times the kernel, is added into the
    output window it would have been read from (``_col2im``), then ``padding`` is cropped."""

    name = "conv_transpose"
    formulas = (
        "d conv_transpose(A,B,C)/dA: dL/dA = conv(dL/dY, B): each input's gradient gathered "
        "from the window it was spread over",
        "d conv_transpose(A,B,C)/dB: dL/dB[c,o,k] = sum over n, i of A[n,c,i] "
        "dL/dY[n,o,stride*i+dilation*k-padding]",
        "d conv_transpose(A,B,C)/dC: dL/dC[o] = sum over n, j of dL/dY[n,o,j]",
    )
    saved_inputs = (0, 1)

    def forward(self, x, w, b, stride, padding, output_padding, groups, dilation):
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        self.groups, self.dilation = groups, dilation
        dt = _float_dtype(self.name, x, w, b)
        x, w = x.astype(dt, copy=False), w.astype(dt, copy=False)
        self.saved = (x, w)
        nd, kernel, og = x.ndim - 2, w.shape[2:], w.shape[1]
        cols = _spread(x, w, groups, nd)  # (N, O, *in, *kernel)
        self.full = tuple(
            (n - 1) * s + d * (k - 1) + 1 + op
            for n, k, s, d, op in zip(x.shape[2:], kernel, stride, dilation, output_padding)
        )
        full = _col2im(cols, (x.shape[0], og * groups) + self.full, kernel, stride, dilation)
        size = tuple(f - 2 * p for f, p in zip(self.full, padding))
        y = np.ascontiguousarray(_crop(full, [(p, p) for p in padding], size))
        if b is not None:
            y += b.astype(dt, copy=False).reshape((-1,) + (1,) * nd)
        return y

    def backward(self, g):
        x, w = self.saved
        groups, nd, kernel = self.groups, x.ndim - 2, w.shape[2:]
        gfull = np.zeros(g.shape[:2] + self.full, g.dtype)
        _crop(gfull, [(p, p) for p in self.padding], g.shape[2:])[...] = g
        win = _windows(gfull, kernel, self.stride, self.dilation, x.shape[2:])  # (N, O, *in, *k)
        gx = gw = gb = None
        if self.needs_grad(0):  # (N, *in, C) -> (N, C, *in)
            gx = np.ascontiguousarray(np.moveaxis(_contract_windows(win, w, groups, nd), -1, 1))
        if self.needs_grad(1):
            gw = _kernel_grad(x, win, groups, nd)
        if self.needs_grad(2):
            gb = g.sum(axis=(0, *range(2, 2 + nd)))
        return gx, gw, gb


class ConvTranspose1d(ConvTransposeNd):
    name = "conv_transpose1d"
    formulas = _renamed(ConvTransposeNd, "conv_transpose", "conv_transpose1d")


class ConvTranspose2d(ConvTransposeNd):
    name = "conv_transpose2d"
    formulas = _renamed(ConvTransposeNd, "conv_transpose", "conv_transpose2d")


class ConvTranspose3d(ConvTransposeNd):
    name = "conv_transpose3d"
    formulas = _renamed(ConvTransposeNd, "conv_transpose", "conv_transpose3d")


# ---------------------------------------------------------------------------- im2col, col2im


class Im2col(Function):
    """``F.unfold``: (N, C, H, W) to (N, C*kh*kw, L), one column per window."""

    name = "im2col"
    formulas = ("d im2col(s)/ds_i = 1 for every window s_i is in (overlaps accumulate: col2im)",)

    def forward(self, x, kernel_size, dilation, padding, stride):
        self.kernel_size, self.dilation, self.padding, self.stride = (
            kernel_size,
            dilation,
            padding,
            stride,
        )
        self.shape = x.shape
        xp = _pad_zero(x, [(p, p) for p in padding])
        out = _conv_out(xp.shape[2:], kernel_size, stride, dilation, "unfold", x.shape)
        self.out = out
        win = _windows(xp, kernel_size, stride, dilation, out)  # (N, C, oh, ow, kh, kw)
        n, c = x.shape[:2]
        return np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(n, -1, out[0] * out[1])

    def backward(self, g):
        n, c = self.shape[:2]
        (kh, kw), (oh, ow) = self.kernel_size, self.out
        cols = g.reshape(n, c, kh, kw, oh, ow).transpose(0, 1, 4, 5, 2, 3)
        pad = [(p, p) for p in self.padding]
        shape = (n, c) + tuple(s + 2 * p for s, p in zip(self.shape[2:], self.padding))
        gxp = _col2im(cols, shape, self.kernel_size, self.stride, self.dilation)
        return (np.ascontiguousarray(_crop(gxp, pad, self.shape[2:])),)


class Col2im(Function):
    """``F.fold``: (N, C*kh*kw, L) to (N, C, H, W), overlapping entries summed."""

    name = "col2im"
    formulas = ("d col2im(s)/ds = 1 (the gradient is im2col of dL/dY)",)

    def forward(self, cols, output_size, kernel_size, dilation, padding, stride):
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride
        n, ckk, length = cols.shape
        kh, kw = kernel_size
        padded = tuple(s + 2 * p for s, p in zip(output_size, padding))
        out = _conv_out(padded, kernel_size, stride, dilation, "fold", cols.shape)
        self.out = out
        c = ckk // (kh * kw)
        win = cols.reshape(n, c, kh, kw, *out).transpose(0, 1, 4, 5, 2, 3)
        full = _col2im(win, (n, c) + padded, kernel_size, stride, dilation)
        return np.ascontiguousarray(_crop(full, [(p, p) for p in padding], output_size))

    def backward(self, g):
        gp = _pad_zero(g, [(p, p) for p in self.padding])
        win = _windows(gp, self.kernel_size, self.stride, self.dilation, self.out)
        n, c = g.shape[:2]
        return (
            np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(
                n, -1, self.out[0] * self.out[1]
            ),
        )


# ---------------------------------------------------------------------------- pooling


def _lowest(dtype):
    """The padding max pooling never picks: -inf, or an integer type's smallest value."""
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min if dtype.kind in "iu" else False


class Pool(Function):
    """The maximum (``mode="max"``) or the sum divided by ``divisor`` (``mode="avg"``) of each
    output's window; ``tables[d][o, k]`` is the input position, along spatial dim ``d``, of
    the ``k``-th element of output ``o``'s window (the dim's size where it falls outside)."""

    name = "pool"
    formulas = (
        "d pool(s)/ds_i = 1 where s_i is its window's maximum (max), 1/divisor for every "
        "s_i of the window (avg); gradients of overlapping windows add up",
    )
    saved_inputs = ()

    def forward(self, x, tables, mode, divisor, window=None):
        self.tables, self.mode, self.divisor, self.window = tables, mode, divisor, window
        if x.dtype.kind not in "fiub" or (mode != "max" and x.dtype.kind != "f"):
            # as PyTorch: max pooling takes integers too (no gradient), averaging does not
            raise TypeError(f"{mode} pooling is not implemented for {x.dtype} input")
        nd = len(tables)
        self.shape = x.shape
        if mode == "max" and window is not None:
            return self._strided_max(x, *window)
        fill = _lowest(x.dtype) if mode == "max" else 0
        xp = np.pad(x, [(0, 0), (0, 0)] + [(0, 1)] * nd, constant_values=fill)
        win = xp[(slice(None), slice(None)) + self._index()]  # (N, C, *out, *k)
        out = tuple(t.shape[0] for t in tables)
        if mode == "max":
            flat = win.reshape(x.shape[:2] + out + (-1,))
            arg = np.argmax(flat, axis=-1)
            y = np.take_along_axis(flat, arg[..., None], -1)[..., 0]
            ks = np.unravel_index(arg, tuple(t.shape[1] for t in tables))
            grid = np.ogrid[tuple(slice(0, o) for o in out)]
            coords = [
                np.minimum(t[grid[d], ks[d]], n - 1)
                for d, (t, n) in enumerate(zip(tables, x.shape[2:]))
            ]
            self.indices = np.ravel_multi_index(coords, x.shape[2:])  # (N, C, *out)
            return y
        y = win.sum(axis=tuple(range(2 + nd, 2 + 2 * nd)))
        return y / np.asarray(divisor, x.dtype)

    def _strided_max(self, x, kernel, stride, padding, dilation):
        """Max pooling of regular windows: one strided view per kernel offset (PyTorch's
        order: a later element wins if larger or NaN, so ties keep the first maximum)."""
        out = tuple(t.shape[0] for t in self.tables)
        spatial = x.shape[2:]
        widths = [
            (p, max(0, (o - 1) * s + d * (k - 1) + 1 - n - p))
            for n, o, k, s, p, d in zip(spatial, out, kernel, stride, padding, dilation)
        ]
        xp = np.pad(x, [(0, 0), (0, 0)] + widths, constant_values=_lowest(x.dtype))
        best = arg = None
        for j, pos in enumerate(np.ndindex(*kernel)):
            sl = tuple(
                slice(q * d, q * d + (o - 1) * s + 1, s)
                for q, d, o, s in zip(pos, dilation, out, stride)
            )
            v = xp[(slice(None), slice(None)) + sl]
            if best is None:
                best, arg = v.copy(), np.zeros(v.shape, np.intp)
                continue
            wins = (v > best) | (v != v)
            np.copyto(best, v, where=wins)
            arg[wins] = j
        ks = np.unravel_index(arg, kernel)
        coords = []
        for dim, (n, o, s, p, d) in enumerate(zip(spatial, out, stride, padding, dilation)):
            o_idx = np.arange(o).reshape((-1,) + (1,) * (len(out) - 1 - dim))
            coords.append(np.clip(o_idx * s - p + ks[dim] * d, 0, n - 1))
        self.indices = np.ravel_multi_index(coords, spatial)
        return best

    def _index(self) -> tuple:
        nd = len(self.tables)
        idx = []
        for d, t in enumerate(self.tables):
            shape = [1] * (2 * nd)
            shape[d], shape[nd + d] = t.shape
            idx.append(t.reshape(shape))
        return tuple(idx)

    def backward(self, g):
        n, c = self.shape[:2]
        spatial = self.shape[2:]
        rows = np.arange(n * c).reshape((n, c) + (1,) * (g.ndim - 2))
        if self.mode == "max":
            size = int(np.prod(spatial))
            where = (rows * size + self.indices).reshape(-1)
            grad = np.bincount(where, weights=g.reshape(-1), minlength=n * c * size)
            return (grad.astype(g.dtype, copy=False).reshape(self.shape),)
        nd = len(self.tables)
        padded = tuple(s + 1 for s in spatial)
        size = int(np.prod(padded))
        flat = np.ravel_multi_index(np.broadcast_arrays(*self._index()), padded)  # (*out, *k)
        share = (g / np.asarray(self.divisor, g.dtype)).reshape(g.shape + (1,) * nd)
        share = np.broadcast_to(share, g.shape + flat.shape[nd:])
        where = (rows.reshape(rows.shape + (1,) * nd) * size + flat).reshape(-1)
        grad = np.bincount(where, weights=share.reshape(-1), minlength=n * c * size)
        grad = grad.astype(g.dtype, copy=False).reshape((n, c) + padded)
        return (
            np.ascontiguousarray(
                grad[(slice(None), slice(None)) + tuple(slice(0, s) for s in spatial)]
            ),
        )


class MaxPool(Pool):
    name = "max_pool"
    formulas = (
        "d max_pool(s)/ds_i = 1 where s_i is its window's maximum, else 0 (windows that overlap "
        "add up)",
    )


class AvgPool(Pool):
    name = "avg_pool"
    formulas = (
        "d avg_pool(s)/ds_i = 1/divisor (the window's size) for each window s_i is in (windows "
        "that overlap add up)",
    )


class AdaptiveMaxPool(Pool):
    name = "adaptive_max_pool"
    formulas = (
        "d adaptive_max_pool(s)/ds_i = 1 where s_i is its window's maximum, else 0 (windows "
        "that overlap add up)",
    )


class AdaptiveAvgPool(Pool):
    name = "adaptive_avg_pool"
    formulas = (
        "d adaptive_avg_pool(s)/ds_i = 1/divisor (the window's size) for each window s_i is "
        "in (windows that overlap add up)",
    )


# ---------------------------------------------------------------------------- sizes and checks


def _conv_out(size, kernel, stride, dilation, op: str, shape) -> tuple:
    out = tuple(
        (n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(size, kernel, stride, dilation)
    )
    if any(o < 1 for o in out):
        raise OpError(
            f"{op}: input of shape {tuple(shape)} (spatial size {tuple(size)} after padding) is "
            f"too small for kernel {tuple(kernel)} with dilation {tuple(dilation)}: calculated "
            f"output size {out}"
        )
    return out


def _pool_out(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    """PyTorch's pooling output size (a window must start inside the input or its left
    padding)."""
    span = d * (k - 1) + 1
    num = n + 2 * p - span + (s - 1 if ceil else 0)
    out = num // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


def _batched(op: str, input: Tensor, nd: int) -> tuple[Tensor, bool]:
    """The input with a batch dim (PyTorch also takes unbatched (C, *S) inputs)."""
    if input.ndim == nd + 1:
        return input.reshape((1,) + tuple(input.shape)), True
    if input.ndim != nd + 2:
        raise OpError(
            f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got "
            f"shape {tuple(input.shape)}"
        )
    return input, False


def _unbatch(y: Tensor, squeeze: bool) -> Tensor:
    return y.reshape(tuple(y.shape)[1:]) if squeeze else y


def _check_positive(op: str, **values) -> None:
    for what, v in values.items():
        if any(i <= 0 for i in v):
            raise OpError(f"{op}: {what} must be positive, got {v}")


# ---------------------------------------------------------------------------- convolution API

_CONV = {1: Conv1d, 2: Conv2d, 3: Conv3d}
_CONV_T = {1: ConvTranspose1d, 2: ConvTranspose2d, 3: ConvTranspose3d}


def _conv(nd, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    op = f"conv{nd}d"
    input, weight = _t(input), _t(weight)
    x, squeeze = _batched(op, input, nd)
    if weight.ndim != nd + 2:
        raise OpError(
            f"{op}: weight must be {nd + 2}-D (out_channels, in_channels/groups, *kernel), got "
            f"shape {tuple(weight.shape)}"
        )
    stride = _tuple(stride, nd, "stride", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    _check_positive(op, stride=stride, dilation=dilation)
    groups = int(groups)
    c, o, cg = x.shape[1], weight.shape[0], weight.shape[1]
    kernel = tuple(weight.shape[2:])
    if groups < 1 or o % groups:
        raise OpError(
            f"{op}: weight {tuple(weight.shape)} has {o} output channels, not divisible by "
            f"groups={groups}"
        )
    if c != cg * groups:
        raise OpError(
            f"{op}: input {tuple(input.shape)} has {c} channels, weight {tuple(weight.shape)} "
            f"expects {cg * groups} (groups={groups})"
        )
    if bias is not None and tuple(bias.shape) != (o,):
        raise OpError(
            f"{op}: bias of shape {tuple(bias.shape)} does not match weight {tuple(weight.shape)}'s"
            f" {o} output channels"
        )
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise OpError(f"{op}: padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            pads = tuple((t // 2, t - t // 2) for t in total)
        else:
            raise OpError(f"{op}: padding must be 'valid', 'same' or ints, got {padding!r}")
    else:
        p = _tuple(padding, nd, "padding", op)
        if any(i < 0 for i in p):
            raise OpError(f"{op}: negative padding {p} is not supported")
        pads = tuple((i, i) for i in p)
    size = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
    _conv_out(size, kernel, stride, dilation, op, input.shape)
    y = _CONV[nd].apply((x, weight, bias), stride, pads, dilation, groups)
    return _unbatch(y, squeeze)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D convolution (cross-correlation, as PyTorch) of (N, C, L) with (O, C/groups, k)."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution of (N, C, H, W) with (O, C/groups, kh, kw); ``padding`` may be ints,
    ``"valid"`` or ``"same"``.

    >>> import backprop as bp
    >>> conv2d(bp.ones(2, 3, 8, 8), bp.ones(4, 3, 3, 3), stride=2, padding=1).shape
    (2, 4, 4, 4)
    """
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """3-D convolution of (N, C, D, H, W) with (O, C/groups, kd, kh, kw)."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(
    nd, input, weight, bias, stride, padding, output_padding, groups, dilation
) -> Tensor:
    op = f"conv_transpose{nd}d"
    input, weight = _t(input), _t(weight)
    x, squeeze = _batched(op, input, nd)
    if weight.ndim != nd + 2:
        raise OpError(
            f"{op}: weight must be {nd + 2}-D (in_channels, out_channels/groups, *kernel), got "
            f"shape {tuple(weight.shape)}"
        )
    stride = _tuple(stride, nd, "stride", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    padding = _tuple(padding, nd, "padding", op)
    output_padding = _tuple(output_padding, nd, "output_padding", op)
    _check_positive(op, stride=stride, dilation=dilation)
    groups = int(groups)
    c = x.shape[1]
    if groups < 1 or weight.shape[0] != c or c % groups:
        raise OpError(
            f"{op}: input {tuple(input.shape)} has {c} channels, weight {tuple(weight.shape)} "
            f"expects {weight.shape[0]} (groups={groups}, which must divide it)"
        )
    o = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (o,):
        raise OpError(
            f"{op}: bias of shape {tuple(bias.shape)} does not match the {o} output channels"
        )
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ < 0 or op_ >= max(s, d):
            raise OpError(
                f"{op}: output padding {output_padding} must be smaller than either stride "
                f"{stride} or dilation {dilation}"
            )
    size = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op_ + 1
        for n, k, s, d, p, op_ in zip(
            x.shape[2:], weight.shape[2:], stride, dilation, padding, output_padding
        )
    )
    if any(i < 1 for i in size) or any(p < 0 for p in padding):
        raise OpError(
            f"{op}: input {tuple(input.shape)} with weight {tuple(weight.shape)}, padding "
            f"{padding}: calculated output size {size} is too small"
        )
    y = _CONV_T[nd].apply(
        (x, weight, bias),
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
    return _unbatch(y, squeeze)


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """The transpose (adjoint) of ``conv1d``: weight (C_in, C_out/groups, k)."""
    return _conv_transpose(
        1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """The transpose (adjoint) of ``conv2d``, the "deconvolution" that upsamples.

    >>> import backprop as bp
    >>> conv_transpose2d(bp.ones(1, 4, 5, 5), bp.ones(4, 2, 3, 3), stride=2, padding=1).shape
    (1, 2, 9, 9)
    """
    return _conv_transpose(
        2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    return _conv_transpose(
        3, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


# ---------------------------------------------------------------------------- pooling API


def _pool_tables(op, shape, kernel, stride, padding, dilation, ceil_mode):
    tables, outs = [], []
    for n, k, s, p, d in zip(shape, kernel, stride, padding, dilation):
        if p * 2 > k:
            raise OpError(
                f"{op}: pad should be at most half of effective kernel size, but got "
                f"pad={p}, kernel_size={k}"
            )
        out = _pool_out(n, k, s, p, d, ceil_mode)
        if out < 1:
            raise OpError(
                f"{op}: input spatial size {tuple(shape)} is too small for kernel {tuple(kernel)}"
                f" (dilation {tuple(dilation)}, padding {tuple(padding)}): output size {out}"
            )
        pos = np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d
        tables.append(np.where((pos >= 0) & (pos < n), pos, n))
        outs.append(out)
    return tuple(tables), tuple(outs)


def _pool_args(op, nd, input, kernel_size, stride, padding, dilation):
    input = _t(input)
    x, squeeze = _batched(op, input, nd)
    kernel = _tuple(kernel_size, nd, "kernel_size", op)
    stride = (
        kernel
        if stride is None or stride == [] or stride == ()
        else _tuple(stride, nd, "stride", op)
    )
    padding = _tuple(padding, nd, "padding", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    _check_positive(op, kernel_size=kernel, stride=stride, dilation=dilation)
    return x, squeeze, kernel, stride, padding, dilation


def _max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    op = f"max_pool{nd}d"
    x, squeeze, kernel, stride, padding, dilation = _pool_args(
        op, nd, input, kernel_size, stride, padding, dilation
    )
    tables, _ = _pool_tables(op, x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    y = MaxPool.apply((x,), tables, "max", 1, (kernel, stride, padding, dilation))
    if not return_indices:
        return _unbatch(y, squeeze)
    window = (kernel, stride, padding, dilation)
    idx = Tensor._wrap(y._ctx.indices if y._ctx is not None else _indices_of(x, tables, window))
    return _unbatch(y, squeeze), _unbatch(idx, squeeze)


def _indices_of(x: Tensor, tables, window=None) -> np.ndarray:
    fn = MaxPool.__new__(MaxPool)
    fn.forward(x._data, tables, "max", 1, window)
    return fn.indices


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """The maximum of each window of (N, C, L); ``stride`` defaults to ``kernel_size``."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """The maximum of each window of (N, C, H, W); ``return_indices`` also gives each
    maximum's flat index ``h * W + w``, as PyTorch.

    >>> import backprop as bp
    >>> max_pool2d(bp.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor):
    op = f"avg_pool{nd}d"
    x, squeeze, kernel, stride, padding, _ = _pool_args(
        op, nd, input, kernel_size, stride, padding, 1
    )
    shape = x.shape[2:]
    tables, outs = _pool_tables(op, shape, kernel, stride, padding, (1,) * nd, ceil_mode)
    if divisor is not None:
        if divisor == 0:
            raise OpError(f"{op}: divisor must be not zero")
        div = float(divisor)
    else:
        div = np.ones((), np.float64)
        for n, k, s, p, o in zip(shape, kernel, stride, padding, outs):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, n + p)
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, n)
            div = np.multiply.outer(div, (end - start).astype(np.float64))
    y = AvgPool.apply((x,), tables, "avg", div)
    return _unbatch(y, squeeze)


def avg_pool1d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """The mean of each window of (N, C, L)."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
) -> Tensor:
    """The mean of each window of (N, C, H, W); padded zeros count unless
    ``count_include_pad=False``; ``divisor_override`` replaces the window's size."""
    return _avg_pool(
        2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool3d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
) -> Tensor:
    return _avg_pool(
        3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def _adaptive_tables(shape, output_size):
    tables, counts = [], []
    for n, o in zip(shape, output_size):
        i = np.arange(o)
        start = (i * n) // o
        end = -((-(i + 1) * n) // o)
        k = int((end - start).max())
        pos = start[:, None] + np.arange(k)[None, :]
        tables.append(np.where(pos < end[:, None], pos, n))
        counts.append((end - start).astype(np.float64))
    div = np.ones((), np.float64)
    for c in counts:
        div = np.multiply.outer(div, c)
    return tuple(tables), div


def _adaptive_size(op, nd, x: Tensor, output_size) -> tuple:
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise OpError(f"{op}: output_size must be an int or {nd} ints, got {output_size}")
    out = tuple(n if o is None else int(o) for n, o in zip(x.shape[2:], output_size))
    if any(o < 1 for o in out) or any(n < 1 for n in x.shape[2:]):
        raise OpError(
            f"{op}: output_size {out} and input {tuple(x.shape)} must have positive sizes"
        )
    return out


def _adaptive(nd, mode, input, output_size, return_indices=False):
    op = f"adaptive_{mode}_pool{nd}d"
    x, squeeze = _batched(op, _t(input), nd)
    out = _adaptive_size(op, nd, x, output_size)
    tables, div = _adaptive_tables(x.shape[2:], out)
    cls = AdaptiveMaxPool if mode == "max" else AdaptiveAvgPool
    y = cls.apply((x,), tables, mode, div if mode == "avg" else 1)
    if not return_indices:
        return _unbatch(y, squeeze)
    idx = Tensor._wrap(y._ctx.indices if y._ctx is not None else _indices_of(x, tables))
    return _unbatch(y, squeeze), _unbatch(idx, squeeze)


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """The mean over ``output_size`` windows covering (N, C, L): window ``i`` spans
    ``floor(i L / out)`` to ``ceil((i + 1) L / out)``."""
    return _adaptive(1, "avg", input, output_size)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """``adaptive_avg_pool2d(x, 1)`` is global average pooling; ``None`` keeps a dim's size.

    >>> import backprop as bp
    >>> adaptive_avg_pool2d(bp.ones(2, 3, 7, 5), (2, None)).shape
    (2, 3, 2, 5)
    """
    return _adaptive(2, "avg", input, output_size)


def adaptive_avg_pool3d(input, output_size) -> Tensor:
    return _adaptive(3, "avg", input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive(1, "max", input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """The maximum over ``output_size`` windows covering (N, C, H, W)."""
    return _adaptive(2, "max", input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    return _adaptive(3, "max", input, output_size, return_indices)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    """``(sum of x^p over each window)^(1/p)``, as PyTorch (the sum is the mean times the
    window's size)."""
    kernel = _tuple(kernel_size, 2, "kernel_size", "lp_pool2d")
    s = avg_pool2d(_t(input) ** norm_type, kernel, stride, 0, ceil_mode)
    return (s.sign() * s.abs().relu() * (kernel[0] * kernel[1])) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    s = avg_pool1d(_t(input) ** norm_type, kernel_size, stride, 0, ceil_mode)
    k = _tuple(kernel_size, 1, "kernel_size", "lp_pool1d")[0]
    return (s.sign() * s.abs().relu() * k) ** (1.0 / norm_type)


# ---------------------------------------------------------------------------- im2col API


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """``F.unfold`` (im2col): the windows of (N, C, H, W) as columns, (N, C*kh*kw, L).

    >>> import backprop as bp
    >>> unfold(bp.ones(1, 2, 4, 4), 2).shape
    (1, 8, 9)
    """
    op = "unfold"
    x, squeeze = _batched(op, _t(input), 2)
    args = [_tuple(v, 2, n, op) for v, n in ((kernel_size, "kernel_size"), (dilation, "dilation"))]
    padding, stride = _tuple(padding, 2, "padding", op), _tuple(stride, 2, "stride", op)
    _check_positive(op, kernel_size=args[0], dilation=args[1], stride=stride)
    y = Im2col.apply((x,), args[0], args[1], padding, stride)
    return _unbatch(y, squeeze)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """``F.fold`` (col2im): columns (N, C*kh*kw, L) summed back into (N, C, *output_size);
    ``fold(unfold(x))`` is ``x`` times how many windows each pixel is in."""
    op = "fold"
    input = _t(input)
    squeeze = input.ndim == 2
    if input.ndim not in (2, 3):
        raise OpError(f"fold: expected a 2-D or 3-D input, got shape {tuple(input.shape)}")
    x = input.reshape((1,) + tuple(input.shape)) if squeeze else input
    size = _tuple(output_size, 2, "output_size", op)
    kernel, dilation = (
        _tuple(kernel_size, 2, "kernel_size", op),
        _tuple(dilation, 2, "dilation", op),
    )
    padding, stride = _tuple(padding, 2, "padding", op), _tuple(stride, 2, "stride", op)
    _check_positive(op, kernel_size=kernel, dilation=dilation, stride=stride)
    n, ckk, length = x.shape
    kh, kw = kernel
    padded = tuple(s + 2 * p for s, p in zip(size, padding))
    out = _conv_out(padded, kernel, stride, dilation, op, x.shape)
    if ckk % (kh * kw):
        raise OpError(
            f"fold: expected size of input's dimension 1 ({ckk}) to be divisible by the product "
            f"of kernel_size {kh * kw}"
        )
    if out[0] * out[1] != length:
        raise OpError(
            f"fold: given output_size={size}, kernel_size={kernel}, "
            f"dilation={tuple(dilation)}, padding={tuple(padding)}, "
            f"stride={tuple(stride)}, expected size of input's dimension 2 to match the "
            f"calculated number of sliding blocks {out[0]} * {out[1]} = {out[0] * out[1]}, "
            f"but got input.size(2)={length}"
        )
    y = Col2im.apply((x,), size, kernel, dilation, padding, stride)
    return _unbatch(y, squeeze)


# ---------------------------------------------------------------------------- unpooling


def _max_unpool(nd, input, indices, kernel_size, stride, padding, output_size) -> Tensor:
    op = f"max_unpool{nd}d"
    input = _t(input)
    x, squeeze = _batched(op, input, nd)
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    idx = idx.reshape(x.shape)
    kernel = _tuple(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None else _tuple(stride, nd, "stride", op)
    padding = _tuple(padding, nd, "padding", op)
    if output_size is None:
        size = tuple(
            (n - 1) * s - 2 * p + k for n, k, s, p in zip(x.shape[2:], kernel, stride, padding)
        )
    else:
        size = tuple(int(s) for s in tuple(output_size)[-nd:])
    total = int(np.prod(size))
    if idx.size and (idx.min() < 0 or idx.max() >= total):
        raise OpError(
            f"{op}: indices of input {tuple(input.shape)} point outside an output of spatial "
            f"size {size} (found index {int(idx.max())})"
        )
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1)
    zeros = Tensor._wrap(np.zeros((n, c, total), x._data.dtype))
    out = zeros.scatter(2, Tensor._wrap(idx.reshape(n, c, -1).astype(np.int64)), flat)
    return _unbatch(out.reshape((n, c) + size), squeeze)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of ``max_pool1d(..., return_indices=True)``: each value put back at its
    index, zeros elsewhere."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of ``max_pool2d(..., return_indices=True)``: each value put back at its
    flat index ``h * W + w``, zeros elsewhere."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)
