"""backprop: reverse-mode automatic differentiation that shows its work.

>>> import backprop as bp
>>> x = bp.tensor(2.0, requires_grad=True)
>>> y = (x * x).tanh()
>>> y.backward()
>>> print(f"{x.grad.item():.6f}")  # 2x (1 - tanh(x^2)^2)
0.005363
"""

# First of all: when this process is the `backprop` command, Ctrl-C during the imports below
# prints one line, not a traceback (see _interrupt).
from . import _interrupt as _interrupt  # isort: skip

__version__ = "0.1.0"

# -- PyTorch's surface: factories, dtypes, devices, promotion, comparisons (engine: i9a) ------
from . import autograd as autograd
from . import checkpoint as checkpoint
from . import data as data
from . import distributed as distributed
from . import nn as nn
from . import ops
from . import optim as optim
from . import train as train
from . import utils as utils
from .autograd import (
    AnomalyError,
    Function,
    OpError,
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import get_num_threads as get_num_threads
from .backend import set_num_threads as set_num_threads
from .checkpoint import CheckpointError as CheckpointError
from .checkpoint import load_checkpoint as load_checkpoint
from .checkpoint import save_checkpoint as save_checkpoint
from .data import load_dataset as load_dataset
from .device import accelerator, backends, cuda, device, get_default_device, mps, set_default_device
from .dtypes import can_cast, promote_types, result_type
from .explain import check, draw, explain, explore, summary, textbook, to_dot
from .explain import trace as _explain_trace
from .factories import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    zeros,
    zeros_like,
)
from .gradcheck import GradcheckError, gradcheck
from .ops import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    broadcast_to,
    cat,
    clamp,
    clip,
    clone,
    concat,
    concatenate,
    div,
    eq,
    equal,
    erf,
    exp,
    expand,
    flatten,
    ge,
    greater,
    greater_equal,
    gt,
    le,
    less,
    less_equal,
    log,
    lt,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    ne,
    neg,
    norm,
    not_equal,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    sign,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .ops import add as add
from .ops.binary import (
    allclose,
    arctan2,
    atan2,
    bitwise_and,
    bitwise_left_shift,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    clamp_max,
    clamp_min,
    copysign,
    floor_divide,
    fmod,
    hypot,
    isclose,
    lerp,
    logaddexp,
    logaddexp2,
    logical_and,
    logical_or,
    logical_xor,
    remainder,
)
from .ops.composite import (
    cdist,
    cross,
    cumulative_trapezoid,
    diff,
    index_add,
    index_copy,
    index_fill,
    kron,
    put,
    rot90,
    take,
    trapezoid,
    trapz,
)
from .ops.index import (
    argsort,
    argwhere,
    gather,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    scatter_reduce,
    sort,
    take_along_dim,
    topk,
)
from .ops.layout import (
    chunk,
    diag,
    diag_embed,
    diagonal,
    expand_as,
    flip,
    fliplr,
    flipud,
    hstack,
    meshgrid,
    movedim,
    narrow,
    repeat_interleave,
    roll,
    select,
    split,
    swapaxes,
    tensor_split,
    tile,
    tril,
    triu,
    unbind,
    unflatten,
    view_as,
    vstack,
)
from .ops.layout import (
    movedim as moveaxis,
)
from .ops.layout import (
    swapaxes as swapdims,
)
from .ops.linalg import _old_cholesky as cholesky  # torch.cholesky, torch.svd, torch.qr
from .ops.linalg import _old_qr as qr
from .ops.linalg import _old_svd as svd
from .ops.linalg import _pinverse as pinverse
from .ops.linalg import det, inverse, logdet, matrix_power, slogdet
from .ops.products import (
    addmm,
    baddbmm,
    bmm,
    dot,
    einsum,
    mm,
    mv,
    outer,
    tensordot,
)
from .ops.scan import (
    aminmax,
    count_nonzero,
    cummax,
    cummin,
    cumprod,
    cumsum,
    logcumsumexp,
    logsumexp,
    median,
    nanmean,
    nansum,
    prod,
    std_mean,
    var_mean,
)
from .ops.special import (
    addcdiv,
    addcmul,
    deg2rad,
    digamma,
    erfc,
    erfinv,
    float_power,
    fmax,
    fmin,
    gcd,
    heaviside,
    i0,
    lcm,
    lgamma,
    logit,
    mvlgamma,
    polygamma,
    rad2deg,
    sinc,
    true_divide,
    xlogy,
)
from .ops.stats import (
    bincount,
    bucketize,
    histc,
    kthvalue,
    mode,
    nanmedian,
    nanquantile,
    quantile,
    searchsorted,
    unique,
    unique_consecutive,
)
from .ops.unary import (
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctanh,
    asin,
    asinh,
    atan,
    atanh,
    bitwise_not,
    ceil,
    cos,
    cosh,
    exp2,
    expm1,
    fix,
    floor,
    frac,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    log1p,
    log2,
    log10,
    logical_not,
    nan_to_num,
    reciprocal,
    round,
    rsqrt,
    signbit,
    sin,
    sinh,
    square,
    tan,
    trunc,
)
from .random import Generator, initial_seed, manual_seed
from .serialization import load, save
from .tensor import (
    Tensor,
    bool_,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    tensor,
    uint8,
)

float = float32  # noqa: A001 - PyTorch's aliases: bp.float is float32, bp.long int64, ...
int = int32  # noqa: A001
bool = bool_  # noqa: A001


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t) -> bool:
    return t.is_floating_point()


def trace(input, *args, **kwargs):
    """Two things under one name, told apart by the argument, as neither is defined where
    the other is: on a matrix (2-D tensor), PyTorch's ``torch.trace``, the sum of its
    diagonal; on a scalar output (a loss), the explainer's step-by-step replay of the
    backward pass (``backprop.explain.trace``, a ``Trace``).

    >>> import backprop as bp
    >>> bp.trace(bp.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(5.)
    """
    if isinstance(input, Tensor) and input.ndim == 2 and not args and not kwargs:
        return input.trace()
    return _explain_trace(input, *args, **kwargs)


def numel(t) -> int:
    return t.numel()


from . import linalg as linalg  # noqa: E402  (torch.linalg)
from . import special as special  # noqa: E402  (torch.special)
from .nn.functional import log_softmax, softmax  # noqa: E402, F401  (torch.softmax, ...)


def _alias_axis_kwargs() -> None:
    """``bp.std(x, axis=1)`` as ``torch.std``: NumPy's names accepted for dim/keepdim."""
    from .ops import AXIS_ALIASED, axis_alias

    g = globals()
    for name in AXIS_ALIASED:
        if callable(g.get(name)):
            g[name] = axis_alias(g[name])


_alias_axis_kwargs()

from . import tensor_methods as _tensor_methods  # noqa: E402

_tensor_methods.attach(Tensor)  # last: aliases and in-place forms of every op attached above
