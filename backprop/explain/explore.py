"""``explore``: the graph, its values, gradients and local partials in one interactive page.

``bp.explore(loss, "graph.html")`` writes one self-contained HTML file (its script and styles
inlined; no network) that opens from ``file://``; without a path it returns an ``Explorer``,
which Jupyter shows inline. The page shows the graph in a layered layout (inputs on the left,
the loss on the right), every node's value and gradient (vectors and matrices as small tables
or heatmaps, the exact number on hover) and every edge's local partial, as a formula in the
graph's names and as a value. Step / Back (or the arrow keys) replay the backward pass one
node at a time, as ``bp.trace`` does; clicking a parameter paints its chain-rule paths and
lists each path's product and their sum, which is the gradient. Modules (parameters named
``0.weight``, ``0.bias`` by ``named_parameters``) form groups that open on click.

All numbers come from ``trace`` and ``explain``, so the page agrees with ``backward``.

>>> import backprop as bp
>>> w = bp.tensor(0.5, requires_grad=True, name="w", dtype=bp.float64)
>>> y = (w * 3.0).tanh(); y.name = "y"
>>> page = bp.explore(y)
>>> "<script>" in page.html and "<link" not in page.html and " src=" not in page.html
True
"""

from __future__ import annotations

import html as _html
import json
from pathlib import Path

import numpy as np

from ..tensor import Tensor
from . import fmt
from .graph import Graph, Node
from .paths import _local_jacobian, _matrix_form, explain
from .steps import trace

_HERE = Path(__file__).parent
MAX_EXACT = 4096  # arrays up to this many numbers travel whole; larger ones as block means
MAX_CELLS = 48  # a pooled heatmap has at most this many rows and columns
MAX_PARAMS = 64  # chain-rule paths are listed for at most this many parameters


def encode(a) -> dict:
    """An array for the page: shape, numbers (row-major), and, when large, block means."""
    a = np.asarray(a, dtype=np.float64)
    shape = list(a.shape)
    m = a.reshape(1, -1) if a.ndim < 2 else a.reshape(-1, a.shape[-1])
    out = {"shape": shape, "min": _f(a.min()), "max": _f(a.max())} if a.size else {"shape": shape}
    if a.size <= MAX_EXACT:
        out["data"] = [_f(v) for v in a.ravel()]
        return out
    bh = -(-m.shape[0] // MAX_CELLS)  # block height and width (ceil)
    bw = -(-m.shape[1] // MAX_CELLS)
    rows, cols = -(-m.shape[0] // bh), -(-m.shape[1] // bw)
    pad = np.full((rows * bh, cols * bw), np.nan)
    pad[: m.shape[0], : m.shape[1]] = m
    blocks = np.nanmean(pad.reshape(rows, bh, cols, bw), axis=(1, 3))
    out["pooled"] = {"rows": rows, "cols": cols, "bh": bh, "bw": bw}
    out["data"] = [_f(v) for v in blocks.ravel()]
    out["mean"] = _f(a.mean())
    return out


def _f(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None  # JSON has no NaN/Inf; the page prints them as such


def _group(n: Node, G: Graph, groups: dict[int, str]) -> str | None:
    """A module's group: its parameters are named ``prefix.weight``; an op joins the group of
    the module parameters it consumes directly."""
    t = n.tensor
    if n.is_leaf:
        if t.requires_grad and getattr(t, "_auto_name", False) and "." in (t.name or ""):
            return t.name.rsplit(".", 1)[0]
        return None
    found = {groups.get(p.index) for _, p in n.inputs if isinstance(p, Node) and p.is_leaf}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def build(output: Tensor, detail: str = "auto", title: str | None = None, inputs=()) -> dict:
    """The page's data: nodes, edges, the backward steps, and every parameter's paths."""
    if not isinstance(output, Tensor):
        raise TypeError(f"explore needs a Tensor, got {type(output).__name__}")
    if output._data.size != 1:
        raise ValueError(f"explore needs a scalar output; this one has shape {output.shape}")
    G = Graph(output, inputs=inputs)
    view = G.resolve_detail(detail)
    t = trace(output, detail=view, inputs=inputs)
    adj = G.adjoints() if output.requires_grad else {}
    kept = [n for n in G.nodes if G.keep(n, view)]
    ids = {n.index: i for i, n in enumerate(kept)}
    groups: dict[int, str] = {}
    nodes = []
    for n in kept:
        g = _group(n, G, groups)
        if g is not None:
            groups[n.index] = g
        kind = (
            "output"
            if n is G.output
            else ("param" if n.is_param else ("input" if n.is_leaf else "op"))
        )
        nodes.append(
            {
                "id": ids[n.index],
                "name": n.name,
                "op": n.op_name,
                "kind": kind,
                "shape": list(n.shape),
                "value": encode(n.value),
                "grad": encode(adj[n.index]) if n.index in adj else None,
                "group": g,
            }
        )
    edges = []
    for c in kept:
        if c.is_leaf:
            continue
        stack, seen = [c], {c.index}
        while stack:  # the kept nodes feeding c, through folded ops
            n = stack.pop()
            for _, p in n.inputs:
                if not isinstance(p, Node) or p.index in seen:
                    continue
                seen.add(p.index)
                if not G.keep(p, view):
                    stack.append(p)
                    continue
                edges.append(_edge(G, c, p, view, ids))
    by_name = {n.name: ids[n.index] for n in kept}
    steps = [
        {
            "node": by_name[s.node],
            "upstream": encode(s.upstream),
            "received": s.received,
            "sends": [
                {
                    "to": by_name[c.to],
                    "contribution": encode(c.contribution),
                    "total": encode(c.total_after),
                    "n": c.n_received,
                }
                for c in s.sends
            ],
        }
        for s in t.steps
    ]
    params = {}
    for n in [n for n in kept if n.is_param][:MAX_PARAMS]:
        e = explain(output, n.tensor, detail=view, max_paths=32, inputs=inputs)
        params[ids[n.index]] = {
            "n_paths": e.n_paths,
            "paths": [
                {
                    "nodes": [by_name[x] for x in p.nodes],
                    "factors": [
                        encode(x.value) if x.value is not None and np.ndim(x.value) == 0 else None
                        for x in p.edges
                    ],
                    "product": encode(p.product),
                }
                for p in e.paths
            ],
            "total": encode(e.total),
            "grad": encode(e.backward_total),
        }
    return {
        "title": title or f"backward pass of {G.output.name}",
        "output": ids[G.output.index],
        "view": view,
        "nodes": nodes,
        "edges": edges,
        "steps": steps,
        "params": params,
        "layout_note": (
            "Gradients dL/dX have the shape of X (denominator layout, as in lecture 003)."
        ),
    }


def _edge(G: Graph, c: Node, p: Node, view: str, ids: dict) -> dict:
    carries = bool(p.tensor.requires_grad and c.tensor.requires_grad)
    e = {"from": ids[p.index], "to": ids[c.index], "carries": carries}
    if not carries:
        return e
    e["formula"] = G.edge_formula(c, p, view)
    e["name"] = fmt.d(c.name, p.name)
    J = _local_jacobian(G, c, p, view)
    if J is not None:
        e["local"] = encode(J) if np.ndim(J) == 0 else None
        e["local_text"] = fmt.jac(J, c.shape, p.shape)
    mf = _matrix_form(G, c, p)
    if mf:
        e["matrix_form"] = mf
    return e


class Explorer:
    """The interactive page: ``.html`` is the document, ``.save(path)`` writes it, and
    Jupyter shows it inline through ``_repr_html_``."""

    def __init__(self, data: dict):
        self.data = data
        self.html = render(data)

    def save(self, path: str | Path) -> str:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html, encoding="utf-8")
        return str(path)

    def _repr_html_(self) -> str:
        # an iframe keeps the page's script and styles apart from the notebook's
        doc = _html.escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{doc}" style="width:100%;height:640px;border:1px solid #ccc">'
            "</iframe>"
        )


def render(data: dict) -> str:
    """One HTML document with the data, script and styles inlined."""
    css = (_HERE / "explore.css").read_text(encoding="utf-8")
    js = (_HERE / "explore.js").read_text(encoding="utf-8")
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    title = _html.escape(data["title"])
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{css}</style></head><body>"
        f"<script id='bp-data' type='application/json'>{payload}</script>"
        f"<script>{js}</script></body></html>\n"
    )


def explore(
    output: Tensor,
    path: str | Path | None = None,
    highlight=None,
    detail: str = "auto",
    title: str | None = None,
    inputs=(),
) -> Explorer | str:
    """Write the interactive explorer to ``path`` (returns the path), or return it for Jupyter.

    ``highlight``: a parameter (tensor or name) whose chain-rule paths are shown when the page
    opens. ``detail`` as in ``explain``. ``inputs``: leaves that ask for a gradient but are
    data, shown as inputs, not parameters. Works before or after ``backward()``.

    >>> import backprop as bp, tempfile, os
    >>> w = bp.tensor(2.0, requires_grad=True, name="w", dtype=bp.float64)
    >>> L = w * w; L.name = "L"
    >>> out = bp.explore(L, os.path.join(tempfile.mkdtemp(), "g.html"), highlight=w)
    >>> open(out).read(15)
    '<!DOCTYPE html>'
    """
    data = build(output, detail=detail, title=title, inputs=inputs)
    if highlight is not None:
        G = Graph(output)
        name = G.node(highlight).name
        data["highlight"] = next(n["id"] for n in data["nodes"] if n["name"] == name)
    page = Explorer(data)
    return page if path is None else page.save(path)


__all__ = ["Explorer", "explore"]
