"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d, with PyTorch's arguments,
initialisation and parameter names (``weight``, ``bias``), so state dicts load either way.

>>> import backprop as bp
>>> _ = bp.manual_seed(0)
>>> conv = bp.nn.Conv2d(3, 8, kernel_size=3, padding=1)
>>> conv.weight.shape, conv(bp.randn(2, 3, 16, 16)).shape
((8, 3, 3, 3), (2, 8, 16, 16))
"""

from __future__ import annotations

import math

import numpy as np

from ..ops.conv import _tuple
from ..ops.layout import pad
from ..tensor import Tensor, get_default_dtype
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _dtype(dtype):
    if dtype is None:
        return get_default_dtype()
    return np.dtype(getattr(dtype, "type", dtype)) if not isinstance(dtype, np.dtype) else dtype


class _ConvNd(Module):
    _nd = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
        output_padding=0,
    ):
        super().__init__()
        nd, name = self._nd, type(self).__name__
        if output_padding != 0 and not self._transposed:  # a transposed convolution's only
            raise TypeError(
                f"{name}.__init__() got an unexpected keyword argument 'output_padding'"
            )
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(
                f"{name}: in_channels {in_channels} must be divisible by groups {groups}"
            )
        if out_channels % groups:
            raise ValueError(
                f"{name}: out_channels {out_channels} must be divisible by groups {groups}"
            )
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}"
            )
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _tuple(kernel_size, nd, "kernel_size", name)
        self.stride = _tuple(stride, nd, "stride", name)
        self.dilation = _tuple(dilation, nd, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{name}: padding must be 'same', 'valid' or ints, got {padding!r}"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided convolutions"
                )
            self.padding = padding
        else:
            self.padding = _tuple(padding, nd, "padding", name)
        self.output_padding = _tuple(output_padding, nd, "output_padding", name)
        self.groups, self.padding_mode = int(groups), padding_mode
        self.transposed = self._transposed
        dt = _dtype(dtype)
        if self._transposed:
            shape = (self.in_channels, self.out_channels // groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.zeros(shape, dt))
        if bias:
            self.bias = Parameter(np.zeros(self.out_channels, dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: ``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(fan_in),
        1/sqrt(fan_in)) for the weight, and the same bound for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _padded(self, input: Tensor):
        """For a padding_mode other than zeros: the input padded by F.pad, and padding 0."""
        if self.padding_mode == "zeros":
            return input, self.padding
        if self.padding == "same":
            total = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            pairs = [(t // 2, t - t // 2) for t in total]
        elif self.padding == "valid":
            pairs = [(0, 0)] * self._nd
        else:
            pairs = [(p, p) for p in self.padding]
        widths = [w for lo_hi in reversed(pairs) for w in lo_hi]
        return pad(input, widths, mode=self.padding_mode), 0

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding if isinstance(self.padding, str) else self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """A convolution: ``_ConvNd``'s constructor is PyTorch's ``Conv*d`` signature."""

    def forward(self, input: Tensor) -> Tensor:
        x, padding = self._padded(input)
        conv = (F.conv1d, F.conv2d, F.conv3d)[self._nd - 1]
        return conv(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L): weight (C_out, C_in/groups, k)."""

    _nd = 1


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W): weight (C_out, C_in/groups, kh, kw); ``padding``
    may be ints, ``"same"`` or ``"valid"``; ``padding_mode`` zeros, reflect, replicate or
    circular."""

    _nd = 2


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W)."""

    _nd = 3


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be ints, got {padding!r}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            output_padding,
        )

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        nd = self._nd
        size = tuple(int(s) for s in output_size)[-nd:]
        extra = []
        for d in range(nd):
            n = input.shape[input.ndim - nd + d]
            smallest = (
                (n - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            if not smallest <= size[d] < smallest + self.stride[d]:
                raise ValueError(
                    f"{type(self).__name__}: requested an output size of {size}, but valid "
                    f"sizes along dim {d} range from {smallest} to "
                    f"{smallest + self.stride[d] - 1} (for an input of {tuple(input.shape)})"
                )
            extra.append(size[d] - smallest)
        return tuple(extra)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self._nd - 1]
        return conv(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTranspose):
    """The transpose of Conv1d: weight (C_in, C_out/groups, k)."""

    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """The transpose of Conv2d (upsampling): weight (C_in, C_out/groups, kh, kw);
    ``forward(x, output_size=...)`` picks the output padding."""

    _nd = 2


class ConvTranspose3d(_ConvTranspose):
    _nd = 3
