"""What the explainer calls things, and that it works after ``backward()`` for every op.

* a tensor the user did not name is called by the expression it computes, abbreviated (still
  an expression) when long: no automatic name such as ``add_19`` ever reaches the user;
* ``explain``, ``trace``, ``draw``, ``explore`` after ``backward()``: every op of the repo's
  op tables (test_ops*.py) is replayed from what its node recorded, and the explanation's
  gradient equals the one ``backward()`` left in ``.grad``;
* a custom op (``bp.autograd.Function`` subclass) is called by its class name.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop.explain.graph import Graph

sys.path.insert(0, str(Path(__file__).parent))
import test_ops  # noqa: E402
import test_ops_index  # noqa: E402
import test_ops_math  # noqa: E402
import test_ops_reduce  # noqa: E402

AUTO = re.compile(r"\b(add|mul|sub|div|neg|leaf|pow|tanh|sum|function)_\d+\b")


def scalar_mlp(name_inputs: bool = True, samples: int = 5):
    """A hand-built scalar 2-3-1 tanh MLP with a squared-error loss summed over ``samples``
    (about 115 ops): every parameter named, the data named or not."""
    rng = np.random.default_rng(0)

    def param(v, name):
        return bp.tensor(float(v), requires_grad=True, name=name, dtype=bp.float64)

    W1 = [[param(rng.normal(), f"w{j}{i}") for i in range(2)] for j in range(3)]
    B1 = [param(rng.normal(), f"b{j}") for j in range(3)]
    W2 = [param(rng.normal(), f"v{j}") for j in range(3)]
    c = param(0.1, "c")
    X, Y = rng.normal(size=(samples, 2)), rng.normal(size=samples)
    loss = None
    for s in range(samples):
        x = [
            bp.tensor(X[s, i], name=f"x{s}{i}" if name_inputs else None, dtype=bp.float64)
            for i in range(2)
        ]
        h = [(W1[j][0] * x[0] + W1[j][1] * x[1] + B1[j]).tanh() for j in range(3)]
        out = W2[0] * h[0] + W2[1] * h[1] + W2[2] * h[2] + c
        term = (out - float(Y[s])) ** 2
        loss = term if loss is None else loss + term
    return loss, [w for row in W1 for w in row] + B1 + W2 + [c]


@pytest.mark.parametrize("name_inputs", [True, False])
@pytest.mark.parametrize("after_backward", [False, True])
def test_no_automatic_name_in_any_output_of_a_scalar_mlp(tmp_path, name_inputs, after_backward):
    loss, params = scalar_mlp(name_inputs)
    assert 100 <= len(bp.autograd.toposort(loss)) <= 130
    if after_backward:
        loss.backward()
    texts = {
        "explain": str(bp.explain(loss, params[0])),
        "explain ops": str(bp.explain(loss, params[-2], detail="ops")),
        "trace": str(bp.trace(loss)),
        "trace json": bp.trace(loss).to_json(),
        "summary": str(bp.summary(loss)),
        "dot": bp.to_dot(loss),
        "explore": bp.explore(loss)._repr_html_(),
        "svg": Path(bp.draw(loss, tmp_path / "g.svg")).read_text(),
    }
    for what, text in texts.items():
        found = sorted(set(m.group(0) for m in AUTO.finditer(text)))
        assert not found, f"{what} shows automatic names {found}"
    for what in ("explain", "trace", "summary"):
        lines = texts[what].splitlines()
        assert max(map(len, lines)) <= 100, what
    # every node's name is distinct and an expression of the names the user gave
    G = Graph(loss)
    names = [n.name for n in G.nodes]
    assert len(set(names)) == len(names)
    inner = [n.name for n in G.nodes if not n.is_leaf and n is not G.output]
    assert all(len(n) <= 112 for n in inner), max(inner, key=len)
    assert "tanh(w00 * x00 + w01 * x01 + b0)" in names if name_inputs else True


def test_long_expressions_keep_their_outermost_operators():
    loss, _ = scalar_mlp(samples=2)
    names = [n.name for n in Graph(loss).nodes]
    # the network's output: four terms, the hidden units' insides elided
    assert "v0 * tanh(...) + v1 * tanh(...) + v2 * tanh(...) + c" in names
    assert any(n.startswith("(") and n.endswith(")^2") and "..." in n for n in names)


# -- every op works after backward() ----------------------------------------------------------

TABLES = (test_ops, test_ops_math, test_ops_index, test_ops_reduce)
CASES = [c for t in TABLES for c in t.CASES]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.id}" for c in CASES])
def test_explain_and_trace_after_backward_for_every_op(case):
    rng = np.random.default_rng(0)
    xs = [
        bp.tensor(a, requires_grad=True, name=f"x{i}")
        for i, a in enumerate(test_ops._inputs(case, rng))
    ]
    out = case.fn(*xs)
    if not isinstance(out, bp.Tensor):
        pytest.skip("returns several tensors")
    loss = (out * bp.tensor(rng.standard_normal(out.shape))).sum()
    loss.backward()  # frees what every node saved
    for x in xs:
        e = bp.explain(loss, x)
        text = str(e)
        np.testing.assert_allclose(e.total, x.grad.numpy(), rtol=1e-9, atol=1e-12)
        assert not AUTO.search(text), text
    t = bp.trace(loss)
    for i, x in enumerate(xs):
        np.testing.assert_allclose(t.gradients[f"x{i}"], x.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert not AUTO.search(str(t))


def test_the_engine_records_the_ops_arguments_once_for_replay():
    x = bp.tensor([1.0, -2.0, np.nan], requires_grad=True, name="x")
    y = bp.nan_to_num(x, nan=0.5).sum()
    node = y._ctx.parents[0]._ctx
    assert node.params == (0.5, None, None)
    y.backward()
    fresh, out = node.replay()
    np.testing.assert_array_equal(out, [1.0, -2.0, 0.5])
    assert fresh is not node and fresh.saved is not None
    assert "nan_to_num(x)" in str(bp.trace(y))


def test_explain_refuses_after_the_weights_changed_in_place():
    w = bp.tensor(2.0, requires_grad=True, name="w")
    y = (w * 3.0).tanh()
    y.backward()
    with bp.no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match="changed in place"):
        bp.explain(y, w)


# -- custom ops ---------------------------------------------------------------------------------


class Cube(bp.autograd.Function):
    formulas = ("d x^3/dx = 3 x^2",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class Scaled(bp.autograd.Function):  # no formula; a keyword argument; two tensor inputs
    @staticmethod
    def forward(ctx, a, b, k=2.0):
        ctx.save_for_backward(a, b)
        ctx.k = k
        return a * b * k

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b * ctx.k, g * a * ctx.k


@pytest.mark.parametrize("after_backward", [False, True])
def test_custom_ops_are_named_by_their_class(tmp_path, after_backward):
    w = bp.tensor(2.0, requires_grad=True, name="w", dtype=bp.float64)
    v = bp.tensor(0.5, requires_grad=True, name="v", dtype=bp.float64)
    x = bp.tensor(3.0, name="x", dtype=bp.float64)
    y = Cube.apply(w * x) + Scaled.apply(w, v, k=3.0)
    if after_backward:
        y.backward()
    e = bp.explain(y, w)
    assert float(e.total) == pytest.approx(3 * 36 * 3 + 3 * 0.5)
    text = str(e)
    assert "Cube(w * x)" in text and "Scaled(w, v)" in text
    assert "Cube: d x^3/dx = 3 x^2" in text  # the user's formula, as given
    assert "Scaled'_1(w, v) = 1.5" in text  # no formula: the class name's derivative
    t = str(bp.trace(y))
    assert "Scaled'_2(w, v) = 6" in t and "Cube(w * x)" in t
    dot = bp.to_dot(y)
    assert "Cube(w * x)" in dot and "Scaled(w, v)" in dot
    assert "Cube(w * x)" in bp.explore(y)._repr_html_()
    assert not AUTO.search(text + t + dot)


def test_readme_promise_the_product_in_the_users_names():
    x1, x2, y = (
        bp.tensor(v, dtype=bp.float64, name=n) for v, n in [(2.0, "x1"), (3.0, "x2"), (1.0, "y")]
    )
    b, w1, w2 = (
        bp.tensor(v, dtype=bp.float64, requires_grad=True, name=n)
        for v, n in [(0.1, "b"), (0.5, "w1"), (-1.0, "w2")]
    )
    a1 = w1 * x1
    a1.name = "a1"
    a2 = w2 * x2
    a2.name = "a2"
    yhat = b + a1 + a2
    yhat.name = "yhat"
    loss = (yhat - y) ** 2
    loss.name = "Loss"
    text = str(bp.explain(loss, w1))
    assert "Loss -> yhat -> a1 -> w1" in text  # README's comment, said by the output
    assert "product = 2 * (yhat - y) x 1 x 1 x 1 x x1" in text and "= -11.6" in text
    assert "^(2 - 1)" not in text


def test_a_vector_node_shows_its_values_and_says_shape_for_its_length():
    y = bp.tensor([1.5, 0.2, 0.3, 2.0], name="y", dtype=bp.float64)
    w = bp.tensor(0.5, requires_grad=True, name="w", dtype=bp.float64)
    loss = ((w * y - 1.0) ** 2).sum()
    dot = bp.to_dot(loss)
    row = next(line for line in dot.splitlines() if "<B>y</B>" in line)
    assert "shape 4" in row and ">1.5<" in row and ">0.2<" in row and ">2<" in row


# -- rule texts: no placeholder of a rule survives, constants read as written ------------------

LEFTOVER = re.compile(r"(?<!\.)\.\.(?!\.)|s_[1ijk]\b|\b[A-DY]\b|[-+*/] -\d")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.id}" for c in CASES])
def test_no_rule_placeholder_is_left_in_any_ops_explanation(case):
    rng = np.random.default_rng(0)
    xs = [
        bp.tensor(a, requires_grad=True, name=f"x{i}")
        for i, a in enumerate(test_ops._inputs(case, rng))
    ]
    out = case.fn(*xs)
    if not isinstance(out, bp.Tensor):
        pytest.skip("returns several tensors")
    loss = (out * bp.tensor(rng.standard_normal(out.shape))).sum()
    for x in xs:
        text = str(bp.explain(loss, x))
        assert not LEFTOVER.search(text), LEFTOVER.search(text).group(0) + "\n" + text


def test_einsum_rule_is_written_with_its_own_equation():
    W = bp.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True, name="W")
    x = bp.tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    y = bp.einsum("ij,j->i", W, x)
    y.name = "y"
    s = bp.einsum("ij->j", W).sum() + y.sum()
    s.name = "L"
    text = " ".join(str(bp.explain(s, W)).split())
    assert "d einsum(ij,j->i, W, x)/dW: dL/dW = einsum(i,j->ij, dL/dy, x)" in text
    assert "d einsum(ij->j, W)/dW: dL/dW = einsum(j->ij, dL/d(einsum(ij->j, W)))" in text
    assert "sum(einsum(ij->j, W))" in text and "((" not in text  # no doubled parentheses
    text = " ".join(str(bp.explain(s, x)).split())
    assert "dL/dx = einsum(i,ij->j, dL/dy, W)" in text


def test_cat_rule_names_its_inputs():
    x = bp.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = bp.tensor([3.0], requires_grad=True, name="y")
    L = (bp.cat([x, y]) ** 2).sum()
    L.name = "L"
    text = " ".join(str(bp.explain(L, y)).split())
    assert "d(cat(x, y))/dy = 1 on y's slice" in text and "s_1" not in text


def test_negative_constants_read_as_written():
    a = bp.tensor(2.0, requires_grad=True, name="a")
    L = (a - (-0.74)) * (a + (-0.5)) * (a * -2.0) * (-a) ** 2
    L.name = "L"
    text = str(bp.explain(L, a))
    assert "a - (-0.74)" in text and "a + (-0.5)" in text and "a * (-2)" in text
    assert "(-a)^2" in text
    assert not re.search(r"[-+*/] -\d", text)


def test_a_call_followed_by_an_operator_is_grouped_and_product_factors_are_whole():
    a = bp.tensor(0.3, requires_grad=True, name="a")
    L = (a.tanh() - (-1.0)) ** 2
    L.name = "L"
    text = " ".join(str(bp.explain(L, a)).split())
    assert "(tanh(a) - (-1))^2" in text and "tanh(a) - (-1)^2" not in text
    assert "x (1 - tanh(a)^2)" in text  # a factor with + or - is parenthesized in a product


def test_cross_entropy_rule_names_the_targets():
    bp.manual_seed(0)
    m = bp.nn.Linear(3, 2)
    x = bp.randn(4, 3, name="x")
    L = bp.nn.functional.cross_entropy(m(x), bp.tensor([0, 1, 1, 0], name="labels"))
    L.name = "L"
    text = " ".join(str(bp.explain(L, m.bias)).split())
    assert "softmax(x @ weight^T + bias) - onehot(labels)" in text and "onehot(t)" not in text
