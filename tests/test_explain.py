"""explain, trace, summary, draw: the sum over chain-rule paths is backward's gradient."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop as bp

f64 = bp.float64


def _random_expression(seed: int, leaf):
    """A random scalar expression over three parameters made by ``leaf(value, i)``, with
    fan-out; the same expression in any library whose tensors have * + - tanh sigmoid."""
    rng = np.random.default_rng(seed)
    ws = [leaf(rng.uniform(0.2, 1.5), i) for i in range(3)]
    pool = list(ws)
    for _ in range(6):
        a, b = (pool[i] for i in rng.integers(0, len(pool), 2))
        op = rng.integers(0, 5)
        out = [a * b, a + b, (a * b).tanh(), a.sigmoid() * b, a - b * 0.5][op]
        pool.append(out)
    return ws, pool[-1] + pool[-2] * pool[-3]


def _random_scalar_graph(seed: int):
    return _random_expression(
        seed, lambda v, i: bp.tensor(v, requires_grad=True, dtype=f64, name=f"w{i}")
    )


def _torch_grads(seed: int):
    import torch

    ws, loss = _random_expression(
        seed, lambda v, i: torch.tensor(v, requires_grad=True, dtype=torch.float64)
    )
    loss.backward()
    return [None if w.grad is None else w.grad.item() for w in ws]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_explain_total_is_the_gradient_on_random_scalar_graphs(seed):
    ws, loss = _random_scalar_graph(seed)
    expected = _torch_grads(seed)
    for w, g in zip(ws, expected):
        if g is None:  # this parameter did not make it into the random graph
            continue
        e = bp.explain(loss, w, detail="ops", max_paths=10_000)
        assert np.isclose(float(e.total), g, rtol=1e-10, atol=1e-12)
        assert e.matches_backward
        if e.paths:
            assert np.isclose(sum(float(p.product) for p in e.paths), g, rtol=1e-10, atol=1e-12)
        t = bp.trace(loss, detail="ops")
        assert np.isclose(float(t.gradients.get(w.name, 0.0)), g, rtol=1e-10, atol=1e-12)


def test_explain_equals_backward_on_tensor_graph_with_fanout():
    rng = np.random.default_rng(1)
    W = bp.tensor(rng.standard_normal((3, 4)), requires_grad=True, dtype=f64, name="W")
    b = bp.tensor(rng.standard_normal((3, 1)), requires_grad=True, dtype=f64, name="b")
    X = bp.tensor(rng.standard_normal((4, 5)), dtype=f64, name="X")
    s = W @ X + b
    s.name = "s"
    h = s.tanh()
    h.name = "h"
    loss = (h * h).sum() + (W * W).sum() * 0.1  # W reaches the loss along two paths
    loss.name = "L"
    eW, eb = bp.explain(loss, W), bp.explain(loss, b)
    assert eW.n_paths == 2
    t = bp.trace(loss)
    loss.backward()
    np.testing.assert_allclose(eW.total, W.grad, rtol=1e-12)
    np.testing.assert_allclose(eb.total, b.grad, rtol=1e-12)
    np.testing.assert_allclose(t.gradients["W"], W.grad, rtol=1e-12)
    text = str(eW)
    assert "matrix form: dL/dW = dL/ds X^T" in text and "(3x4) = (3x5)(5x4)" in text


def test_explain_names_edges_and_formulas_like_lecture_000():
    x1 = bp.tensor(2.0, dtype=f64, name="x1")
    w1 = bp.tensor(0.5, requires_grad=True, dtype=f64, name="w1")
    b = bp.tensor(0.1, requires_grad=True, dtype=f64, name="b")
    a1 = w1 * x1
    a1.name = "a1"
    yhat = b + a1
    yhat.name = "yhat"
    loss = (yhat - 1.0) ** 2
    loss.name = "Loss"
    e = bp.explain(loss, w1)
    (p,) = e.paths
    assert p.nodes == ["Loss", "yhat", "a1", "w1"]
    assert [round(x.value, 12) for x in p.edges] == [round(2 * (1.1 - 1.0), 12), 1.0, 2.0]
    assert "d(w1 * x1)/dw1 = x1" in p.edges[-1].formula
    assert "Loss -> yhat -> a1 -> w1" in str(e)
    # the README's promise: the rules multiplied, in the user's names, then the numbers
    assert "product = 2 * (yhat - 1) x 1 x 1 x x1" in str(e)  # y is the constant 1
    assert "= 0.2 x 1 x 2 = 0.4" in str(e)


def test_explain_groups_paths_when_too_many():
    x = bp.tensor(0.1, requires_grad=True, dtype=f64, name="x")
    y = x
    for _ in range(30):  # 2^30 paths
        y = y * y + y
    e = bp.explain(y, x, detail="ops", max_paths=100)
    assert e.n_paths == 2**30 and not e.paths and e.groups
    assert "too many to list" in str(e)


def test_explain_trace_draw_work_after_backward(tmp_path):
    """backward frees the saved buffers; the explainer recomputes them from the inputs."""
    bp.manual_seed(0)
    model = bp.nn.Sequential(bp.nn.Linear(4, 3), bp.nn.Tanh(), bp.nn.Linear(3, 2)).double()
    x = bp.randn(5, 4, dtype=f64, name="x")
    w = bp.tensor([0.5, -2.0, 3.0], requires_grad=True, dtype=f64, name="w")
    out = model(x)
    loss = bp.nn.functional.cross_entropy(out, bp.tensor([0, 1, 1, 0, 1]))
    loss = loss + ((w**3).clip(-1, 2).amax() + (w * w).sum() / w.sigmoid().sum())
    loss.name = "L"
    before = [bp.explain(loss, p).total for p in (model[0].weight, w)]
    loss.backward()
    after = [bp.explain(loss, p).total for p in (model[0].weight, w)]
    for b, a, p in zip(before, after, (model[0].weight, w)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bp.trace(loss).gradients["w"], w.grad.numpy(), rtol=1e-12)
    assert bp.draw(loss, tmp_path / "g.png").endswith("g.png")


def test_explain_after_an_optimizer_step_refuses_to_mix_two_states():
    w = bp.tensor(1.0, requires_grad=True, dtype=f64, name="w")
    y = w.tanh()
    y.backward()
    bp.optim.SGD([w], lr=0.5).step()
    with pytest.raises(RuntimeError, match="changed in place"):
        bp.explain(y, w)


def test_trace_reports_accumulation_and_json():
    w = bp.tensor(1.5, requires_grad=True, dtype=f64, name="w")
    h1 = w * 2.0
    h1.name = "h1"
    h2 = w * 3.0
    h2.name = "h2"
    L = h1 * h2
    L.name = "L"
    t = bp.trace(L)
    assert [s.node for s in t.steps] == ["L", "h2", "h1", "w"]
    last = t.steps[-1]
    assert last.received == 2 and float(last.upstream) == pytest.approx(12 * 1.5)
    data = json.loads(t.to_json())
    assert data["gradients"]["w"] == pytest.approx(18.0)
    assert any(s["accumulated"] for step in data["steps"] for s in step["sends"])
    assert "accumulated" in t.table()


def test_summary_answers_001_classwork():
    from backprop.explain import examples

    r = examples.run("sigmoid-221-001")
    s = r["summary"]
    assert s.gradient_dimension == 9  # w0..w5, b0..b2
    assert s.n_local_partials == 14
    assert s.partials["w4"] == ["dL/da2 * da2/dw4"]
    assert s.partials["w0"] == ["dL/da2 * da2/da0 * da0/dz0 * dz0/dw0"]
    assert s.chain_length["w0"] > s.chain_length["w4"]


def _net_221(name_inner: bool, name_params: bool):
    def T(v, n, g=False):
        return bp.tensor(v, requires_grad=g, dtype=f64, name=n if name_params or not g else None)

    x0, x1, y = T(0.5, "x0"), T(-1.0, "x1"), T(1.0, "y")
    w = [T(v, f"w{i}", True) for i, v in enumerate([0.1, -0.2, 0.3, 0.4, 0.5, -0.6])]
    b = [T(v, f"b{i}", True) for i, v in enumerate([0.05, -0.05, 0.1])]
    z0 = x0 * w[0] + x1 * w[2] + b[0]
    a0 = z0.sigmoid()
    z1 = x0 * w[1] + x1 * w[3] + b[1]
    a1 = z1.sigmoid()
    a2 = a0 * w[4] + a1 * w[5] + b[2]
    L = 0.5 * (y - a2) ** 2
    if name_inner:
        for t, n in zip([z0, a0, z1, a1, a2, L], "z0 a0 z1 a1 a2 L".split()):
            t.name = n
    return L


@pytest.mark.parametrize("name_inner,name_params", [(True, True), (False, True), (False, False)])
def test_summary_answers_do_not_depend_on_names(name_inner, name_params):
    s = bp.summary(_net_221(name_inner, name_params))
    assert (s.gradient_dimension, s.n_local_partials) == (9, 14)
    assert sorted(s.chain_length.values()) == [2, 2, 2, 4, 4, 4, 4, 4, 4]
    assert s.chain_verdict.startswith("parameters nearer the input have longer chains")
    assert "'layers' view" in str(s) and max(len(x) for x in str(s).splitlines()) <= 100


def test_summary_chain_verdict_is_computed():
    from backprop.explain import examples

    s = examples.run("linear-000")["summary"]  # b, w1, w2 all feed yhat: no chain is longer
    assert s.chain_verdict.startswith("every parameter is equally far")
    assert "nearer the input have longer" not in str(s)


def test_draw_writes_valid_png_and_svg(tmp_path):
    w = bp.tensor(0.5, requires_grad=True, dtype=f64, name="w")
    x = bp.tensor(2.0, dtype=f64, name="x")
    h = w * x
    h.name = "h"
    y = h.sigmoid() * h
    y.name = "y"
    png = bp.draw(y, tmp_path / "g.png", highlight=w)
    svg = bp.draw(y, tmp_path / "g.svg")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    import xml.etree.ElementTree as ET

    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}  # real text, not paths
    assert {"w", "h", "y", "legend"} <= texts
    dot = bp.to_dot(y, highlight=w)
    assert dot.startswith("digraph") and "penwidth=4" in dot and "legend" in dot


def test_draw_shows_values_never_a_shape_as_a_value():
    y = bp.tensor([1.5, 0.2, 0.3, 2.0], dtype=f64, name="y")
    w = bp.tensor(0.5, requires_grad=True, dtype=f64, name="w")
    p = bp.tensor(np.arange(6.0).reshape(2, 3), dtype=f64, requires_grad=True, name="P")
    big = bp.tensor(np.linspace(-1, 1, 400).reshape(20, 20), dtype=f64, name="B")
    c = ((w * y - 1.0) ** 2).sum() + (p * 2.0).sum() + (big * w).sum()
    c.name = "c"
    dot = bp.to_dot(c)
    for v in ("1.5", "0.2", "0.3", "2"):  # the short vector's numbers
        assert f">{v}</TD>" in dot
    for v in range(6):  # the small matrix's numbers
        assert f">{v}</TD>" in dot
    assert "20x20 heatmap, 2x2 block means" in dot and "min -1, max 1" in dot
    assert ">4</TD>" not in dot.split("<B>y</B>")[1].split("</TABLE>>")[0]  # not its length


def test_explain_a_linear_layer_in_the_lectures_matrix_form():
    bp.manual_seed(0)
    model = bp.nn.Sequential(bp.nn.Linear(4, 3), bp.nn.ReLU(), bp.nn.Linear(3, 2))
    x = bp.randn(5, 4, dtype=bp.float64, name="x")
    model.double()
    loss = bp.nn.functional.cross_entropy(model(x), bp.tensor([0, 1, 1, 0, 1]))
    text = str(bp.explain(loss, model[0].weight))
    # the parameter is named as in named_parameters(), the fused layer's rule names its inputs
    assert "d(x @ 0.weight^T + 0.bias)/d0.weight" in text
    assert "matrix form: dL/d0.weight = (dL/d(x @ 0.weight^T + 0.bias))^T x" in text
    assert "(3x4) = (3x5)(5x4)" in text
    assert "W^T delta for each row" in text
    r = bp.explain(loss, model[2].bias)
    loss.backward()
    np.testing.assert_allclose(r.total, model[2].bias.grad, rtol=1e-12)


def test_draw_without_graphviz_falls_back_and_keeps_text(tmp_path, monkeypatch):
    from backprop.explain import picture

    monkeypatch.setattr(picture.shutil, "which", lambda name: None)
    w = bp.tensor(0.5, requires_grad=True, dtype=f64, name="w")
    y = (w * 3.0).tanh()
    y.name = "y"
    svg = open(bp.draw(y, tmp_path / "g.svg", highlight=w)).read()
    assert "<text" in svg and "Graphviz dot not found" in svg


def test_summary_chain_verdict_when_a_weight_is_used_near_and_far():
    # q feeds both the first layer and the loss: nearest the output, yet the longest chain
    x = bp.tensor(0.3, dtype=f64, name="x")
    q = bp.tensor(0.5, requires_grad=True, dtype=f64, name="q")
    p = bp.tensor(-0.7, requires_grad=True, dtype=f64, name="p")
    L = ((x * q).tanh() * p).tanh() * q
    L.name = "L"
    s = bp.summary(L)
    assert s.chain_length == {"q": 5, "p": 3}
    assert s.chain_verdict.startswith("chain length does not grow with distance")
    assert "nearer the input have longer" not in str(s)
