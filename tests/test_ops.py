"""Every primitive against PyTorch (values and gradients, float64) and against gradcheck.

The table ``CASES`` lists each op once: a function written so that the same code runs on a
backprop tensor and on a torch tensor (or a separate torch function where the APIs differ),
the input shapes (with broadcasting) and the domain each input is drawn from. Three tests run
over the whole table: PyTorch agreement, gradcheck, and float32 staying float32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import backprop as bp
from backprop import ops

torch = pytest.importorskip("torch")

COND = np.random.default_rng(1).random((3, 4)) > 0.5  # a fixed mask for `where`
MASK = np.array([True, False, True])


@dataclass
class Case:
    id: str
    fn: Callable
    shapes: tuple
    # one letter per input: a(ny), p(ositive), n(onzero), u(nit: |x| < 0.9), g(reater than 1),
    # d(istinct: a permutation of well-separated values, so sorts and maxima have no ties)
    domains: str = ""
    torch_fn: Callable | None = None


def _where_bp(a, b):
    return bp.where(COND, a, b)


def _where_pt(a, b):
    return torch.where(torch.from_numpy(COND), a, b)


CASES = [
    # arithmetic, with broadcasting in both directions
    Case("add", lambda a, b: a + b, ((3, 4), (3, 4))),
    Case("add-bcast", lambda a, b: a + b, ((2, 1, 3), (4, 1))),
    Case("sub-bcast", lambda a, b: a - b, ((3, 1), (1, 4))),
    Case("mul-bcast", lambda a, b: a * b, ((2, 3), (2, 1))),
    Case("mul-scalar-tensor", lambda a, b: a * b, ((), (3, 2))),
    Case("div", lambda a, b: a / b, ((3, 4), (3, 4)), "an"),
    Case("div-bcast", lambda a, b: a / b, ((4,), (3, 1)), "an"),
    Case("neg", lambda a: -a, ((3, 4),)),
    Case("pow-2", lambda a: a**2, ((3, 4),)),
    Case("pow-3", lambda a: a**3, ((3, 4),)),
    Case("pow-half", lambda a: a**0.5, ((3, 4),), "p"),
    Case("pow-neg", lambda a: a**-1.5, ((5,),), "p"),
    Case("pow-tensor", lambda a, b: a**b, ((3, 4), (3, 4)), "pa"),
    Case("pow-tensor-bcast", lambda a, b: a**b, ((3, 4), (4,)), "pa"),
    # reflected operators and Python constants
    Case("rmul", lambda a: 2 * a, ((3,),)),
    Case("radd", lambda a: 1.5 + a, ((3,),)),
    Case("rsub", lambda a: 1 - a, ((3,),)),
    Case("rdiv", lambda a: 10 / a, ((3,),), "n"),
    Case("rpow", lambda a: 2**a, ((3,),)),
    Case("sub-const", lambda a: a - 0.25, ((3,),)),
    Case("div-const", lambda a: a / 4.0, ((3,),)),
    # elementwise
    Case("exp", lambda a: a.exp(), ((3, 4),)),
    Case("log", lambda a: a.log(), ((3, 4),), "p"),
    Case("sqrt", lambda a: a.sqrt(), ((3, 4),), "p"),
    Case("abs", lambda a: a.abs(), ((3, 4),)),
    Case("tanh", lambda a: a.tanh(), ((3, 4),)),
    Case("sigmoid", lambda a: a.sigmoid(), ((3, 4),)),
    Case("relu", lambda a: a.relu(), ((3, 4),)),
    Case("erf", lambda a: a.erf(), ((3, 4),)),
    Case("maximum", lambda a, b: a.maximum(b), ((3, 4), (4,))),
    Case("minimum", lambda a, b: a.minimum(b), ((3, 1), (3, 4))),
    Case("where", _where_bp, ((3, 4), (1, 4)), torch_fn=_where_pt),
    Case("clamp", lambda a: a.clamp(min=-0.5, max=0.5), ((3, 4),)),
    Case("clamp-min", lambda a: a.clamp(min=0.1), ((3, 4),)),
    Case("clip-max", lambda a: a.clip(None, 0.2), ((3, 4),)),
    # reductions, PyTorch's names and NumPy's
    Case("sum", lambda a: a.sum(), ((3, 4),)),
    Case("sum-dim", lambda a: a.sum(dim=1), ((3, 4),)),
    Case("sum-dims-keep", lambda a: a.sum(dim=(0, 2), keepdim=True), ((2, 3, 4),)),
    Case("sum-neg-dim", lambda a: a.sum(-1), ((2, 3, 4),)),
    Case(
        "sum-axis-keepdims",
        lambda a: a.sum(axis=1, keepdims=True),
        ((3, 4),),
        torch_fn=lambda a: a.sum(dim=1, keepdim=True),
    ),
    Case("mean", lambda a: a.mean(), ((3, 4),)),
    Case("mean-dim", lambda a: a.mean(dim=0), ((3, 4),)),
    Case("mean-dims-keep", lambda a: a.mean(dim=(1, 2), keepdim=True), ((2, 3, 4),)),
    Case("max", lambda a: a.max(), ((3, 4),)),
    Case("min", lambda a: a.min(), ((3, 4),)),
    Case("max-dim", lambda a: a.max(dim=1).values, ((3, 4),)),
    Case("min-dim-keep", lambda a: a.min(dim=0, keepdim=True).values, ((3, 4),)),
    Case("max-axis", lambda a: a.max(axis=-1)[0], ((2, 3, 4),), torch_fn=lambda a: a.max(-1)[0]),
    Case("amax", lambda a: a.amax(dim=1), ((3, 4),)),
    Case("amin-dims", lambda a: a.amin(dim=(0, 2)), ((2, 3, 4),)),
    # shapes
    Case("reshape", lambda a: a.reshape(4, 3), ((3, 4),)),
    Case("reshape-tuple", lambda a: a.reshape((2, -1)), ((3, 4),)),
    Case("view", lambda a: a.view(-1), ((3, 4),)),
    Case("transpose", lambda a: a.transpose(0, 2), ((2, 3, 4),)),
    Case("permute", lambda a: a.permute(2, 0, 1), ((2, 3, 4),)),
    Case("T", lambda a: a.T, ((3, 4),)),
    Case("expand", lambda a: a.expand(2, 3, 4), ((3, 1),)),
    Case("expand-minus-one", lambda a: a.expand(3, -1), ((1, 4),)),
    Case("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)), ((4,),)),
    Case("flatten", lambda a: a.flatten(), ((2, 3, 4),)),
    Case("squeeze", lambda a: a.squeeze(1), ((3, 1, 4),)),
    Case("unsqueeze", lambda a: a.unsqueeze(-1), ((3, 4),)),
    # indexing: basic slices, integer arrays (repeats accumulate), masks
    Case("slice", lambda a: a[1:, ::2], ((3, 4),)),
    Case("int", lambda a: a[1], ((3, 4),)),
    Case("ellipsis", lambda a: a[..., 0], ((2, 3, 4),)),
    Case("newaxis", lambda a: a[None, 1:], ((3, 4),)),
    Case("gather-repeat", lambda a: a[[0, 2, 0, 0]], ((3, 4),)),
    Case("gather-cols", lambda a: a[:, [1, 1, 0]], ((3, 4),)),
    Case("gather-pairs", lambda a: a[[0, 1, 1], [2, 2, 2]], ((3, 4),)),
    Case(
        "gather-2d-index",
        lambda a: a[np.array([[0, 1], [1, 1]])],
        ((3, 4),),
        torch_fn=lambda a: a[torch.tensor([[0, 1], [1, 1]])],
    ),
    Case("mask", lambda a: a[MASK], ((3, 4),), torch_fn=lambda a: a[torch.from_numpy(MASK)]),
    # joining
    Case(
        "cat",
        lambda a, b: bp.cat([a, b]),
        ((2, 3), (4, 3)),
        torch_fn=lambda a, b: torch.cat([a, b]),
    ),
    Case(
        "cat-last",
        lambda a, b, c: bp.concatenate([a, b, c], dim=-1),
        ((2, 3), (2, 1), (2, 2)),
        torch_fn=lambda a, b, c: torch.cat([a, b, c], dim=-1),
    ),
    Case(
        "stack",
        lambda a, b: bp.stack([a, b]),
        ((2, 3), (2, 3)),
        torch_fn=lambda a, b: torch.stack([a, b]),
    ),
    Case(
        "stack-last",
        lambda a, b, c: bp.stack((a, b, c), dim=-1),
        ((2, 3), (2, 3), (2, 3)),
        torch_fn=lambda a, b, c: torch.stack((a, b, c), dim=-1),
    ),
    # matmul: vector, matrix, batched, broadcast batches
    Case("matmul-vv", lambda a, b: a @ b, ((3,), (3,))),
    Case("matmul-mv", lambda a, b: a @ b, ((2, 3), (3,))),
    Case("matmul-vm", lambda a, b: a @ b, ((3,), (3, 4))),
    Case("matmul-mm", lambda a, b: a @ b, ((2, 3), (3, 4))),
    Case("matmul-bm", lambda a, b: a.matmul(b), ((5, 2, 3), (3, 4))),
    Case("matmul-bb", lambda a, b: a @ b, ((5, 2, 3), (5, 3, 4))),
    Case("matmul-bcast-batch", lambda a, b: a @ b, ((2, 1, 2, 3), (4, 3, 2))),
    Case("matmul-vb", lambda a, b: a @ b, ((3,), (5, 3, 4))),
    Case("matmul-bv", lambda a, b: a @ b, ((5, 2, 3), (3,))),
    # composites need no rule of their own
    Case("softplus", lambda a: (1 + a.exp()).log(), ((3, 4),)),
    Case(
        "softmax",
        lambda a: (
            (a - a.amax(dim=-1, keepdim=True)).exp()
            / (a - a.amax(dim=-1, keepdim=True)).exp().sum(dim=-1, keepdim=True)
        ),
        ((3, 4),),
    ),
    Case("gelu", lambda a: 0.5 * a * (1 + (a / 2**0.5).erf()), ((3, 4),)),
    Case("mse", lambda a, b: ((a - b) ** 2).mean(), ((3, 4), (3, 4))),
]


def _inputs(case: Case, rng: np.random.Generator, dtype=np.float64) -> list[np.ndarray]:
    arrays = []
    for i, shape in enumerate(case.shapes):
        domain = case.domains[i] if i < len(case.domains) else "a"
        if domain == "p":
            x = rng.uniform(0.5, 2.0, shape)
        elif domain == "n":
            x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        elif domain == "u":
            x = rng.uniform(-0.9, 0.9, shape)
        elif domain == "g":
            x = rng.uniform(1.2, 3.0, shape)
        elif domain == "d":
            size = int(np.prod(shape))
            x = (rng.permutation(size) - size / 2).reshape(shape) * 0.1
        else:
            x = rng.standard_normal(shape)
        arrays.append(np.asarray(x, dtype=dtype))
    return arrays


def _torch_fn(case: Case) -> Callable:
    return case.torch_fn or case.fn


def check_matches_torch(case: Case, rng: np.random.Generator) -> None:
    arrays = _inputs(case, rng)
    xs = [bp.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = case.fn(*xs), _torch_fn(case)(*ts)
    assert out.shape == tuple(expected.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)

    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert isinstance(x.grad, bp.Tensor), f"input {i}: grad is {type(x.grad)}"
        assert x.grad.shape == x.shape, f"input {i}: grad shape {x.grad.shape} != {x.shape}"
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def check_gradcheck(case: Case, rng: np.random.Generator) -> None:
    xs = [bp.tensor(a, requires_grad=True) for a in _inputs(case, rng)]
    assert bp.gradcheck(case.fn, xs)


def check_float32_kept(case: Case, rng: np.random.Generator) -> None:
    xs = [bp.tensor(a, requires_grad=True) for a in _inputs(case, rng, np.float32)]
    out = case.fn(*xs)
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(x.grad.dtype == np.float32 for x in xs)


def op_table_tests(cases: list, no_gradcheck: tuple = (), no_float32: tuple = ()):
    """The three tests of an op table (this file's and the other test_ops_* files'): values
    and gradients against PyTorch in float64, gradcheck, float32 kept. Cases whose id holds
    one of the strings in ``no_gradcheck`` / ``no_float32`` skip that test."""

    def each(skip: tuple = ()):
        kept = [c for c in cases if not any(k in c.id for k in skip)]
        return pytest.mark.parametrize("case", kept, ids=[c.id for c in kept])

    @each()
    def test_matches_torch(case: Case, rng: np.random.Generator) -> None:
        check_matches_torch(case, rng)

    @each(no_gradcheck)
    def test_gradcheck(case: Case, rng: np.random.Generator) -> None:
        check_gradcheck(case, rng)

    @each(no_float32)
    def test_float32_stays_float32(case: Case, rng: np.random.Generator) -> None:
        check_float32_kept(case, rng)

    return test_matches_torch, test_gradcheck, test_float32_stays_float32


test_matches_torch, test_gradcheck, test_float32_stays_float32 = op_table_tests(CASES)


def edge_tests(edges: list, signed_zeros: bool = False):
    """A test of exact edge values (zeros, infinities, NaN, ties) against PyTorch: each
    entry ``(id, fn, inputs)``, values and gradients; ``signed_zeros``: the sign of a zero
    gradient must match too."""

    @pytest.mark.parametrize("fn, inputs", [e[1:] for e in edges], ids=[e[0] for e in edges])
    def test_edge_values_match_torch(fn, inputs) -> None:
        xs = [bp.tensor(np.array(v), requires_grad=True) for v in inputs]
        ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
        with np.errstate(all="ignore"):
            out = fn(*xs)
            out.sum().backward()
        expected = fn(*ts)
        expected.sum().backward()
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12)
        for x, t in zip(xs, ts):
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)
            if signed_zeros:
                assert np.array_equal(np.signbit(x.grad.numpy()), np.signbit(t.grad.numpy()))

    return test_edge_values_match_torch


# ---------------------------------------------------------------------------- exact kinks
# At the points where a derivative is not defined the engine picks PyTorch's value.

KINKS = [
    # (id, fn written for both libraries, inputs)
    ("relu-at-0", lambda a: a.relu(), ([-1.0, 0.0, 2.0],)),
    ("abs-at-0", lambda a: a.abs(), ([-1.0, 0.0, 2.0],)),
    ("maximum-ties", lambda a, b: a.maximum(b), ([1.0, 2.0, 3.0, 0.0], [1.0, 0.0, 3.0, 0.0])),
    ("minimum-ties", lambda a, b: a.minimum(b), ([1.0, 2.0, 3.0, 0.0], [1.0, 0.0, 3.0, 0.0])),
    ("max-whole-ties", lambda a: a.max(), ([1.0, 3.0, 3.0, 0.0],)),
    ("min-whole-ties", lambda a: a.min(), ([0.0, 3.0, 0.0, 0.0],)),
    ("max-ties-at-0", lambda a: a.max(), ([0.0, -1.0, 0.0],)),
    ("amax-dim-ties", lambda a: a.amax(dim=1), ([[0.0, 0.0, -1.0], [2.0, 1.0, 2.0]],)),
    ("amin-keepdim-ties", lambda a: a.amin(dim=0, keepdim=True), ([[1.0, 0.0], [1.0, 2.0]],)),
    ("max-dim-no-ties", lambda a: a.max(dim=1).values, ([[0.0, 5.0, -1.0], [2.0, 1.0, 3.0]],)),
    ("clamp-boundaries", lambda a: a.clamp(0.0, 1.0), ([-1.0, 0.0, 0.5, 1.0, 2.0],)),
    ("pow0-at-0", lambda a: a**0, ([0.0, 2.0],)),
    ("pow2-at-0", lambda a: a**2, ([0.0, -2.0],)),
    ("pow-tensor-base-0", lambda a, b: a**b, ([0.0, 2.0], [2.0, 3.0])),
    ("sqrt-at-0", lambda a: a.sqrt(), ([0.0, 4.0],)),
    ("relu-of-zero-product", lambda a: (a * 0).relu(), ([1.0, -1.0],)),
]


@pytest.mark.parametrize("fn, inputs", [k[1:] for k in KINKS], ids=[k[0] for k in KINKS])
def test_kinks_match_torch(fn: Callable, inputs: tuple) -> None:
    xs = [bp.tensor(np.array(v), requires_grad=True) for v in inputs]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    with np.errstate(divide="ignore"):
        out = fn(*xs)
        out.sum().backward()
    expected = fn(*ts)
    expected.sum().backward()
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    for x, t in zip(xs, ts):
        np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_decided_kink_values() -> None:
    """The decisions themselves, written out (independent of the PyTorch version)."""
    x = bp.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]
    x.grad = None
    x.abs().sum().backward()
    assert x.grad.tolist() == [-1.0, 0.0, 1.0]

    a, b = bp.tensor([1.0, 2.0], requires_grad=True), bp.tensor([1.0, 0.0], requires_grad=True)
    a.maximum(b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0] and b.grad.tolist() == [0.5, 0.0]

    m = bp.tensor([3.0, 1.0, 3.0, 3.0], requires_grad=True)
    m.max().backward()
    np.testing.assert_allclose(m.grad, [1 / 3, 0, 1 / 3, 1 / 3])

    c = bp.tensor([-1.0, 0.0, 1.0, 2.0], requires_grad=True)
    c.clamp(0.0, 1.0).sum().backward()
    assert c.grad.tolist() == [0.0, 1.0, 1.0, 0.0]


def test_max_dim_returns_values_and_indices_and_grad_goes_to_the_index() -> None:
    x = bp.tensor([[1.0, 4.0, 4.0], [2.0, 0.0, 5.0]], requires_grad=True)
    result = x.max(dim=1)
    values, indices = result  # a namedtuple, as in PyTorch
    assert result.values is values and result.indices is indices
    assert values.tolist() == [4.0, 5.0]
    assert indices.tolist() == [1, 2]
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]

    t = torch.tensor([[1.0, 4.0, 4.0], [2.0, 0.0, 5.0]])
    assert indices.tolist() == t.max(dim=1).indices.tolist()
    assert x.min(dim=0, keepdim=True).indices.shape == (1, 3)


def test_where_with_tensor_condition_and_constants() -> None:
    x = bp.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    y = bp.where(x > 0, x, 0.0)
    assert y.tolist() == [0.0, 0.5, 3.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0]


def test_gathers_with_repeated_indices_accumulate() -> None:
    x = bp.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]
    x.grad = None
    x[bp.tensor([2, 2])].sum().backward()  # an integer tensor as the index
    assert x.grad.tolist() == [0.0, 0.0, 2.0]


def test_pow_scalar_and_tensor_exponent() -> None:
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    p = bp.tensor([3.0, 2.0], requires_grad=True)
    bp.pow(x, 3).sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]
    x.grad = None
    (x**p).sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]
    np.testing.assert_allclose(p.grad, [0.0, 4 * np.log(2.0)], rtol=1e-6)


def test_functional_api_matches_methods() -> None:
    a = bp.tensor([[1.0, -2.0], [3.0, 0.5]])
    pairs = [
        (bp.add(a, a), a + a),
        (bp.sub(a, 1.0), a - 1.0),
        (bp.mul(a, a), a * a),
        (bp.div(a, 2.0), a / 2.0),
        (bp.neg(a), -a),
        (bp.exp(a), a.exp()),
        (bp.abs(a), a.abs()),
        (bp.tanh(a), a.tanh()),
        (bp.sigmoid(a), a.sigmoid()),
        (bp.relu(a), a.relu()),
        (bp.erf(a), a.erf()),
        (bp.maximum(a, 0.0), a.maximum(0.0)),
        (bp.minimum(a, 0.0), a.minimum(0.0)),
        (bp.clip(a, 0, 1), a.clamp(0, 1)),
        (bp.sum(a, 0), a.sum(0)),
        (bp.mean(a, dim=1), a.mean(1)),
        (bp.amax(a), a.max()),
        (bp.reshape(a, 4), a.reshape(-1)),
        (bp.transpose(a, 0, 1), a.T),
        (bp.permute(a, (1, 0)), a.T),
        (bp.matmul(a, a), a @ a),
        (bp.sqrt(a.abs()), a.abs() ** 0.5),
        (bp.log(a.abs()), a.abs().log()),
        (bp.expand(a[0], 2, 2), a[0].broadcast_to((2, 2))),
    ]
    for got, expected in pairs:
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_every_primitive_states_its_rule() -> None:
    """Each op class names itself and states its rule in words, one formula per input at least."""
    primitives = [
        v
        for v in vars(ops).values()
        if isinstance(v, type) and issubclass(v, bp.Function) and v is not bp.Function
    ]
    assert len(primitives) >= 25
    for cls in primitives:
        assert cls.name and cls.name != "function", cls
        assert cls.formulas and all(isinstance(f, str) for f in cls.formulas), cls
    assert ops.Tanh.formulas[0] == "d tanh(s)/ds = 1 - tanh(s)^2"
    assert len(ops.Mul.formulas) == 2 and len(ops.Exp.formulas) == 1


@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("var", lambda x: x.var(1), lambda x: x.var(1)),
        ("var_all_biased", lambda x: x.var(correction=0), lambda x: x.var(correction=0)),
        ("std_keepdim", lambda x: x.std(0, keepdim=True), lambda x: x.std(0, keepdim=True)),
        ("norm", lambda x: x.norm(), lambda x: x.norm()),
        ("norm_p3_dim", lambda x: x.norm(p=3, dim=0), lambda x: x.norm(p=3, dim=0)),
        ("clone", lambda x: x.clone() * 2, lambda x: x.clone() * 2),
    ],
)
def test_composites_match_torch(name, ours, theirs):
    rng = np.random.default_rng(7)
    data = rng.standard_normal((3, 4))
    x = bp.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    y, yt = ours(x), theirs(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    up = rng.standard_normal(yt.shape)
    y.backward(up)
    yt.backward(torch.tensor(up))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_argmax_any_all_sign_carry_no_graph():
    x = bp.tensor([[1.0, 3.0, 2.0], [0.0, -1.0, 5.0]], requires_grad=True)
    assert x.argmax(1).tolist() == [1, 2] and x.argmin().item() == 4
    assert (x > 0).any().item() and not (x > 0).all().item()
    assert (x > -2).all(dim=1).tolist() == [True, True]
    assert x.sign().tolist() == [[1, 1, 1], [0, -1, 1]]
    assert not x.argmax(1).requires_grad
    x.sign().sum().backward()  # sign is in the graph with a zero gradient, as in PyTorch
    assert x.grad.tolist() == [[0, 0, 0], [0, 0, 0]]
