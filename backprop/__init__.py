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
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import get_num_threads as get_num_threads
from .backend import set_num_threads as set_num_threads
from .checkpoint import CheckpointError as CheckpointError
from .checkpoint import load_checkpoint as load_checkpoint
from .checkpoint import save_checkpoint as save_checkpoint
from .data import load_dataset as load_dataset
from .explain import check, draw, explain, explore, summary, textbook, to_dot, trace
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
    erf,
    exp,
    expand,
    flatten,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    norm,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
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
    arange,
    bool_,
    eye,
    float16,
    float32,
    float64,
    full,
    get_default_dtype,
    int32,
    int64,
    ones,
    ones_like,
    rand,
    randn,
    set_default_dtype,
    tensor,
    zeros,
    zeros_like,
)
