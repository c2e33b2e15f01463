"""bp.draw's pictures of the lectures' networks, measured on Graphviz's own layout (``dot -Tjson``).

Each bullet of issue 11's "Pictures": a vector's values shown (never its length as a value),
matrices as numbers or a heatmap labelled with its shape, edge labels whole and next to their
own edge, no label over another label or a node, no edge through a node's box, a legend, and
SVG text as text. Checked on every lecture example's graph (shared-2221-004 and
sigmoid-221-001 included) and on a hand-built scalar 2-3-1 MLP.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import backprop as bp
from backprop.explain import examples
from backprop.explain.graph import Graph
from backprop.explain.picture import _edge_label, to_dot

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz dot")

LECTURES = [
    "vanishing-003",
    "kinks-003",
    "linear-000",
    "chain-001",
    "sigmoid-221-001",
    "relu-neuron-002",
    "tanh-003",
    "shared-2221-004",
]


def _mlp_231():
    """A scalar 2-3-1 tanh MLP built from scalar ops, every tensor named (about 40 ops)."""
    rnd = random.Random(0)
    f = bp.float64

    def P(name, v=None):
        return bp.tensor(
            rnd.uniform(-1, 1) if v is None else v, dtype=f, requires_grad=True, name=name
        )

    xs = [bp.tensor(v, dtype=f, name=f"x{i}") for i, v in enumerate([0.5, -1.0])]
    W1 = [[P(f"w1_{j}{i}") for i in range(2)] for j in range(3)]
    b1 = [P(f"b1_{j}", 0.1) for j in range(3)]
    W2 = [P(f"w2_{j}") for j in range(3)]
    b2 = P("b2", 0.0)
    h = []
    for j in range(3):
        t = (W1[j][0] * xs[0] + W1[j][1] * xs[1] + b1[j]).tanh()
        t.name = f"h{j}"
        h.append(t)
    yhat = W2[0] * h[0] + W2[1] * h[1] + W2[2] * h[2] + b2
    yhat.name = "yhat"
    L = (yhat - bp.tensor(1.0, dtype=f, name="y")) ** 2
    L.name = "L"
    return L, W1[0][0], ()


def _mlp_231_op_by_op():
    """The same MLP as micrograd builds it: four examples, only the parameters named (99 ops)."""
    rnd = random.Random(1)
    f = bp.float64

    def P(name):
        return bp.tensor(rnd.uniform(-1, 1), dtype=f, requires_grad=True, name=name)

    W1 = [[P(f"w{j}{i}") for i in range(2)] for j in range(3)]
    b1 = [P(f"b{j}") for j in range(3)]
    W2, c = [P(f"v{j}") for j in range(3)], P("c")
    L = None
    for xs, y in zip([[2.0, 3.0], [3.0, -1.0], [0.5, 1.0], [1.0, 1.0]], [1.0, -1.0, -1.0, 1.0]):
        h = [(W1[j][0] * xs[0] + W1[j][1] * xs[1] + b1[j]).tanh() for j in range(3)]
        out = (W2[0] * h[0] + W2[1] * h[1] + W2[2] * h[2] + c).tanh()
        L = (out - y) ** 2 if L is None else L + (out - y) ** 2
    L.name = "L"
    return L


def test_an_op_by_op_mlp_is_drawn_as_its_layers_not_a_hairball():
    L = _mlp_231_op_by_op()
    G = Graph(L)
    assert sum(1 for n in G.nodes if n.op is not None) > 90
    assert G.resolve_detail("auto") == "layers"
    drawn = to_dot(L).count("fillcolor=")
    assert drawn == sum(1 for n in G.nodes if G.keep(n, "layers")) < 50


def _graphs():
    out = []
    for name in LECTURES:
        r = examples.run(name)
        out.append((name, r["_graph"], r.get("_inputs", ())))
    L, w, inputs = _mlp_231()
    out.append(("mlp-231", L, inputs))
    out.append(("mlp-231-op-by-op", _mlp_231_op_by_op(), ()))
    return out


GRAPHS = _graphs()


def _layout(src: str) -> dict:
    done = subprocess.run(["dot", "-Tjson"], input=src, text=True, capture_output=True, check=True)
    return json.loads(done.stdout)


def _bezier(points, n=120) -> np.ndarray:
    pts = np.asarray(points, dtype=float)
    out = []
    for i in range(0, len(pts) - 3, 3):
        p0, p1, p2, p3 = pts[i : i + 4]
        for t in np.linspace(0, 1, n):
            out.append(
                (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
            )
    return np.asarray(out)


def _boxes(js) -> dict[int, tuple]:
    """Node id -> (x0, y0, x1, y1, name): every node's box, the legend's included."""
    boxes = {}
    for o in js["objects"]:
        if "pos" in o and "width" in o:
            x, y = map(float, o["pos"].split(","))
            w, h = float(o["width"]) * 72, float(o["height"]) * 72
            boxes[o["_gvid"]] = (x - w / 2, y - h / 2, x + w / 2, y + h / 2, o["name"])
    return boxes


def _label_boxes(e) -> list[tuple]:
    """The boxes of an edge label's text lines, from Graphviz's own text drawing ops."""
    out, size = [], 9.0
    for op in e.get("_ldraw_", []):
        if op["op"] == "F":
            size = float(op["size"])
        if op["op"] == "T":
            x, y = op["pt"]
            w = float(op["width"])
            x0 = x - w / 2 if op["align"] == "c" else (x - w if op["align"] == "r" else x)
            out.append((x0, y - 0.25 * size, x0 + w, y + 0.85 * size, op["text"]))
    return out


def _overlap(a, b, margin=1.0) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > margin and min(a[3], b[3]) - max(a[1], b[1]) > margin


@pytest.mark.parametrize("name,loss,inputs", GRAPHS, ids=[g[0] for g in GRAPHS])
def test_layout_no_edge_through_a_node_labels_on_their_edge_and_apart(name, loss, inputs):
    js = _layout(to_dot(loss, highlight=None, inputs=inputs))
    boxes = _boxes(js)
    labels = []
    for e in js.get("edges", []):
        t, h = e["tail"], e["head"]
        pts = [
            tuple(map(float, p.split(",")))
            for p in e["pos"].split()
            if not p.startswith(("e,", "s,"))
        ]
        curve = _bezier(pts)
        for gid, (x0, y0, x1, y1, nm) in boxes.items():
            if gid in (t, h):
                continue
            inside = (
                (curve[:, 0] > x0 + 2)
                & (curve[:, 0] < x1 - 2)
                & (curve[:, 1] > y0 + 2)
                & (curve[:, 1] < y1 - 2)
            )
            assert not inside.any(), f"{name}: edge {boxes[t][4]}->{boxes[h][4]} crosses {nm}"
        texts = _label_boxes(e)
        if texts:  # attached: Graphviz draws a leader from the label to a point of its edge
            leader = [op["points"] for op in e["_ldraw_"] if op["op"] == "L"]
            assert leader, f"{name}: the label of {boxes[t][4]}->{boxes[h][4]} has no leader"
            end = np.asarray(leader[0][-1])
            assert np.min(np.hypot(*(curve - end).T)) < 4, (name, texts[0][4])
            start = np.asarray(leader[0][0])  # under the label (the underline's end)
            x0, y0 = min(b[0] for b in texts) - 6, min(b[1] for b in texts) - 6
            x1, y1 = max(b[2] for b in texts) + 6, max(b[3] for b in texts) + 6
            assert x0 <= start[0] <= x1 and y0 <= start[1] <= y1, (name, texts[0][4])
        for box in texts:
            labels.append((*box[:4], f"label {box[4]!r} of {boxes[t][4]}->{boxes[h][4]}"))
    for i, a in enumerate(labels):
        for b in list(boxes.values()) + labels[i + 1 :]:
            assert not _overlap(a, b), f"{name}: {a[4]} overlaps {b[4]}"


@pytest.mark.parametrize("name,loss,inputs", GRAPHS, ids=[g[0] for g in GRAPHS])
def test_edge_labels_are_whole(name, loss, inputs):
    """Every edge's label in the picture is the whole local partial (only wrapped)."""
    js = _layout(to_dot(loss, inputs=inputs))
    shown = sorted(
        " ".join(op["text"] for op in e.get("_ldraw_", []) if op["op"] == "T")
        for e in js.get("edges", [])
        if e.get("label")
    )
    G = Graph(loss, inputs=inputs)
    view = G.resolve_detail("auto")
    expected = []
    for c in G.nodes:
        if not G.keep(c, view) or c.is_leaf:
            continue
        for p in G.view_parents(c, view):
            label = _edge_label(G, c, p, view)
            if label:
                expected.append(" ".join(label.split()))
    assert sorted(" ".join(s.split()) for s in shown) == sorted(expected)
    for s in shown:  # ("..." in a name is its abbreviation, not a cut)
        assert s.count("(") == s.count(")") and s.count("[") == s.count("]"), s


def test_004_picture_inputs_are_inputs_and_values_are_numbers(tmp_path):
    r = examples.run("shared-2221-004", out_dir=str(tmp_path))
    dot = to_dot(r["_graph"], inputs=r["_inputs"])
    fills = {}
    for line in dot.splitlines():
        if "<B>" in line and "fillcolor=" in line:
            fills[line.split("<B>")[1].split("</B>")[0]] = line.split('fillcolor="')[1][:7]
    assert fills["x1"] == fills["x2"] == fills["y"]  # inputs, drawn as data
    assert fills["w1"] != fills["x1"]
    assert "0.50575" in dot and "0.0086608" in dot  # a11's value, dL/dh21's gradient


def test_vectors_show_values_and_matrices_numbers_or_a_labelled_heatmap():
    r = examples.run("relu-neuron-002")
    dot = to_dot(r["_graph"])
    c = dot.split("<B>c</B>")[1].split("];")[0]
    for v in ("-0.1", "0.8", "-0.7", "0.9"):  # c = [-0.1, 0.8, -0.7, 0.9], not "c = 4"
        assert f">{v}</TD>" in c
    assert "shape 4" in c
    r = examples.run("tanh-003")
    dot = to_dot(r["_graph"])
    W2 = dot.split("<B>W2</B>")[1].split("];")[0]
    for v in ("0.05", "-0.6", "0.3", "0.1", "0.7", "-0.4"):  # a 2x3 matrix: its numbers
        assert f">{v}</TD>" in W2
    W = bp.tensor(np.linspace(-1, 1, 64).reshape(8, 8), requires_grad=True, name="W")
    x = bp.tensor(np.ones(8), name="x")
    L = (W @ x).sum()
    L.name = "L"
    big = to_dot(L).split("<B>W</B>")[1].split("];")[0]
    assert "8x8 heatmap" in big and "min -1, max 1" in big and "BGCOLOR" in big


@pytest.mark.parametrize("name", ["shared-2221-004", "sigmoid-221-001", "tanh-003"])
def test_svg_has_real_text_and_a_legend(tmp_path, name):
    r = examples.run(name)
    svg = bp.draw(r["_graph"], tmp_path / f"{name}.svg", inputs=r.get("_inputs", ()))
    root = ET.parse(svg).getroot()
    texts = [t.text or "" for t in root.iter() if t.tag.endswith("text")]
    assert "legend" in texts and "parameter" in texts
    assert "chain-rule path to the highlighted tensor" in texts
    G = Graph(r["_graph"])
    names = {n.name for n in G.nodes if G.keep(n, G.resolve_detail("auto"))}
    assert names <= set(texts)
    assert not any(p.get("d", "").count("C") > 400 for p in root.iter() if p.tag.endswith("path"))
