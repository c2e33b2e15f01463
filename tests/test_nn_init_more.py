"""nn.init's trunc_normal_, orthogonal_, eye_, dirac_, sparse_ and the deprecated aliases:
statistical properties, shapes and exact structure, checked against torch where it is
deterministic (eye_, dirac_) and against the distributions' moments where it is random."""

import math
import warnings

import numpy as np
import pytest
import torch

import backprop as bp
from backprop.nn import init


@pytest.mark.parametrize(
    "mean,std,a,b",
    [(0.0, 1.0, -2.0, 2.0), (0.5, 0.2, 0.0, 1.0), (0.0, 1.0, 1.0, 3.0), (0.0, 0.02, -0.04, 0.04)],
)
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    bp.manual_seed(0)
    w = init.trunc_normal_(bp.zeros(200, 300, dtype=bp.float64), mean, std, a, b)
    v = w.numpy()
    assert v.min() >= a and v.max() <= b
    # The truncated normal's mean and variance, in closed form.
    al, be = (a - mean) / std, (b - mean) / std
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2  # noqa: E731
    z = cdf(be) - cdf(al)
    m = mean + std * (pdf(al) - pdf(be)) / z
    var = std**2 * (1 + (al * pdf(al) - be * pdf(be)) / z - ((pdf(al) - pdf(be)) / z) ** 2)
    n = v.size
    assert abs(v.mean() - m) < 5 * math.sqrt(var / n)
    assert abs(v.var() / var - 1) < 0.02


def test_trunc_normal_float32_warns_far_mean_and_is_seeded():
    bp.manual_seed(1)
    w = init.trunc_normal_(bp.zeros(50, 50), std=0.02, a=-0.04, b=0.04)
    assert w.dtype == bp.float32 and np.abs(w.numpy()).max() <= np.float32(0.04)
    bp.manual_seed(1)
    assert np.array_equal(init.trunc_normal_(bp.zeros(50, 50), std=0.02, a=-0.04, b=0.04), w)
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(bp.zeros(10), mean=5.0, a=-1.0, b=1.0)


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (7, 3), (4, 2, 3, 3), (6, 2, 2)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_(shape, gain):
    bp.manual_seed(0)
    w = init.orthogonal_(bp.zeros(*shape, dtype=bp.float64), gain=gain).numpy()
    assert w.shape == shape
    m = w.reshape(shape[0], -1) / gain
    small = min(m.shape)
    gram = m @ m.T if m.shape[0] == small else m.T @ m
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(bp.zeros(3))


def test_orthogonal_is_haar_distributed():
    """The sign fix makes Q uniform: its diagonal entries average 0 over many draws."""
    bp.manual_seed(0)
    diag = [
        np.diag(init.orthogonal_(bp.zeros(4, 4, dtype=bp.float64)).numpy()) for _ in range(2000)
    ]
    assert abs(np.mean(diag)) < 0.05


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_as_torch(shape):
    np.testing.assert_array_equal(
        init.eye_(bp.zeros(*shape)).numpy(), torch.nn.init.eye_(torch.empty(*shape)).numpy()
    )
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(bp.zeros(2, 2, 2))


@pytest.mark.parametrize(
    "shape,groups",
    [((4, 4, 3), 1), ((6, 3, 3, 3), 1), ((3, 6, 2, 2), 1), ((6, 2, 3, 3), 2), ((4, 2, 3, 3, 3), 2)],
)
def test_dirac_as_torch(shape, groups):
    ours = init.dirac_(bp.ones(*shape), groups=groups).numpy()
    np.testing.assert_array_equal(ours, torch.nn.init.dirac_(torch.ones(*shape), groups).numpy())
    x = np.random.default_rng(0).normal(size=(1, shape[1] * groups, *([5] * (len(shape) - 2))))
    if shape[0] == shape[1] * groups and len(shape) == 4:  # the convolution passes x through
        conv = bp.nn.functional.conv2d
        y = conv(bp.tensor(x), bp.tensor(ours.astype(np.float64)), padding=1, groups=groups)
        np.testing.assert_allclose(y.numpy(), x, atol=1e-12)
    with pytest.raises(ValueError, match="divisible by groups"):
        init.dirac_(bp.zeros(5, 2, 3), groups=2)
    with pytest.raises(ValueError, match="3, 4, or 5"):
        init.dirac_(bp.zeros(5, 2))


def test_sparse_():
    bp.manual_seed(0)
    w = init.sparse_(bp.zeros(10, 400, dtype=bp.float64), sparsity=0.25, std=0.5).numpy()
    assert ((w == 0).sum(axis=0) == 3).all()  # ceil(0.25 * 10) per column
    nz = w[w != 0]
    assert abs(nz.std() / 0.5 - 1) < 0.05 and abs(nz.mean()) < 0.05
    with pytest.raises(ValueError, match="2 dimensions"):
        init.sparse_(bp.zeros(3), 0.1)


ALIASES = [
    ("uniform", ()),
    ("normal", ()),
    ("constant", (0.5,)),
    ("xavier_uniform", ()),
    ("xavier_normal", ()),
    ("kaiming_uniform", ()),
    ("kaiming_normal", ()),
    ("orthogonal", ()),
    ("sparse", (0.5,)),
    ("eye", ()),
]


@pytest.mark.parametrize("name,args", ALIASES)
def test_deprecated_aliases_warn_as_torch(name, args):
    msg = f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`."
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        getattr(torch.nn.init, name)(torch.empty(4, 6), *args)
    assert str(tw[0].message) == msg and tw[0].category is FutureWarning
    bp.manual_seed(0)
    with pytest.warns(FutureWarning) as bw:
        w = getattr(init, name)(bp.zeros(4, 6), *args)
    assert str(bw[0].message) == msg and bw[0].filename == __file__
    bp.manual_seed(0)
    np.testing.assert_array_equal(w, getattr(init, name + "_")(bp.zeros(4, 6), *args))


def test_dirac_alias():
    with pytest.warns(FutureWarning, match="`nn.init.dirac` is now deprecated"):
        init.dirac(bp.zeros(2, 2, 3))
