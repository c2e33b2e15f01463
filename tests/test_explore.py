"""bp.explore in a real headless Chromium: the numbers on the page are the engine's.

The browser is Debian's ``chromium`` driven by Playwright. Without it these tests are skipped,
except under CI (``CI=true``), where a missing browser is a failure: ``.ci/run`` installs it.
"""

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import backprop as bp
from backprop.explain import examples

f64 = bp.float64
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str | None:
    for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if p and os.path.exists(p):
            return p
    return None


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    why = None
    if exe is None:
        why = "no chromium browser (apt-get install chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            why = "the playwright package is not installed (pip install -e '.[test]')"
    if why:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run under CI: {why}")
        pytest.skip(why)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=ARGS)
        yield b
        b.close()


def _open(browser, path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"file://{os.path.abspath(path)}")
    page.wait_for_function("window.bpExplorer && window.bpExplorer.ready")
    page.errors = errors
    return page


def _lecture_000():
    x1, x2, y = (bp.tensor(v, dtype=f64, name=n) for v, n in [(2.0, "x1"), (3.0, "x2"), (1.0, "y")])
    b, w1, w2 = (
        bp.tensor(v, dtype=f64, requires_grad=True, name=n)
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
    return loss, (b, w1, w2)


def _grad_cells(page, name: str):
    """The numbers shown as ``name``'s gradient, and whether they are final."""
    sel = f'[data-name="{name}"] g.num.grad'
    cells = page.query_selector_all(sel)
    final = all("final" in (c.get_attribute("class") or "") for c in cells)
    return [float(c.get_attribute("data-v")) for c in cells], final


def test_page_is_self_contained_and_renders_inline():
    loss, _ = _lecture_000()
    page = bp.explore(loss)
    assert "src=" not in page.html and "http://" not in page.html.replace(
        "http://www.w3.org/2000/svg", ""
    )
    assert "https://" not in page.html and "<link" not in page.html
    assert page._repr_html_().startswith("<iframe srcdoc=")


def test_step_and_back_replay_trace(browser, tmp_path):
    loss, params = _lecture_000()
    t = bp.trace(loss)
    loss.backward()  # the explorer works after backward, too
    page = _open(browser, bp.explore(loss, tmp_path / "g.html"))
    assert "before the backward pass" in page.inner_text("#status")
    assert _grad_cells(page, "yhat")[0] == []  # no gradient yet
    for k, step in enumerate(t.steps, 1):
        page.click("#step")
        assert page.inner_text("#status").startswith(f"step {k} of {len(t.steps)}: at {step.node}")
        shown, final = _grad_cells(page, step.node)
        np.testing.assert_allclose(shown, np.ravel(step.upstream), rtol=1e-12)
        assert final
        for s in step.sends:  # contributions arrive at the parents, summed so far
            got, _ = _grad_cells(page, s.to)
            np.testing.assert_allclose(got, np.ravel(s.total_after), rtol=1e-12)
    assert page.is_disabled("#step")
    for p in params:
        shown, final = _grad_cells(page, p.name)
        assert final and shown == pytest.approx([float(p.grad)], rel=1e-12)
    page.keyboard.press("ArrowLeft")  # back one step: the last parameter is no longer final
    assert page.inner_text("#status").startswith(f"step {len(t.steps) - 1} of")
    last = t.steps[-1].node
    assert not _grad_cells(page, last)[1]
    page.keyboard.press("ArrowRight")
    assert _grad_cells(page, last)[1]
    assert page.errors == []


def test_clicking_a_parameter_lists_its_paths_and_their_sum(browser, tmp_path):
    r = examples.run("shared-2221-004")
    loss = r["_graph"]
    page = _open(browser, bp.explore(loss, tmp_path / "s.html"))
    for w in ("w1", "w3", "w5"):  # shared weights: several paths each
        e = bp.explain(loss, w)
        page.click(f'[data-name="{w}"]')
        products = [float(x.get_attribute("data-v")) for x in page.query_selector_all(".product")]
        np.testing.assert_allclose(sorted(products), sorted(float(p.product) for p in e.paths))
        assert len(products) == e.n_paths
        total = float(page.get_attribute("#paths .total", "data-v"))
        assert total == pytest.approx(r["gradient"][w], rel=1e-12)
        assert total == pytest.approx(sum(products), rel=1e-12)
        lit = page.query_selector_all(".edge.lit")
        assert len(lit) == len({(a, b) for p in e.paths for a, b in zip(p.nodes, p.nodes[1:])})
        text = page.inner_text("#side")
        assert " → ".join(e.paths[0].nodes) in text
    page.click('[data-name="h21"]')  # an op node: the formulas of its edges, in the names
    assert "dh21/dw3" in page.inner_text("#side") and "= a11" in page.inner_text("#side")
    assert page.errors == []


def test_mlp_784_64_10_loads_groups_open_and_hover_shows_exact_numbers(browser, tmp_path):
    bp.manual_seed(0)
    model = bp.nn.Sequential(bp.nn.Linear(784, 64), bp.nn.ReLU(), bp.nn.Linear(64, 10))
    x = bp.randn(32, 784, name="x")
    loss = bp.nn.functional.cross_entropy(model(x), bp.tensor(list(range(10)) * 3 + [0, 1]))
    loss.backward()
    path = bp.explore(loss, tmp_path / "mlp.html")
    start = time.perf_counter()
    page = _open(browser, path)
    print(f"784-64-10 MLP page loaded and drawn in {time.perf_counter() - start:.2f} s")
    assert page.query_selector('[data-name="g:0"]') is not None  # module 0 starts closed
    assert page.query_selector('[data-name="0.weight"]') is None
    page.click('[data-name="g:2"]')
    assert page.query_selector('[data-name="2.bias"]') is not None
    page.click('[data-name="2.bias"]')
    cells = page.query_selector_all("#side table.grad td")
    np.testing.assert_allclose(
        [float(c.get_attribute("data-v")) for c in cells], model[2].bias.grad.numpy(), rtol=1e-6
    )
    cell = page.query_selector('[data-name="2.weight"] g.heat.value > rect')  # [0, 0]
    box = cell.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = page.inner_text("#tip")
    assert tip.startswith("2.weight[0, 0] = ")
    assert float(tip.split("= ")[1]) == pytest.approx(float(model[2].weight[0, 0]), rel=1e-6)
    page.click("#end")
    assert page.errors == []


def test_cli_example_html(browser, tmp_path):
    out = tmp_path / "chain.html"
    subprocess.run(
        [sys.executable, "-m", "backprop.cli", "example", "chain-001", "--html", str(out)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    page = _open(browser, out)
    page.click("#end")
    r = examples.run("chain-001")
    for w, g in r["gradient"].items():
        assert _grad_cells(page, w)[0] == pytest.approx([g], rel=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.html"]


def _mlp_784_64_10():
    bp.manual_seed(0)
    model = bp.nn.Sequential(bp.nn.Linear(784, 64), bp.nn.ReLU(), bp.nn.Linear(64, 10))
    x = bp.randn(32, 784, name="x")
    loss = bp.nn.functional.cross_entropy(model(x), bp.tensor(list(range(10)) * 3 + [0, 1]))
    return model, loss


def test_mlp_784_64_10_loads_in_under_2_seconds(browser, tmp_path):
    """The issue's bound: building the page in Python and drawing it in the browser, each
    measured up to three times (the best counts: a busy shared machine only slows it)."""
    model, loss = _mlp_784_64_10()
    builds, loads = [], []
    for i in range(3):
        start = time.perf_counter()
        path = bp.explore(loss, tmp_path / f"mlp{i}.html")
        builds.append(time.perf_counter() - start)
        start = time.perf_counter()
        page = _open(browser, path)
        loads.append(time.perf_counter() - start)
        assert page.errors == []
        page.close()
        if min(loads) < 2.0 and min(builds) < 2.0:
            break
    print(f"784-64-10 MLP: page built in {min(builds):.2f} s, loaded in {min(loads):.2f} s")
    assert min(loads) < 2.0 and min(builds) < 2.0


def _shown_values(page):
    """Every expanded node's printed numbers: name -> (value cells, gradient cells)."""
    return page.evaluate(
        """() => {
        const out = {};
        document.querySelectorAll('g.node').forEach(g => {
          const name = g.getAttribute('data-name');
          const v = [...g.querySelectorAll('g.num.value')].map(c => c.getAttribute('data-v'));
          const d = [...g.querySelectorAll('g.num.grad')].map(c => c.getAttribute('data-v'));
          out[name] = [v, d, g.querySelector('g.heat.value') !== null];
        });
        return out;
      }"""
    )


@pytest.mark.parametrize("name", ["relu-neuron-002", "tanh-003", "shared-2221-004"])
def test_every_number_on_the_page_is_the_engines(browser, tmp_path, name):
    """Vectors and matrices as small tables (each cell the exact number), after the whole
    backward pass: the value and gradient shown for every node equal the engine's, looked
    up by the node's name (the user's, or the expression it computes)."""
    from backprop.explain.graph import Graph

    r = examples.run(name)
    loss = r["_graph"]
    page = _open(browser, bp.explore(loss, tmp_path / f"{name}.html", inputs=r.get("_inputs", ())))
    page.click("#end")
    G = Graph(loss, inputs=r["_inputs"])
    adj = G.adjoints()
    by_name = {n.name: n for n in G.nodes}
    shown = _shown_values(page)
    assert shown and set(shown) <= set(by_name)
    for nm, (values, grads, heat) in shown.items():
        n = by_name[nm]
        if heat:
            continue
        np.testing.assert_allclose([float(v) for v in values], np.ravel(n.value), rtol=1e-12)
        if grads:
            got = [float(v) for v in grads]
            np.testing.assert_allclose(got, np.ravel(adj[n.index]), rtol=1e-12)
    assert page.errors == []


def test_heatmaps_show_the_exact_number_or_block_mean_on_hover(browser, tmp_path):
    model, loss = _mlp_784_64_10()
    loss.backward()
    page = _open(browser, bp.explore(loss, tmp_path / "mlp.html"))
    page.click("#end")
    page.click('[data-name="g:2"]')
    page.click('[data-name="g:0"]')

    def hover(node, role, r, c, cells):
        """Point at the drawn cell (r, c) of ``node``'s heatmap; the tip it shows."""
        rects = page.query_selector_all(f'[data-name="{node}"] g.heat.{role} > rect')
        assert len(rects) == cells[0] * cells[1] + 1  # the cells and their frame
        cell = rects[r * cells[1] + c]
        cell.scroll_into_view_if_needed()
        box = cell.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x + 1, y + 1)
        page.mouse.move(x, y)
        return page.inner_text("#tip")

    W2, b2 = model[2].weight.numpy(), model[2].bias.grad.numpy()
    for r, c in [(0, 0), (3, 17), (9, 63)]:  # 10x64: every number is sent, exact on hover
        tip = hover("2.weight", "value", r, c, W2.shape)
        assert tip.startswith(f"2.weight[{r}, {c}] = ")
        assert float(tip.split("= ")[1]) == float(W2[r, c])
    tip = hover("2.bias", "grad", 0, 7, (1, 10))  # a vector's gradient
    assert tip.startswith("dL/d2.bias[7] = ") and float(tip.split("= ")[1]) == pytest.approx(
        float(b2[7]), rel=1e-6
    )
    W1 = model[0].weight.numpy()  # 64x784: too many to send; 2x17 block means
    tip = hover("0.weight", "value", 0, 0, (32, 47))
    assert tip.startswith("0.weight: rows 0..1, cols 0..16")
    mean = float(W1[0:2, 0:17].mean())
    assert float(tip.split("block mean ")[1]) == pytest.approx(mean, rel=1e-5)
    assert page.errors == []


@pytest.mark.parametrize("name", ["shared-2221-004", "sigmoid-221-001", "tanh-003"])
def test_edge_labels_sit_on_their_edge_and_never_on_each_other(browser, tmp_path, name):
    r = examples.run(name)
    page = _open(browser, bp.explore(r["_graph"], tmp_path / "g.html", inputs=r.get("_inputs", ())))
    labels = page.evaluate(
        """() => [...document.querySelectorAll('g.edge')].filter(g => g.querySelector('g.elabel'))
          .map(g => {
            const b = g.querySelector('g.elabel rect').getBBox(), path = g.querySelector('path');
            const cx = b.x + b.width / 2, cy = b.y + 9, n = path.getTotalLength();
            let near = 1e9;
            for (let i = 0; i <= 400; i++) {
              const p = path.getPointAtLength(n * i / 400);
              near = Math.min(near, Math.hypot(p.x - cx, p.y - cy));
            }
            return [b.x, b.y, b.x + b.width, b.y + b.height, near,
                    g.querySelector('g.elabel text').textContent];
          })"""
    )
    assert labels
    for i, a in enumerate(labels):
        assert a[4] < 3, f"label {a[5]!r} is {a[4]:.1f} from its edge"
        for b in labels[i + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, f"labels {a[5]!r} and {b[5]!r} overlap"
    assert page.errors == []


OVERFLOW_JS = """() => {
  const bad = [];
  document.querySelectorAll('g.num').forEach(c => {
    const r = c.querySelector('rect'), t = c.querySelector('text');
    if (t.getComputedTextLength() > +r.getAttribute('width') - 1)
      bad.push(t.textContent + ' wider than its cell');
  });
  document.querySelectorAll('g.node').forEach(g => {
    const w = +g.querySelector('rect.box').getAttribute('width');
    g.querySelectorAll(':scope > text').forEach(t => {
      const x = +t.getAttribute('x'), end = t.getAttribute('text-anchor') === 'end';
      if ((end ? x : x + t.getComputedTextLength()) > w + 0.5)
        bad.push(t.textContent + ' overflows ' + g.getAttribute('data-name'));
    });
  });
  return bad;
}"""


@pytest.mark.parametrize("name", ["shared-2221-004", "vanishing-003", "tanh-003"])
def test_no_text_overflows_its_cell_or_box(browser, tmp_path, name):
    """004's gradients (0.00081161, -5.6361e-05) once ran out of their cells, long names out
    of their boxes: numbers lose digits (the exact one is on hover), names end in …"""
    r = examples.run(name)
    page = _open(browser, bp.explore(r["_graph"], tmp_path / "g.html", inputs=r.get("_inputs", ())))
    page.click("#end")
    assert page.evaluate(OVERFLOW_JS) == []
    assert page.errors == []


@pytest.mark.parametrize("name", [n for n, _, _ in examples.names()])
def test_every_lecture_example_opens_and_replays_to_the_engines_gradients(browser, tmp_path, name):
    from backprop.explain.graph import Graph

    r = examples.run(name)
    loss, inputs = r["_graph"], r.get("_inputs", ())
    page = _open(browser, bp.explore(loss, tmp_path / "g.html", inputs=inputs))
    page.click("#end")
    G = Graph(loss, inputs=inputs)
    adj = G.adjoints()
    for n in G.nodes:
        if n.is_param and n.value.size <= 9 and page.query_selector(f'[data-name="{n.name}"]'):
            shown, final = _grad_cells(page, n.name)
            assert final
            np.testing.assert_allclose(shown, np.ravel(adj[n.index]), rtol=1e-12)
    assert page.errors == []
