"""More layers with PyTorch's names and parameters: GroupNorm, InstanceNorm1d/2d/3d, RMSNorm,
LocalResponseNorm, the padding layers, GLU, Hardshrink, Softshrink, RReLU, Softmax2d,
Bilinear, LazyLinear, PairwiseDistance, CosineSimilarity, ChannelShuffle, AlphaDropout.

>>> import backprop as bp
>>> bp.nn.ZeroPad2d(1)(bp.ones(1, 1, 2, 2)).shape
(1, 1, 4, 4)
"""

from __future__ import annotations

import math

import numpy as np

from ..ops.layout import pad as _pad
from ..tensor import Tensor, get_default_dtype
from . import functional as F
from . import init
from .module import Module, Parameter


def _dt(dtype):
    return dtype or get_default_dtype()


class GroupNorm(Module):
    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups,
            num_channels,
            eps,
            affine,
        )
        if affine:
            self.weight = Parameter(np.ones(num_channels, _dt(dtype)))
            self.bias = Parameter(np.zeros(num_channels, _dt(dtype)))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if device is not None:
            self.to(device)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    _nd = 1

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=False,
        track_running_stats=False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = _dt(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_features, dt))
            self.bias = Parameter(np.zeros(num_features, dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dt)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.running_mean = self.running_var = None
        if device is not None:
            self.to(device)

    def forward(self, input):
        nd = self._nd
        if input.ndim not in (nd + 1, nd + 2):
            raise ValueError(f"expected {nd + 1}D or {nd + 2}D input (got {input.ndim}D input)")
        unbatched = input.ndim == nd + 1
        if unbatched:
            input = input.unsqueeze(0)
        use_input_stats = self.training or not self.track_running_stats
        out = F.instance_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            self.momentum if self.momentum is not None else 0.1,
            self.eps,
        )
        return out.squeeze(0) if unbatched else out

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class InstanceNorm1d(_InstanceNorm):
    _nd = 1


class InstanceNorm2d(_InstanceNorm):
    _nd = 2


class InstanceNorm3d(_InstanceNorm):
    _nd = 3


class RMSNorm(Module):
    def __init__(
        self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None
    ):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, _dt(dtype)))
        else:
            self.register_parameter("weight", None)
        if device is not None:
            self.to(device)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class LocalResponseNorm(Module):
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)


class _PadNd(Module):
    _nd, _mode = 1, "constant"

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self._nd)
        self.padding, self.value = tuple(padding), value

    def forward(self, input):
        if self._mode == "constant":
            return _pad(input, self.padding, "constant", self.value)
        return _pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}" + (f", value={self.value}" if self._mode == "constant" else "")


def _pad_class(name: str, nd: int, mode: str):
    doc = f"Pad the last {nd} dim(s) ({mode}), as ``F.pad(input, padding, '{mode}')``."
    return type(name, (_PadNd,), {"_nd": nd, "_mode": mode, "__doc__": doc})


class _ZeroPad(_PadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)


class _ConstantPad(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding, value)


ZeroPad1d = type("ZeroPad1d", (_ZeroPad,), {"_nd": 1})
ZeroPad2d = type("ZeroPad2d", (_ZeroPad,), {"_nd": 2})
ZeroPad3d = type("ZeroPad3d", (_ZeroPad,), {"_nd": 3})
ConstantPad1d = type("ConstantPad1d", (_ConstantPad,), {"_nd": 1})
ConstantPad2d = type("ConstantPad2d", (_ConstantPad,), {"_nd": 2})
ConstantPad3d = type("ConstantPad3d", (_ConstantPad,), {"_nd": 3})
ReflectionPad1d = _pad_class("ReflectionPad1d", 1, "reflect")
ReflectionPad2d = _pad_class("ReflectionPad2d", 2, "reflect")
ReflectionPad3d = _pad_class("ReflectionPad3d", 3, "reflect")
ReplicationPad1d = _pad_class("ReplicationPad1d", 1, "replicate")
ReplicationPad2d = _pad_class("ReplicationPad2d", 2, "replicate")
ReplicationPad3d = _pad_class("ReplicationPad3d", 3, "replicate")
CircularPad1d = _pad_class("CircularPad1d", 1, "circular")
CircularPad2d = _pad_class("CircularPad2d", 2, "circular")
CircularPad3d = _pad_class("CircularPad3d", 3, "circular")
for _cls in (ZeroPad1d, ZeroPad2d, ZeroPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d):
    _cls.__module__ = __name__


class GLU(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)


class Hardshrink(Module):
    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.hardshrink(input, self.lambd)


class Softshrink(Hardshrink):
    def forward(self, input):
        return F.softshrink(input, self.lambd)


class RReLU(Module):
    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training)


class Softmax2d(Module):
    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return F.softmax(input, dim=-3)


class Bilinear(Module):
    def __init__(
        self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None
    ):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = (
            in1_features,
            in2_features,
            out_features,
        )
        dt = _dt(dtype)
        self.weight = Parameter(np.zeros((out_features, in1_features, in2_features), dt))
        if bias:
            self.bias = Parameter(np.zeros(out_features, dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)


class LazyLinear(Module):
    """A ``Linear`` whose ``in_features`` is read from the first input (then it becomes a
    ``Linear``, as PyTorch's)."""

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = 0, out_features
        self._bias, self._device, self._dtype = bias, device, dtype
        self.weight = Parameter(np.zeros((0,), _dt(dtype)))
        if bias:
            self.bias = Parameter(np.zeros((0,), _dt(dtype)))
        else:
            self.register_parameter("bias", None)

    def has_uninitialized_params(self) -> bool:
        return self.in_features == 0

    def forward(self, input):
        from .layers import Linear

        if self.in_features == 0:
            self.in_features = input.shape[-1]
            dt = self._dtype or input._data.dtype
            lin = Linear(self.in_features, self.out_features, self._bias, self._device, dt)
            self.weight._data = lin.weight._data
            if self._bias:
                self.bias._data = lin.bias._data
            object.__setattr__(self, "__class__", Linear)
        return F.linear(input, self.weight, self.bias)


class PairwiseDistance(Module):
    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class ChannelShuffle(Module):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)


class AlphaDropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


__all__ = [
    "AlphaDropout",
    "Bilinear",
    "ChannelShuffle",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "CosineSimilarity",
    "GLU",
    "GroupNorm",
    "Hardshrink",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LazyLinear",
    "LocalResponseNorm",
    "PairwiseDistance",
    "RMSNorm",
    "RReLU",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "Softmax2d",
    "Softshrink",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]
