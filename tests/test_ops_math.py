"""Elementwise math beyond the core (trig, hyperbolic, logs, rounding, fmod, lerp, clamp with
tensor bounds, logic): the op table of test_ops.py run the same three ways (PyTorch float64,
gradcheck, float32 kept), then exact edge values (zeros, infinities, NaN, ties) against
PyTorch, values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
from test_ops import Case, edge_tests, op_table_tests

import backprop as bp

torch = pytest.importorskip("torch")


def fn_case(name: str, shapes: tuple, domains: str = "", **kwargs) -> Case:
    """``bp.name(*xs, **kwargs)`` against ``torch.name(*ts, **kwargs)``."""
    return Case(
        f"{name}-fn",
        lambda *xs: getattr(bp, name)(*xs, **kwargs),
        shapes,
        domains,
        torch_fn=lambda *ts: getattr(torch, name)(*ts, **kwargs),
    )


CASES = [
    # trigonometric and hyperbolic
    Case("sin", lambda a: a.sin(), ((3, 4),)),
    Case("cos", lambda a: a.cos(), ((3, 4),)),
    fn_case("sin", ((5,),)),
    fn_case("cos", ((2, 3),)),
    Case("tan", lambda a: a.tan(), ((3, 4),), "u"),
    Case("asin", lambda a: a.asin(), ((3, 4),), "u"),
    Case("acos", lambda a: a.acos(), ((3, 4),), "u"),
    Case("atan", lambda a: a.atan(), ((3, 4),)),
    Case("arctan", lambda a: a.arctan(), ((4,),)),
    Case("sinh", lambda a: a.sinh(), ((3, 4),)),
    Case("cosh", lambda a: a.cosh(), ((3, 4),)),
    Case("asinh", lambda a: a.asinh(), ((3, 4),)),
    Case("acosh", lambda a: a.acosh(), ((3, 4),), "g"),
    Case("atanh", lambda a: a.atanh(), ((3, 4),), "u"),
    fn_case("atan2", ((3, 4), (4,)), "an"),
    Case("atan2-method", lambda a, b: a.atan2(b), ((3, 1), (3, 4))),
    # logs and powers
    Case("log2", lambda a: a.log2(), ((3, 4),), "p"),
    Case("log10", lambda a: a.log10(), ((3, 4),), "p"),
    Case("log1p", lambda a: a.log1p(), ((3, 4),), "p"),
    Case("expm1", lambda a: a.expm1(), ((3, 4),)),
    Case("exp2", lambda a: a.exp2(), ((3, 4),)),
    fn_case("exp2", ((4,),)),
    Case("rsqrt", lambda a: a.rsqrt(), ((3, 4),), "p"),
    Case("reciprocal", lambda a: a.reciprocal(), ((3, 4),), "n"),
    Case("square", lambda a: a.square(), ((3, 4),)),
    fn_case("square", ((4,),)),
    fn_case("logaddexp", ((3, 4), (4,))),
    Case("logaddexp2", lambda a, b: a.logaddexp2(b), ((3, 1), (3, 4))),
    fn_case("hypot", ((3, 4), (3, 4)), "nn"),
    # rounding (gradient 0 everywhere) and remainders
    Case("floor", lambda a: a.floor() * a, ((3, 4),)),
    Case("ceil", lambda a: a.ceil() + a, ((3, 4),)),
    Case("round", lambda a: a.round() - a, ((3, 4),)),
    Case("round-decimals", lambda a: a.round(decimals=1) * a, ((3, 4),)),
    Case("trunc", lambda a: a.trunc() * a, ((3, 4),)),
    Case("frac", lambda a: a.frac(), ((3, 4),)),
    fn_case("fmod", ((3, 4), (4,)), "an"),
    fn_case("remainder", ((3, 4), (3, 1)), "an"),
    Case("mod-operator", lambda a, b: a % b, ((3, 4), (3, 4)), "an"),
    Case("mod-scalar", lambda a: a % 0.75, ((3, 4),)),
    Case("fmod-scalar", lambda a: a.fmod(-0.7), ((3, 4),)),
    Case("copysign", lambda a, b: a.copysign(b), ((3, 4), (3, 4))),
    Case("nan_to_num", lambda a: a.nan_to_num(), ((3, 4),)),
    # interpolation and clamping
    Case("lerp-scalar", lambda a, b: a.lerp(b, 0.3), ((3, 4), (3, 4))),
    Case("lerp-tensor", lambda a, b, w: a.lerp(b, w), ((3, 4), (4,), (3, 1))),
    fn_case("lerp", ((3, 4), (3, 4), (3, 4))),
    Case("clamp-tensor", lambda a, lo, hi: a.clamp(lo, hi), ((3, 4), (4,), (3, 1))),
    Case("clamp-tensor-min", lambda a, lo: a.clamp(min=lo), ((3, 4), (3, 4))),
    Case("clamp_min", lambda a: a.clamp_min(0.1), ((3, 4),)),
    Case("clamp_max-tensor", lambda a, hi: a.clamp_max(hi), ((3, 4), (4,))),
    fn_case("clamp", ((3, 4),), min=-0.5, max=0.5),
]


test_matches_torch, test_gradcheck, test_float32_stays_float32 = op_table_tests(CASES)


# ---------------------------------------------------------------------------- edge values
NAN, INF = float("nan"), float("inf")

EDGES = [
    # (id, fn written for both libraries, inputs): values and gradients must equal PyTorch's
    ("asin-at-1", lambda a: a.asin(), ([-1.0, 1.0, 0.0, 2.0],)),
    ("acos-at-1", lambda a: a.acos(), ([-1.0, 1.0, 0.0],)),
    ("acosh-at-1", lambda a: a.acosh(), ([1.0, 0.5, INF],)),
    ("atanh-at-1", lambda a: a.atanh(), ([-1.0, 1.0, 0.0],)),
    ("tan-at-0", lambda a: a.tan(), ([0.0, -0.0],)),
    ("log2-at-0", lambda a: a.log2(), ([0.0, -1.0, INF],)),
    ("log10-at-0", lambda a: a.log10(), ([0.0, 1.0],)),
    ("log1p-at-minus-1", lambda a: a.log1p(), ([-1.0, -2.0, 0.0],)),
    ("expm1-inf", lambda a: a.expm1(), ([-INF, INF, 0.0],)),
    ("exp2-inf", lambda a: a.exp2(), ([-INF, 0.0, 1.0],)),
    ("rsqrt-at-0", lambda a: a.rsqrt(), ([0.0, 4.0, -1.0],)),
    ("reciprocal-at-0", lambda a: a.reciprocal(), ([0.0, -0.0, 2.0],)),
    ("sinh-nan", lambda a: a.sinh(), ([NAN, 0.0],)),
    ("floor-at-integers", lambda a: a.floor(), ([-1.0, 0.0, 2.0, -1.5],)),
    ("ceil-at-integers", lambda a: a.ceil(), ([-1.0, 0.0, 2.0, 1.5],)),
    ("round-half-even", lambda a: a.round(), ([0.5, 1.5, 2.5, -0.5, -1.5],)),
    ("trunc-neg", lambda a: a.trunc(), ([-1.5, 1.5, -0.0],)),
    ("frac-neg", lambda a: a.frac(), ([-1.5, 1.25, 3.0],)),
    ("nan_to_num", lambda a: a.nan_to_num(), ([NAN, INF, -INF, 1.0],)),
    ("nan_to_num-values", lambda a: a.nan_to_num(1.0, 2.0, -3.0), ([NAN, INF, -INF, 1.0],)),
    ("atan2-origin", lambda a, b: a.atan2(b), ([0.0, 0.0, -0.0, 2.0], [0.0, -0.0, 0.0, 0.0])),
    ("fmod-by-zero", lambda a, b: a.fmod(b), ([2.0, 0.0, -3.5], [0.0, 0.0, 2.0])),
    ("remainder-by-zero", lambda a, b: a.remainder(b), ([2.0, 0.0, -3.5], [0.0, 0.0, 2.0])),
    ("remainder-signs", lambda a, b: a % b, ([-3.0, 3.0, -3.0, 3.0], [2.0, -2.0, -2.0, 2.0])),
    (
        "copysign-zeros",
        lambda a, b: a.copysign(b),
        ([0.0, -0.0, 1.0, -2.0], [-1.0, 1.0, -0.0, NAN]),
    ),
    (
        "logaddexp-infs",
        lambda a, b: a.logaddexp(b),
        ([-INF, INF, 0.0, -INF], [-INF, 1.0, 0.0, 3.0]),
    ),
    ("hypot-origin", lambda a, b: a.hypot(b), ([0.0, 3.0], [0.0, 4.0])),
    ("lerp-ends", lambda a, b: a.lerp(b, 1.0), ([1.0, -2.0], [3.0, 5.0])),
    (
        "lerp-weights",
        lambda a, b, w: a.lerp(b, w),
        ([1.0, 1.0, 1.0], [3.0, 3.0, 3.0], [0.0, 0.5, 1.0]),
    ),
    (
        "clamp-tensor-ties-and-crossed",
        lambda a, lo, hi: a.clamp(lo, hi),
        ([0.0, 1.0, 2.0, 3.0, 1.5, 5.0], [1.0] * 4 + [3.0, 3.0], [2.0] * 4 + [1.0, 3.0]),
    ),
    ("clamp-tensor-min-ties", lambda a, lo: a.clamp(min=lo), ([0.0, 1.0, 2.0], [1.0, 1.0, 1.0])),
    ("clamp-tensor-max-ties", lambda a, hi: a.clamp(max=hi), ([0.0, 1.0, 2.0], [1.0, 1.0, 1.0])),
    ("clamp-crossed-numbers", lambda a: a.clamp(2.0, 1.0), ([0.0, 1.5, 3.0],)),
]


test_edge_values_match_torch = edge_tests(EDGES, signed_zeros=True)


def _both(fn, *values, dtype=None):
    ours = fn(*[bp.tensor(np.array(v, dtype=dtype)) for v in values])
    theirs = fn(*[torch.tensor(np.array(v, dtype=dtype)) for v in values])
    return ours, theirs


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: a & b,
        lambda a, b: a | b,
        lambda a, b: a ^ b,
        lambda a, b: ~a,
        lambda a, b: a.logical_and(b),
        lambda a, b: a.logical_or(b),
        lambda a, b: a.logical_xor(b),
        lambda a, b: a.logical_not(),
        lambda a, b: a.bitwise_and(b),
    ],
    ids=["and", "or", "xor", "invert", "l-and", "l-or", "l-xor", "l-not", "bitwise_and"],
)
@pytest.mark.parametrize("dtype", [bool, np.int64])
def test_logic_and_bits_match_torch(fn, dtype) -> None:
    ours, theirs = _both(fn, [1, 0, 1, 0, 5], [1, 1, 0, 0, 3], dtype=dtype)
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    assert ours.tolist() == theirs.tolist()
    assert not ours.requires_grad


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: a.isnan(),
        lambda a: a.isinf(),
        lambda a: a.isfinite(),
        lambda a: a.isposinf(),
        lambda a: a.isneginf(),
        lambda a: a.signbit(),
        lambda a: a // 2,
        lambda a: 7 // a,
        lambda a: a.floor_divide(-1.5),
        lambda a: a.isclose(a + 1e-9),
    ],
)
def test_predicates_and_floor_divide_match_torch(fn) -> None:
    values = [NAN, INF, -INF, 1.5, -0.0, -2.5, 3.0]
    with np.errstate(all="ignore"):
        ours, theirs = _both(fn, values)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_integer_inputs_become_float_and_rounding_keeps_integers() -> None:
    i = bp.tensor([1, 2, 3])
    assert bp.sin(i).dtype == np.float32 and i.log2().dtype == np.float32
    assert bp.atan2(i, i).dtype == np.float32
    assert i.floor().dtype == np.int64 and i.round().tolist() == [1, 2, 3]
    assert (i % 2).tolist() == [1, 0, 1] and (i // 2).tolist() == [0, 1, 1]
    assert bp.square(i).tolist() == [1, 4, 9]
    with pytest.raises(TypeError, match="bitwise_and"):
        bp.tensor([1.0]) & bp.tensor([1.0])


def test_new_ops_show_their_rules_in_explain() -> None:
    x = bp.tensor([0.5, 1.5], requires_grad=True, name="x")
    lo = bp.tensor([0.6, 0.0], requires_grad=True, name="lo")
    y = (x.sin() * bp.atan2(x, 2.0) + x.clamp(lo, 1.0) + x.lerp(lo, 0.25)).sum()
    text = str(bp.explain(y, x))
    assert "d(sin(x))/dx = cos(x)" in text
    assert "d(atan2(x,2))/dx = 2 / (x^2 + 2^2)" in text
    assert "d(clamp(x,lo,1))/dx = 1 if lo <= x <= 1 else 0" in text
    assert "d(lerp(x,lo,0.25))/dx = 1 - 0.25" in text
    assert "(equals backward's gradient" in text


def test_reflected_mod_has_the_divisor_gradient() -> None:
    """PyTorch has no derivative for ``number % tensor``; ours is -floor(n / x), by hand."""
    x = bp.tensor([0.7, -1.1, 3.0], dtype=bp.float64, requires_grad=True)
    (2.5 % x).sum().backward()
    np.testing.assert_allclose((2.5 % x).numpy(), np.remainder(2.5, x.numpy()))
    np.testing.assert_array_equal(x.grad.numpy(), -np.floor(2.5 / x.numpy()))


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_div_rounding_mode_matches_torch(mode) -> None:
    a, b = [1.0, -7.0, 7.0, -0.5, 3.0], [0.1, 2.0, -2.0, 3.0, 0.0]
    xs = [bp.tensor(v, dtype=bp.float64, requires_grad=True) for v in (a, b)]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b)]
    with np.errstate(all="ignore"):
        out = bp.div(*xs, rounding_mode=mode)
    expected = torch.div(*ts, rounding_mode=mode)
    assert out.tolist() == expected.tolist()  # 1 // 0.1 is 9, as in PyTorch
    out.sum().backward()
    expected.sum().backward()
    for x, t in zip(xs, ts):
        assert x.grad.tolist() == t.grad.tolist()
    ints = bp.tensor([7, -7]).div(2, rounding_mode=mode)
    assert ints.tolist() == torch.tensor([7, -7]).div(2, rounding_mode=mode).tolist()
    assert ints.dtype == np.int64


def test_max_min_of_two_tensors_where_alone_and_clamp_in_place() -> None:
    a, b = bp.tensor([1.0, 5.0], requires_grad=True), bp.tensor([3.0, 2.0])
    assert bp.max(a, b).tolist() == [3.0, 5.0] and a.min(b).tolist() == [1.0, 2.0]
    bp.max(a, b).sum().backward()
    assert a.grad.tolist() == [0.0, 1.0]
    (rows,) = bp.where(bp.tensor([0, 1, 1]))
    assert rows.tolist() == torch.where(torch.tensor([0, 1, 1]))[0].tolist()
    z = bp.tensor([-2.0, 0.5, 3.0])
    assert z.clamp_(-1, 1) is z and z.tolist() == [-1.0, 0.5, 1.0]
    assert bp.concat([bp.ones(1), bp.zeros(1)]).tolist() == [1.0, 0.0]
