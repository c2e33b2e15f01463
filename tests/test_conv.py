"""Convolution, pooling, im2col/col2im, interpolation and the image layers, against PyTorch:
values and gradients (input, weight, bias) in float64 over a table of configurations
(strides, paddings, dilations, groups, ceil_mode, odd sizes), finite differences on small
cases, float32 kept, error messages, and a small CNN built with the same weights in both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import backprop as bp
import backprop.nn.functional as BF

torch = pytest.importorskip("torch")
TF = torch.nn.functional
# torch warns that it copies the input for padding="same" with even kernels: not our concern
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@dataclass
class Case:
    id: str
    fn: Callable  # fn(F, *inputs), F being backprop's or torch's nn.functional
    shapes: tuple


def C(id, fn, *shapes):
    return Case(id, fn, shapes)


X2 = (2, 4, 7, 9)  # odd, non-square
CASES = [
    # conv2d
    C("conv2d", lambda F, x, w, b: F.conv2d(x, w, b), X2, (3, 4, 3, 3), (3,)),
    C("conv2d-nobias", lambda F, x, w: F.conv2d(x, w), X2, (3, 4, 2, 4)),
    C("conv2d-stride", lambda F, x, w, b: F.conv2d(x, w, b, stride=2), X2, (3, 4, 3, 3), (3,)),
    C("conv2d-stride-hw", lambda F, x, w: F.conv2d(x, w, stride=(2, 3)), X2, (5, 4, 2, 2)),
    C("conv2d-pad", lambda F, x, w, b: F.conv2d(x, w, b, padding=1), X2, (3, 4, 3, 3), (3,)),
    C("conv2d-pad-hw", lambda F, x, w: F.conv2d(x, w, padding=(2, 0)), X2, (3, 4, 3, 3)),
    C("conv2d-dilation", lambda F, x, w: F.conv2d(x, w, dilation=2), X2, (3, 4, 3, 3)),
    C(
        "conv2d-all",
        lambda F, x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
        X2,
        (6, 4, 3, 3),
        (6,),
    ),
    C("conv2d-groups", lambda F, x, w, b: F.conv2d(x, w, b, 2, 1, 1, 2), X2, (6, 2, 3, 3), (6,)),
    C("conv2d-depthwise", lambda F, x, w: F.conv2d(x, w, padding=1, groups=4), X2, (8, 1, 3, 3)),
    C("conv2d-same", lambda F, x, w: F.conv2d(x, w, padding="same"), X2, (3, 4, 4, 3)),
    C(
        "conv2d-same-dil",
        lambda F, x, w: F.conv2d(x, w, padding="same", dilation=2),
        X2,
        (3, 4, 2, 3),
    ),
    C("conv2d-valid", lambda F, x, w: F.conv2d(x, w, padding="valid"), X2, (3, 4, 3, 3)),
    C("conv2d-1x1", lambda F, x, w: F.conv2d(x, w), X2, (5, 4, 1, 1)),
    C("conv2d-unbatched", lambda F, x, w: F.conv2d(x, w, padding=1), (4, 5, 6), (3, 4, 3, 3)),
    # conv1d, conv3d
    C(
        "conv1d",
        lambda F, x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
        (2, 3, 11),
        (4, 3, 3),
        (4,),
    ),
    C(
        "conv1d-dil-groups",
        lambda F, x, w: F.conv1d(x, w, dilation=3, groups=3),
        (2, 3, 11),
        (6, 1, 3),
    ),
    C("conv1d-same", lambda F, x, w: F.conv1d(x, w, padding="same"), (2, 3, 10), (2, 3, 4)),
    C(
        "conv3d",
        lambda F, x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1),
        (1, 2, 4, 5, 6),
        (3, 2, 2, 3, 3),
        (3,),
    ),
    C(
        "conv3d-groups",
        lambda F, x, w: F.conv3d(x, w, groups=2, dilation=(1, 1, 2)),
        (2, 4, 3, 4, 5),
        (2, 2, 2, 2, 2),
    ),
    # transposed
    C("conv_t2d", lambda F, x, w, b: F.conv_transpose2d(x, w, b), (2, 3, 4, 5), (3, 2, 3, 3), (2,)),
    C(
        "conv_t2d-stride",
        lambda F, x, w: F.conv_transpose2d(x, w, stride=2, padding=1),
        (2, 3, 4, 5),
        (3, 2, 3, 3),
    ),
    C(
        "conv_t2d-all",
        lambda F, x, w, b: F.conv_transpose2d(x, w, b, (2, 3), (1, 0), (1, 2), 2, (1, 2)),
        (2, 4, 4, 3),
        (4, 3, 3, 2),
        (6,),
    ),
    C(
        "conv_t1d",
        lambda F, x, w: F.conv_transpose1d(x, w, stride=3, padding=2, dilation=2, output_padding=1),
        (2, 3, 6),
        (3, 2, 4),
    ),
    C(
        "conv_t3d",
        lambda F, x, w: F.conv_transpose3d(x, w, stride=2),
        (1, 2, 2, 3, 2),
        (2, 3, 2, 2, 2),
    ),
    # max pooling
    C("max_pool2d", lambda F, x: F.max_pool2d(x, 2), X2),
    C("max_pool2d-3-2-1", lambda F, x: F.max_pool2d(x, 3, 2, 1), X2),
    C("max_pool2d-ceil", lambda F, x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), X2),
    C("max_pool2d-ceil-nopad", lambda F, x: F.max_pool2d(x, 2, ceil_mode=True), X2),
    C("max_pool2d-overlap", lambda F, x: F.max_pool2d(x, (3, 2), (1, 1)), X2),
    C(
        "max_pool2d-dilation",
        lambda F, x: F.max_pool2d(x, (2, 3), (1, 2), (1, 1), dilation=(2, 1)),
        X2,
    ),
    C("max_pool2d-unbatched", lambda F, x: F.max_pool2d(x, 2), (3, 5, 6)),
    C("max_pool1d", lambda F, x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), (2, 3, 10)),
    C("max_pool3d", lambda F, x: F.max_pool3d(x, 2, padding=1), (1, 2, 3, 4, 5)),
    # average pooling
    C("avg_pool2d", lambda F, x: F.avg_pool2d(x, 2), X2),
    C("avg_pool2d-pad", lambda F, x: F.avg_pool2d(x, 3, 2, 1), X2),
    C("avg_pool2d-ceil", lambda F, x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), X2),
    C("avg_pool2d-nocount", lambda F, x: F.avg_pool2d(x, 3, 2, 1, True, False), X2),
    C("avg_pool2d-divisor", lambda F, x: F.avg_pool2d(x, (2, 3), divisor_override=4), X2),
    C("avg_pool1d", lambda F, x: F.avg_pool1d(x, 4, 3, 2, True, False), (2, 3, 11)),
    C(
        "avg_pool3d",
        lambda F, x: F.avg_pool3d(x, 2, 1, 1, count_include_pad=False),
        (1, 2, 3, 4, 5),
    ),
    # adaptive
    C("adaptive_avg_pool2d", lambda F, x: F.adaptive_avg_pool2d(x, (3, 4)), X2),
    C("adaptive_avg_pool2d-1", lambda F, x: F.adaptive_avg_pool2d(x, 1), X2),
    C("adaptive_avg_pool2d-up", lambda F, x: F.adaptive_avg_pool2d(x, (9, 11)), X2),
    C("adaptive_avg_pool1d", lambda F, x: F.adaptive_avg_pool1d(x, 4), (2, 3, 7)),
    C("adaptive_max_pool2d", lambda F, x: F.adaptive_max_pool2d(x, (3, 5)), X2),
    C("adaptive_max_pool1d", lambda F, x: F.adaptive_max_pool1d(x, 3), (2, 3, 8)),
    # im2col / col2im
    C("unfold", lambda F, x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), X2),
    C("unfold-simple", lambda F, x: F.unfold(x, 3), (1, 2, 5, 5)),
    C("fold", lambda F, x: F.fold(x, (5, 6), (2, 3), padding=1, stride=(2, 1)), (2, 12, 18)),
    C("fold-overlap", lambda F, x: F.fold(x, (4, 4), 2), (1, 8, 9)),
    # resampling
    C("interp-nearest", lambda F, x: F.interpolate(x, size=(5, 13)), X2),
    C("interp-nearest-scale", lambda F, x: F.interpolate(x, scale_factor=2), X2),
    C("interp-nearest-down", lambda F, x: F.interpolate(x, scale_factor=0.6), X2),
    C(
        "interp-nearest-exact",
        lambda F, x: F.interpolate(x, size=(4, 11), mode="nearest-exact"),
        X2,
    ),
    C("interp-bilinear", lambda F, x: F.interpolate(x, size=(10, 5), mode="bilinear"), X2),
    C(
        "interp-bilinear-ac",
        lambda F, x: F.interpolate(x, scale_factor=1.7, mode="bilinear", align_corners=True),
        X2,
    ),
    C("interp-linear", lambda F, x: F.interpolate(x, scale_factor=2.5, mode="linear"), (2, 3, 5)),
    C(
        "interp-trilinear",
        lambda F, x: F.interpolate(x, size=(3, 6, 2), mode="trilinear"),
        (1, 2, 2, 3, 4),
    ),
    C("interp-area", lambda F, x: F.interpolate(x, size=(3, 4), mode="area"), X2),
    C("pixel_shuffle", lambda F, x: F.pixel_shuffle(x, 2), (2, 8, 3, 4)),
    C("pixel_unshuffle", lambda F, x: F.pixel_unshuffle(x, 3), (2, 2, 6, 3)),
    C(
        "sdpa-causal",
        lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        (2, 3, 5, 4),
        (2, 3, 5, 4),
        (2, 3, 5, 6),
    ),
    C(
        "sdpa-scale",
        lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3),
        (2, 5, 4),
        (2, 7, 4),
        (2, 7, 3),
    ),
]
BY_ID = {c.id: c for c in CASES}


def _inputs(case, rng, dtype=np.float64):
    # distinct values (a permutation) keep maxima free of ties
    out = []
    for s in case.shapes:
        n = int(np.prod(s))
        out.append(
            (rng.permutation(n) / n * 4 - 2 + rng.uniform(0, 0.5 / n, n)).reshape(s).astype(dtype)
        )
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matches_torch(case: Case, rng: np.random.Generator) -> None:
    arrays = _inputs(case, rng)
    xs = [bp.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = case.fn(BF, *xs), case.fn(TF, *ts)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert x.grad.shape == x.shape
        np.testing.assert_allclose(
            x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=f"input {i}"
        )


SMALL = [
    C(
        "conv2d",
        lambda F, x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2)),
        (1, 2, 5, 6),
        (2, 2, 2, 2),
        (2,),
    ),
    C(
        "conv2d-groups",
        lambda F, x, w: F.conv2d(x, w, padding="same", groups=2),
        (1, 4, 4, 3),
        (2, 2, 3, 2),
    ),
    C(
        "conv_t2d",
        lambda F, x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1),
        (1, 2, 3, 3),
        (2, 2, 3, 3),
        (2,),
    ),
    C("conv1d", lambda F, x, w: F.conv1d(x, w, stride=2, padding=2), (2, 2, 7), (3, 2, 3)),
    C("max_pool2d", lambda F, x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (1, 2, 6, 5)),
    C("avg_pool2d", lambda F, x: F.avg_pool2d(x, 3, 2, 1, True, False), (1, 2, 6, 5)),
    C("adaptive_max", lambda F, x: F.adaptive_max_pool2d(x, (2, 3)), (1, 2, 5, 5)),
    C("adaptive_avg", lambda F, x: F.adaptive_avg_pool2d(x, (2, 3)), (1, 2, 5, 5)),
    C("unfold", lambda F, x: F.unfold(x, 2, padding=1, stride=2), (1, 2, 4, 5)),
    C("fold", lambda F, x: F.fold(x, (3, 4), 2), (1, 8, 6)),
    C("bilinear", lambda F, x: F.interpolate(x, scale_factor=1.5, mode="bilinear"), (1, 1, 3, 4)),
]


@pytest.mark.parametrize("case", SMALL, ids=[c.id for c in SMALL])
def test_gradcheck(case: Case, rng: np.random.Generator) -> None:
    xs = [bp.tensor(a, requires_grad=True) for a in _inputs(case, rng)]
    assert bp.gradcheck(lambda *a: case.fn(BF, *a), xs)


F32 = ["conv2d-all", "conv2d-groups", "conv_t2d-all", "conv1d", "conv3d", "max_pool2d-ceil"]
F32 += ["avg_pool2d-nocount", "adaptive_avg_pool2d", "adaptive_max_pool2d", "unfold", "fold"]
F32 += ["interp-bilinear", "interp-nearest", "pixel_shuffle"]


@pytest.mark.parametrize("name", F32)
def test_float32_stays_float32(name: str, rng: np.random.Generator) -> None:
    case = BY_ID[name]
    arrays = _inputs(case, rng, np.float32)
    xs = [bp.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = case.fn(BF, *xs)
    assert out.dtype == np.float32
    out.sum().backward()
    case.fn(TF, *ts).sum().backward()
    for x, t in zip(xs, ts):
        assert x.grad.dtype == np.float32
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("which", ["max_pool2d", "max_pool1d", "adaptive_max_pool2d"])
def test_return_indices_match_torch(which: str, rng: np.random.Generator) -> None:
    shape = (2, 3, 9) if which == "max_pool1d" else (2, 3, 8, 7)
    x = rng.standard_normal(shape)
    args = ((3, 5),) if which.startswith("adaptive") else (3, 2, 1, 1, True)
    y, i = getattr(BF, which)(bp.tensor(x), *args, return_indices=True)
    ty, ti = getattr(TF, which)(torch.tensor(x), *args, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    assert i.dtype == np.int64


def test_max_unpool_matches_torch(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3, 7, 6))
    y, i = BF.max_pool2d(bp.tensor(x), 3, 2, 1, return_indices=True)
    ty, ti = TF.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    yb, yt = bp.tensor(y.numpy(), requires_grad=True), torch.tensor(ty.numpy(), requires_grad=True)
    out = BF.max_unpool2d(yb, i, 3, 2, 1, output_size=(7, 6))
    tout = TF.max_unpool2d(yt, ti, 3, 2, 1, output_size=(7, 6))
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    up = rng.standard_normal(out.shape)
    out.backward(up)
    tout.backward(torch.tensor(up))
    np.testing.assert_array_equal(yb.grad.numpy(), yt.grad.numpy())
    y, i = BF.max_pool2d(bp.tensor(x[..., :6, :]), 2, return_indices=True)
    assert BF.max_unpool2d(y, i, 2).shape == (2, 3, 6, 6)
    with pytest.raises(bp.autograd.OpError, match=r"max_unpool2d: indices .* outside"):
        BF.max_unpool2d(y, i * 10, 2)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum() -> None:
    data = np.array([[[[1.0, 1.0, 0.0], [1.0, 0.0, 2.0], [2.0, 2.0, 2.0]]]])
    x, t = bp.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    BF.max_pool2d(x, 2, 1).sum().backward()
    TF.max_pool2d(t, 2, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: BF.conv2d(bp.ones(1, 3, 8, 8), bp.ones(4, 2, 3, 3)),
            r"conv2d: input \(1, 3, 8, 8\) has 3 channels, weight \(4, 2, 3, 3\) expects 2 "
            r"\(groups=1\)",
        ),
        (
            lambda: BF.conv2d(bp.ones(1, 4, 8, 8), bp.ones(3, 2, 3, 3), groups=2),
            r"conv2d: weight \(3, 2, 3, 3\) has 3 output channels, not divisible by groups=2",
        ),
        (
            lambda: BF.conv2d(bp.ones(1, 2, 2, 2), bp.ones(1, 2, 3, 3)),
            r"conv2d: input of shape \(1, 2, 2, 2\) .* too small for kernel \(3, 3\)",
        ),
        (
            lambda: BF.conv2d(bp.ones(2, 8, 8), bp.ones(1, 2, 3)),
            r"conv2d: weight must be 4-D",
        ),
        (lambda: BF.conv1d(bp.ones(8), bp.ones(1, 1, 3)), r"conv1d: expected a 2-D .* \(8,\)"),
        (
            lambda: BF.conv2d(bp.ones(1, 2, 8, 8), bp.ones(1, 2, 3, 3), stride=2, padding="same"),
            r"conv2d: padding='same' is not supported for strided",
        ),
        (
            lambda: BF.conv2d(bp.ones(1, 2, 8, 8), bp.ones(3, 2, 3, 3), bias=bp.ones(2)),
            r"conv2d: bias of shape \(2,\)",
        ),
        (
            lambda: BF.conv_transpose2d(bp.ones(1, 2, 4, 4), bp.ones(2, 1, 3, 3), output_padding=1),
            r"conv_transpose2d: output padding \(1, 1\) must be smaller than",
        ),
        (lambda: BF.max_pool2d(bp.ones(1, 1, 4, 4), 2, padding=2), r"max_pool2d: pad should be"),
        (lambda: BF.max_pool2d(bp.ones(1, 1, 1, 4), 2), r"max_pool2d: .* too small"),
        (lambda: BF.avg_pool2d(bp.ones(1, 1, 4, 4), (2, 2, 2)), r"avg_pool2d: kernel_size must"),
        (
            lambda: BF.fold(bp.ones(1, 8, 5), (4, 4), 2),
            r"fold: .*number of sliding blocks 3 \* 3 = 9, but got input.size\(2\)=5",
        ),
    ],
)
def test_errors_name_the_op_and_shapes(call, message) -> None:
    with pytest.raises(bp.autograd.OpError, match=message):
        call()


# ---------------------------------------------------------------------------- modules


def _copy(bp_module, torch_module) -> None:
    bp_module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})


def test_small_cnn_same_loss_and_gradients_as_torch() -> None:
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 4, 3, stride=2, groups=2, bias=False),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d((2, 2)),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 5),
    ).double()
    net = bp.nn.Sequential(
        bp.nn.Conv2d(3, 6, 3, padding=1),
        bp.nn.ReLU(),
        bp.nn.MaxPool2d(2),
        bp.nn.Conv2d(6, 4, 3, stride=2, groups=2, bias=False),
        bp.nn.BatchNorm2d(4),
        bp.nn.ReLU(),
        bp.nn.AdaptiveAvgPool2d((2, 2)),
        bp.nn.Flatten(),
        bp.nn.Linear(16, 5),
    ).double()
    assert list(net.state_dict()) == list(tnet.state_dict())
    _copy(net, tnet)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3, 13, 11)), np.array([0, 3, 1, 4])
    loss = bp.nn.functional.cross_entropy(net(bp.tensor(x)), bp.tensor(y))
    tloss = TF.cross_entropy(tnet(torch.tensor(x)), torch.tensor(y))
    loss.backward()
    tloss.backward()
    assert abs(loss.item() - tloss.item()) < 1e-12
    tparams = dict(tnet.named_parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2),
        lambda nn: nn.Conv2d(4, 3, (2, 3), padding="same", padding_mode="reflect"),
        lambda nn: nn.Conv2d(4, 3, 3, padding=1, padding_mode="circular", bias=False),
        lambda nn: nn.Conv2d(4, 3, 3, padding=2, dilation=2, padding_mode="replicate"),
        lambda nn: nn.Conv3d(4, 2, 2),
        lambda nn: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
        lambda nn: nn.ConvTranspose1d(4, 2, 3, stride=2, groups=2),
    ],
    ids=[
        "conv1d",
        "conv2d-reflect",
        "conv2d-circular",
        "conv2d-replicate",
        "conv3d",
        "convT2d",
        "convT1d",
    ],
)
def test_conv_modules_match_torch(make, rng) -> None:
    tm, m = make(torch.nn).double(), make(bp.nn).double()
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in tm.state_dict().items()
    ]
    _copy(m, tm)
    nd = len(m.kernel_size)
    x = rng.standard_normal((2, 4) + (6, 5, 4)[:nd])
    out, tout = m(bp.tensor(x)), tm(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-9, atol=1e-11)
    assert repr(m) == repr(tm)


def test_conv_init_is_pytorchs_kaiming_uniform() -> None:
    bp.manual_seed(0)
    conv = bp.nn.Conv2d(8, 16, 3)
    bound = 1 / np.sqrt(8 * 9)
    w, b = conv.weight.numpy(), conv.bias.numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound
    convt = bp.nn.ConvTranspose2d(8, 4, 3, groups=2)
    assert convt.weight.shape == (8, 2, 3, 3)
    assert np.abs(convt.weight.numpy()).max() <= 1 / np.sqrt(2 * 9)


def test_conv_transpose_output_size(rng) -> None:
    x = rng.standard_normal((1, 4, 5, 5))
    m, tm = (
        bp.nn.ConvTranspose2d(4, 2, 3, stride=2).double(),
        torch.nn.ConvTranspose2d(4, 2, 3, stride=2).double(),
    )
    _copy(m, tm)
    out = m(bp.tensor(x), output_size=(12, 11))
    tout = tm(torch.tensor(x), output_size=(12, 11))
    assert out.shape == (1, 2, 12, 11)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="requested an output size"):
        m(bp.tensor(x), output_size=(20, 20))


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        lambda nn: nn.MaxPool1d(2),
        lambda nn: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
        lambda nn: nn.AvgPool1d(3),
        lambda nn: nn.AdaptiveAvgPool2d(3),
        lambda nn: nn.AdaptiveAvgPool1d(2),
        lambda nn: nn.AdaptiveMaxPool2d((2, 3)),
        lambda nn: nn.Upsample(scale_factor=2, mode="bilinear"),
        lambda nn: nn.Upsample(size=(7, 9)),
        lambda nn: nn.UpsamplingBilinear2d(scale_factor=2),
        lambda nn: nn.PixelShuffle(2),
        lambda nn: nn.PixelUnshuffle(2),
        lambda nn: nn.Unfold(2, padding=1),
        lambda nn: nn.Sequential(nn.Unfold(2, stride=2), nn.Fold((6, 4), 2, stride=2)),
        lambda nn: nn.Dropout2d(0.5).eval(),
    ],
)
def test_layer_modules_match_torch(make, rng) -> None:
    m, tm = make(bp.nn), make(torch.nn)
    shape = (2, 4, 6) if "1d" in type(m).__name__ else (2, 4, 6, 4)
    x = rng.standard_normal(shape)
    xb, xt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = m(xb), tm(xt)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(xb.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_dropout2d_zeros_whole_channels() -> None:
    bp.manual_seed(0)
    x = bp.ones(8, 16, 3, 3, requires_grad=True)
    y = bp.nn.Dropout2d(0.5)(x).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # a channel is kept or dropped
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8


def test_batchnorm3d(rng) -> None:
    x = rng.standard_normal((3, 2, 2, 3, 4))
    m, tm = bp.nn.BatchNorm3d(2).double(), torch.nn.BatchNorm3d(2).double()
    np.testing.assert_allclose(
        m(bp.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-9
    )
    np.testing.assert_allclose(m.running_var.numpy(), tm.running_var.numpy(), rtol=1e-9)


# ---------------------------------------------------------------------------- the explainer


def test_explain_and_trace_a_conv_graph_before_and_after_backward(rng) -> None:
    x = bp.tensor(rng.standard_normal((1, 2, 5, 5)), name="x")
    w = bp.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True, name="w")
    b = bp.tensor(rng.standard_normal(3), requires_grad=True, name="b")
    w2 = bp.tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True, name="w2")
    h = BF.max_pool2d(BF.conv2d(x, w, b, padding=1).relu(), 2, ceil_mode=True)
    y = BF.conv_transpose2d(h, w2, stride=2)
    loss = BF.unfold(BF.avg_pool2d(y, 2), 1).sum()
    loss.name = "L"
    before = bp.explain(loss, w)
    text = str(before) + str(bp.trace(loss))
    assert "conv2d" in text and "max_pool" in text
    loss.backward()
    after = bp.explain(loss, w)
    np.testing.assert_allclose(after.total, w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(before.total, w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bp.trace(loss).gradients["w2"], w2.grad.numpy(), rtol=1e-12)
    assert "conv_transpose2d" in bp.to_dot(loss)


def test_max_pool_takes_integers_and_avg_pool_refuses_them_as_torch():
    x = np.arange(2 * 36, dtype=np.int32).reshape(1, 2, 6, 6) % 7
    for kw in ({}, {"padding": 1}, {"stride": 1}):
        got = BF.max_pool2d(bp.tensor(x), 3, **kw)
        want = TF.max_pool2d(torch.tensor(x), 3, **kw)
        assert got.dtype == bp.int32
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    v, i = BF.max_pool2d(bp.tensor(x), 2, return_indices=True)
    tv, ti = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    with pytest.raises(RuntimeError, match="avg pooling is not implemented for int32"):
        BF.avg_pool2d(bp.tensor(x), 2)


def test_linear_interpolation_of_an_integer_image_stays_integer():
    x = (np.arange(2 * 3 * 8 * 8) % 251).astype(np.uint8).reshape(2, 3, 8, 8)
    got = BF.interpolate(bp.tensor(x), size=(5, 11), mode="bilinear")
    want = TF.interpolate(torch.tensor(x), size=(5, 11), mode="bilinear")
    assert got.dtype == bp.uint8 and got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())  # PyTorch's fixed point, exactly
    rng = np.random.default_rng(0)
    for shape, size, corners in [
        ((2, 3, 64, 64), (10, 10), False),
        ((1, 2, 12, 9), (31, 20), True),
    ]:
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        got = BF.interpolate(bp.tensor(img), size=size, mode="bilinear", align_corners=corners)
        want = TF.interpolate(torch.tensor(img), size=size, mode="bilinear", align_corners=corners)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    ints = (np.arange(2 * 8 * 8) % 97).astype(np.int32).reshape(1, 2, 8, 8)  # other integers
    got = BF.interpolate(bp.tensor(ints), size=(5, 5), mode="bilinear")
    want = TF.interpolate(torch.tensor(ints).double(), size=(5, 5), mode="bilinear")
    assert got.dtype == bp.int32
    # rounded from float32 here: a value at .5 in float64 may round the other way
    assert np.abs(got.numpy() - np.round(want.numpy())).max() <= 1
