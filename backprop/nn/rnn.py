"""Recurrent layers: RNN, LSTM, GRU and their cells, with PyTorch's parameters and shapes.

Each step is a composite of the engine's ops (``linear``, ``sigmoid``, ``tanh``), so no
derivative rule is needed: backpropagation through time is autograd over the unrolled loop.
The input projections of all time steps are one matrix product per layer and direction.
Parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ``weight_hr_l0``) and shapes are
PyTorch's, so ``load_state_dict`` takes a torch model's weights.

>>> import backprop as bp
>>> _ = bp.manual_seed(0)
>>> lstm = bp.nn.LSTM(4, 8, num_layers=2, batch_first=True)
>>> out, (h, c) = lstm(bp.randn(3, 5, 4))
>>> out.shape, h.shape, c.shape
((3, 5, 8), (2, 3, 8), (2, 3, 8))
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..ops.layout import chunk as _chunk
from ..tensor import Tensor, get_default_dtype
from . import functional as F
from . import init
from .module import Module, Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _zeros(like: Tensor, shape: tuple) -> Tensor:
    return Tensor._wrap(np.zeros(shape, dtype=like._data.dtype))


def _rnn_step(mode, x_proj, h, w_hh, b_hh):
    """One step of the simple RNN: ``act(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    pre = x_proj + F.linear(h, w_hh, b_hh)
    return ops.tanh(pre) if mode == "RNN_TANH" else ops.relu(pre)


def _lstm_step(x_proj, h, c, w_hh, b_hh, w_hr):
    gates = x_proj + F.linear(h, w_hh, b_hh)
    i, f, g, o = _chunk(gates, 4, dim=-1)
    c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
    h = ops.sigmoid(o) * ops.tanh(c)
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(x_proj, h, w_hh, b_hh):
    xr, xz, xn = _chunk(x_proj, 3, dim=-1)
    hr, hz, hn = _chunk(F.linear(h, w_hh, b_hh), 3, dim=-1)
    r = ops.sigmoid(xr + hr)
    z = ops.sigmoid(xz + hz)
    n = ops.tanh(xn + r * hn)
    return (1 - z) * n + z * h


class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bias
        dt = dtype or get_default_dtype()
        g = num_chunks * self.hidden_size
        self.weight_ih = Parameter(np.zeros((g, self.input_size), dt))
        self.weight_hh = Parameter(np.zeros((g, self.hidden_size), dt))
        if bias:
            self.bias_ih = Parameter(np.zeros(g, dt))
            self.bias_hh = Parameter(np.zeros(g, dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        k = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def _check(self, input: Tensor, hx, name: str):
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input has inconsistent input_size: got {input.shape[-1]} expected "
                f"{self.input_size}"
            )
        batched = input.ndim == 2
        if not batched:
            input = ops.unsqueeze(input, 0)
        return input, batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


def _hx(hx, input: Tensor, batched: bool, hidden: int) -> Tensor:
    if hx is None:
        return _zeros(input, (input.shape[0], hidden))
    return hx if batched else ops.unsqueeze(hx, 0)


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU), one step."""

    def __init__(
        self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input: Tensor, hx=None) -> Tensor:
        input, batched = self._check(input, hx, "RNNCell")
        h = _hx(hx, input, batched, self.hidden_size)
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        out = _rnn_step(
            mode, F.linear(input, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh
        )
        return out if batched else ops.squeeze(out, 0)


class LSTMCell(RNNCellBase):
    """One LSTM step: returns ``(h', c')``; gates in PyTorch's order i, f, g, o."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx=None):
        input, batched = self._check(input, hx, "LSTMCell")
        if hx is None:
            h = c = _zeros(input, (input.shape[0], self.hidden_size))
        else:
            h, c = (hx[0], hx[1]) if batched else (ops.unsqueeze(hx[0], 0), ops.unsqueeze(hx[1], 0))
        h, c = _lstm_step(
            F.linear(input, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh, None
        )
        if not batched:
            h, c = ops.squeeze(h, 0), ops.squeeze(c, 0)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step; gates in PyTorch's order r, z, n."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx=None) -> Tensor:
        input, batched = self._check(input, hx, "GRUCell")
        h = _hx(hx, input, batched, self.hidden_size)
        out = _gru_step(
            F.linear(input, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh
        )
        return out if batched else ops.squeeze(out, 0)


class RNNBase(Module):
    """The stacked, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                "element being zeroed"
            )
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        dt = dtype or get_default_dtype()
        g = _GATES[mode] * self.hidden_size
        real_h = proj_size if proj_size > 0 else self.hidden_size
        ndir = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        for layer in range(self.num_layers):
            for d in range(ndir):
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                in_size = self.input_size if layer == 0 else real_h * ndir
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                setattr(self, names[0], Parameter(np.zeros((g, in_size), dt)))
                setattr(self, names[1], Parameter(np.zeros((g, real_h), dt)))
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    setattr(self, names[2], Parameter(np.zeros(g, dt)))
                    setattr(self, names[3], Parameter(np.zeros(g, dt)))
                if proj_size > 0:
                    names.append(f"weight_hr{sfx}")
                    setattr(self, names[-1], Parameter(np.zeros((proj_size, self.hidden_size), dt)))
                self._flat_weights_names += names
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    @property
    def all_weights(self) -> list:
        ndir = 2 if self.bidirectional else 1
        per = len(self._flat_weights_names) // (self.num_layers * ndir)
        ws = [getattr(self, n) for n in self._flat_weights_names]
        return [ws[i : i + per] for i in range(0, len(ws), per)]

    def flatten_parameters(self) -> None:
        """A no-op (cuDNN's weight layout), kept for PyTorch code that calls it."""

    def _weights(self, layer: int, d: int):
        sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
        get = self.__dict__.get
        return (
            get(f"weight_ih{sfx}"),
            get(f"weight_hh{sfx}"),
            get(f"bias_ih{sfx}"),
            get(f"bias_hh{sfx}"),
            get(f"weight_hr{sfx}"),
        )

    def forward(self, input: Tensor, hx=None):
        from .utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        mask = None
        if packed:
            sorted_input = input.sorted_indices is None
            input, lengths = pad_packed_sequence(input)
            lens = lengths._data
            steps = input.shape[0]
            mask = (np.arange(steps)[:, None] < lens[None, :])[..., None]  # (T, B, 1)
        elif input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        batched = input.ndim == 3
        if not batched:
            input = ops.unsqueeze(input, 1)
        elif self.batch_first and not packed:
            input = ops.transpose(input, 0, 1)
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {input.shape[-1]}"
            )
        lstm = self.mode == "LSTM"
        ndir = 2 if self.bidirectional else 1
        batch = input.shape[1]
        real_h = self.proj_size if self.proj_size > 0 else self.hidden_size
        if hx is None:
            h0 = _zeros(input, (self.num_layers * ndir, batch, real_h))
            c0 = _zeros(input, (self.num_layers * ndir, batch, self.hidden_size)) if lstm else None
        else:
            h0, c0 = (hx[0], hx[1]) if lstm else (hx, None)
            if not batched:
                if h0.ndim != 2:
                    raise RuntimeError(
                        f"For unbatched 2-D input, hx should also be 2-D but got {h0.ndim}-D tensor"
                    )
                h0 = ops.unsqueeze(h0, 1)
                c0 = ops.unsqueeze(c0, 1) if lstm else None
            expected = (self.num_layers * ndir, batch, real_h)
            if tuple(h0.shape) != expected:
                raise RuntimeError(f"Expected hidden size {expected}, got {list(h0.shape)}")
            if lstm and tuple(c0.shape) != (self.num_layers * ndir, batch, self.hidden_size):
                raise RuntimeError(
                    f"Expected hidden size {(self.num_layers * ndir, batch, self.hidden_size)}, "
                    f"got {list(c0.shape)}"
                )
        steps = input.shape[0]
        layer_in = input
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(ndir):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d)
                k = layer * ndir + d
                h = h0[k]
                c = c0[k] if lstm else None
                proj = F.linear(layer_in, w_ih, b_ih)  # (T, B, G): every step at once
                seq = [None] * steps
                order = range(steps - 1, -1, -1) if d == 1 else range(steps)
                for t in order:
                    h_prev, c_prev = h, c
                    if lstm:
                        h, c = _lstm_step(proj[t], h, c, w_hh, b_hh, w_hr)
                    elif self.mode == "GRU":
                        h = _gru_step(proj[t], h, w_hh, b_hh)
                    else:
                        h = _rnn_step(self.mode, proj[t], h, w_hh, b_hh)
                    if mask is not None:
                        keep = Tensor._wrap(mask[t])
                        h = ops.where(keep, h, h_prev)
                        c = ops.where(keep, c, c_prev) if lstm else None
                        seq[t] = h * Tensor._wrap(mask[t].astype(h._data.dtype))
                    else:
                        seq[t] = h
                outs.append(ops.stack(seq, 0) if steps else _zeros(input, (0, batch, real_h)))
                h_n.append(h)
                if lstm:
                    c_n.append(c)
            layer_in = outs[0] if ndir == 1 else ops.cat(outs, dim=-1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        output = layer_in
        h_n = ops.stack(h_n, 0)
        c_n = ops.stack(c_n, 0) if lstm else None
        if packed:
            output = pack_padded_sequence(output, lens, enforce_sorted=sorted_input)
        elif not batched:
            output = ops.squeeze(output, 1)
            h_n = ops.squeeze(h_n, 1)
            c_n = ops.squeeze(c_n, 1) if lstm else None
        elif self.batch_first:
            output = ops.transpose(output, 0, 1)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


def _args(args: tuple, kwargs: dict, names: tuple) -> dict:
    out = dict(zip(names, args))
    out.update(kwargs)
    return out


_NAMES = (
    "input_size",
    "hidden_size",
    "num_layers",
    "bias",
    "batch_first",
    "dropout",
    "bidirectional",
)


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU), stacked
    ``num_layers`` deep; returns ``(output, h_n)`` as PyTorch."""

    def __init__(self, *args, **kwargs):
        kw = _args(args, kwargs, _NAMES[:3] + ("nonlinearity",) + _NAMES[3:])
        nl = kw.pop("nonlinearity", "tanh")
        if nl not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nl}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nl
        super().__init__("RNN_TANH" if nl == "tanh" else "RNN_RELU", **kw)


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o; ``proj_size`` projects ``h``); returns
    ``(output, (h_n, c_n))`` as PyTorch."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", **_args(args, kwargs, _NAMES + ("proj_size",)))


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n); returns ``(output, h_n)`` as PyTorch."""

    def __init__(self, *args, **kwargs):
        super().__init__("GRU", **_args(args, kwargs, _NAMES))
